// Calendar: drop a chip on another day to give its record that date (saved through
// /views/<id>/move; the server keeps the time of day and the span). The page reloads after a
// move so spans and the undated list are drawn by the server again.
import { moveMenu, post, showError, wantsMove } from "./common.js";
import { draggable } from "./dnd.js";

const cal = document.getElementById("calendar");
const wrap = cal && cal.closest(".calendar-wrap");

if (cal && cal.dataset.draggable) {
  let overDay = null;
  draggable(wrap, ".cal-chip[draggable=true]", {
    over(chip, target) {
      const day = target.closest && target.closest(".cal-day");
      if (overDay && overDay !== day) overDay.classList.remove("drop-here");
      overDay = day;
      if (!day) return false;
      day.classList.add("drop-here");
      return true;
    },
    async drop(chip, target) {
      const day = target.closest && target.closest(".cal-day");
      if (!day) return;
      day.classList.remove("drop-here");
      day.appendChild(chip);
      try {
        await post(cal.dataset.moveUrl, { record: chip.dataset.id, date: day.dataset.date });
        location.reload();
      } catch (err) {
        showError(err.message);
        setTimeout(() => location.reload(), 1500);
      }
    },
    end() {
      if (overDay) overDay.classList.remove("drop-here");
      overDay = null;
    },
  });
}

// Without a mouse: M on a focused chip asks for its new day (a date, or a day / week earlier
// or later), saved through the same /move as a drop.
if (cal && cal.dataset.draggable) {
  const moveTo = async (chip, date) => {
    try {
      await post(cal.dataset.moveUrl, { record: chip.dataset.id, date });
      location.reload();
    } catch (err) {
      showError(err.message);
    }
  };
  const shift = (iso, days) => {
    const d = new Date(`${iso}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 10);
  };
  wrap.addEventListener("keydown", (e) => {
    const chip = e.target.closest && e.target.closest(".cal-chip[draggable=true]");
    if (!chip || e.target !== chip || !wantsMove(e)) return;
    e.preventDefault();
    const day = chip.closest(".cal-day");
    const current = day ? day.dataset.date : new Date().toISOString().slice(0, 10);
    const form = document.createElement("form");
    form.className = "move-date";
    const label = document.createElement("label");
    label.textContent = "Day ";
    const input = document.createElement("input");
    input.type = "date";
    input.value = day ? current : "";
    input.required = true;
    label.appendChild(input);
    const go = document.createElement("button");
    go.type = "submit";
    go.textContent = "Move";
    form.append(label, go);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (input.value) moveTo(chip, input.value);
    });
    const items = day
      ? [
          { label: "← A day earlier", run: () => moveTo(chip, shift(current, -1)) },
          { label: "A day later →", run: () => moveTo(chip, shift(current, 1)) },
          { label: "A week later ⇒", run: () => moveTo(chip, shift(current, 7)) },
        ]
      : [];
    moveMenu(chip, "Move to…", items, form);
  });
}
