// The cell editors that are lists: select / multi-select options (with inline "add option")
// and the link picker. Methods of Editing (edit.js), kept here to keep that module small.
import { el } from "./util.js";

export const Pickers = {
  // --- select / multi-select ------------------------------------------------------------------
  selectEditor(col, value, initial, kind) {
    const g = this.grid;
    const box = el("div", { class: "cell-popup select-popup", role: "listbox", "aria-label": col.title });
    const chosen = new Set(kind === "multi" ? value.split(",").filter(Boolean) : value ? [value] : []);
    box.dataset.value = value;
    const filter = el("input", { type: "text", class: "select-filter", placeholder: col.people ? "Find a member…" : "Find an option…", "aria-label": `Find ${col.title}` });
    filter.value = initial || "";
    const list = el("ul", { class: "select-list" });
    box.append(filter, list);
    let hi = 0;
    const sync = () => {
      box.dataset.value = kind === "multi" ? col.choices.map((x) => x.title).filter((t) => chosen.has(t)).join(",") : Array.from(chosen)[0] || "";
    };
    const items = () => Array.from(list.querySelectorAll("li[data-title]"));
    const draw = () => {
      const q = filter.value.trim().toLowerCase();
      list.replaceChildren();
      if (kind === "select" && !q) list.appendChild(this.optionItem({ title: "", color: "transparent" }, !chosen.size, "— none"));
      for (const choice of col.choices) {
        if (q && !`${choice.title} ${choice.label || ""}`.toLowerCase().includes(q)) continue;
        list.appendChild(this.optionItem(choice, chosen.has(choice.title)));
      }
      const exact = col.choices.some((x) => x.title.toLowerCase() === q);
      if (q && !exact && g.cfg.canAddOption && !col.people) {
        const add = el("li", { class: "add-option", "data-title": filter.value.trim(), "data-add": "1" }, `+ Add option “${filter.value.trim()}”`);
        list.appendChild(add);
      }
      hi = Math.min(hi, items().length - 1);
      items().forEach((li, i) => li.classList.toggle("hi", i === hi));
    };
    const pick = async (li) => {
      if (!li) return;
      let title = li.dataset.title;
      if (li.dataset.add) {
        const result = await g.post(`grid/options/${col.id}`, { title });
        if (!result.ok) {
          this.showError(this.editing.td, result.data.message || "Option not added.");
          return;
        }
        col.choices = result.data.choices.map((x) => ({ title: x.title, color: x.color }));
        filter.value = "";
      }
      if (kind === "multi") {
        if (chosen.has(title)) chosen.delete(title);
        else chosen.add(title);
        sync();
        draw();
        filter.focus();
      } else {
        chosen.clear();
        if (title) chosen.add(title);
        sync();
        this.commit({ move: [1, 0] });
      }
    };
    filter.addEventListener("input", () => {
      hi = 0;
      draw();
    });
    filter.addEventListener("keydown", (event) => {
      const all = items();
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        hi = Math.max(0, Math.min(all.length - 1, hi + (event.key === "ArrowDown" ? 1 : -1)));
        all.forEach((li, i) => li.classList.toggle("hi", i === hi));
        if (all[hi]) all[hi].scrollIntoView({ block: "nearest" });
      } else if (event.key === "Enter") {
        event.preventDefault();
        if (kind === "multi" && (event.ctrlKey || event.metaKey || (!filter.value && all.length === 0))) this.commit({ move: [1, 0] });
        else pick(all[hi]);
      }
    });
    list.addEventListener("mousedown", (event) => {
      event.preventDefault();
      pick(event.target.closest("li[data-title]"));
    });
    if (kind === "multi") {
      const done = el("button", { type: "button", class: "primary small-btn select-done" }, "Done");
      done.addEventListener("mousedown", (event) => {
        event.preventDefault();
        this.commit({ move: [1, 0] });
      });
      box.appendChild(done);
    }
    box.focus = () => filter.focus();
    box.addEventListener("keydown", (event) => {
      if (event.key === "Escape" || event.key === "Tab") this.onEditorKey(event);
    });
    draw();
    return box;
  },

  optionItem(choice, on, label) {
    const li = el("li", { "data-title": choice.title, role: "option", "aria-selected": on ? "true" : "false" });
    if (on) li.classList.add("on");
    const chip = el("span", { class: "chip" }, label || choice.label || choice.title);
    if (!label && choice.label) chip.title = choice.title; // a member's email
    if (!label) chip.style.background = choice.color;
    li.append(el("span", { class: "tick" }, on ? "✓" : ""), chip);
    return li;
  },


  // --- link picker ----------------------------------------------------------------------------
  async openLinks(r, c, td) {
    const g = this.grid;
    const col = g.column(c);
    const id = g.rowId(r);
    const popup = el("div", { class: "cell-popup link-popup", tabindex: "-1" });
    const original = { html: td.innerHTML, cls: td.className, v: td.dataset.v || "" };
    td.classList.add("editing");
    td.appendChild(popup);
    let changed = false;
    const close = async () => {
      if (this.editing && this.editing.input === popup) this.editing = null;
      popup.remove();
      td.classList.remove("editing");
      if (changed) {
        const response = await fetch(g.url(`cells/${encodeURIComponent(id)}/${col.id}`), { headers: g.headers() });
        const holder = document.createElement("tr");
        holder.innerHTML = await response.text();
        if (holder.firstElementChild) td.replaceWith(holder.firstElementChild);
      }
      g.wrap.focus({ preventScroll: true });
      g.paint();
    };
    // A click on another cell closes the picker (edit.js commit → close), never "saves" it.
    this.editing = { r, c, td, input: popup, original, kind: "link", id, field: col.id, close };
    popup.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        close();
      }
    });
    popup.addEventListener("focusout", () => {
      setTimeout(() => {
        if (popup.isConnected && !popup.contains(document.activeElement)) close();
      }, 200);
    });
    await bindPicker(popup, g.url(`grid/links/${encodeURIComponent(id)}/${col.id}`), () => g.headers(), {
      loaded: () => this.fitPopup(popup),
      changed: () => {
        changed = true;
      },
    });
  },
};

// A link picker (views/partials/grid_links.html) in `box`: search as you type, Enter links the
// first match, a chip's × or a result unlinks / links. Used by link cells and the expanded row.
export async function bindPicker(box, url, headers, { loaded = () => {}, changed = () => {} } = {}) {
  const load = async (q = "", init = null) => {
    const response = await fetch(`${url}?q=${encodeURIComponent(q)}`, init || { headers: headers() });
    box.innerHTML = await response.text();
    loaded();
    const search = box.querySelector(".lp-search");
    if (search) {
      search.focus();
      search.setSelectionRange(search.value.length, search.value.length);
    } else box.focus();
  };
  let timer = null;
  box.addEventListener("input", (event) => {
    if (!event.target.classList.contains("lp-search")) return;
    clearTimeout(timer);
    timer = setTimeout(() => load(event.target.value), 200);
  });
  box.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-link]");
    if (!button) return;
    const q = (box.querySelector(".lp-search") || { value: "" }).value;
    const body = new URLSearchParams({ action: button.dataset.link, target: button.dataset.target, q });
    changed();
    await load(q, { method: "POST", headers: headers(), body });
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.classList.contains("lp-search")) {
      event.preventDefault();
      const first = box.querySelector(".lp-results [data-link='link']");
      if (first) first.click();
    }
  });
  await load();
}
