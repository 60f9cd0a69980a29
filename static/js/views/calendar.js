// Calendar: drop a chip on another day to give its record that date (saved through
// /views/<id>/move; the server keeps the time of day and the span). The page reloads after a
// move so spans and the undated list are drawn by the server again.
import { post, showError } from "./common.js";
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
