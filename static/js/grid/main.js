// The grid: a spreadsheet over server-rendered rows. This module wires the parts together and
// owns the selection (active cell + range), the mouse and the keyboard.
//   rows.js    windows of rows, virtual scroll
//   edit.js    cell editors, saves, undo/redo, copy/paste, clearing
//   pickers.js the select lists and the link picker (methods of edit.js's Editing)
//   layout.js  column resize/reorder, row height, add/delete rows, the expanded row, reloads
import { RowStore } from "./rows.js";
import { Editing } from "./edit.js";
import { Layout } from "./layout.js";

function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  } catch (err) {
    return "";
  }
}

// The user's decimal separator, so "12,5" means 12.5 where people write it so.
const DECIMAL_SEP = (1.5).toLocaleString(navigator.language).includes(",") ? "," : ".";
// …and the order it writes a date in ("dmy": 24/12/2026, "mdy": 12/24/2026), so a date typed
// the local way is read the local way (bases/fieldtypes/date.py::typed_date).
const DATE_ORDER = (() => {
  try {
    const parts = new Intl.DateTimeFormat(navigator.language).formatToParts(new Date(2026, 11, 24));
    const order = parts.filter((p) => ["day", "month", "year"].includes(p.type)).map((p) => p.type[0]).join("");
    return ["dmy", "mdy", "ymd"].includes(order) ? order : "dmy";
  } catch {
    return "dmy";
  }
})();

export class Grid {
  constructor(root) {
    this.root = root;
    // Listeners outside the grid element go when the grid is rebuilt (reload).
    this.abort = new AbortController();
    this.signal = this.abort.signal;
    this.cfg = JSON.parse(document.getElementById("grid-config").textContent);
    this.wrap = root;
    this.table = root.querySelector("table.grid");
    this.tbody = this.table.tBodies[0];
    this.columns = this.cfg.columns;
    this.active = { r: 0, c: 0 };
    this.anchor = { r: 0, c: 0 };
    this.statusEl = document.querySelector(".grid-status");
    this.messageEl = document.getElementById("row-error");
    this.store = new RowStore(this.cfg, this.wrap, this.tbody, {
      decorate: (tr) => this.decorate(tr),
      status: (text) => {
        this.status(text);
        this.fitHeight();
      },
      signal: this.signal,
      exactCount: () => this.exactCount(),
    });
    this.edit = new Editing(this);
    this.layout = new Layout(this);
    this.wrap.tabIndex = 0;
    this.bindMouse();
    this.bindKeys();
    this.fitHeight();
    window.addEventListener("resize", () => this.fitHeight(), { signal: this.signal });
    this.store.render();
    if (this.cfg.exactCount) this.exactCount();
  }

  // The exact row count (once at a time): after the first rows on SQLite, when an estimate
  // overshot the end, and before a jump to the end of an estimated table.
  exactCount() {
    if (this.counting) return this.counting;
    const params = new URLSearchParams({ view: this.cfg.view });
    if (this.cfg.q) params.set("q", this.cfg.q);
    this.counting = (async () => {
      try {
        const response = await fetch(this.url(`grid/count?${params}`), { headers: this.headers() });
        if (!response.ok) return;
        const { count } = await response.json();
        this.store.setTotal(count, false);
        this.store.render();
      } finally {
        this.counting = null;
      }
    })();
    return this.counting;
  }

  // --- helpers shared by the modules ------------------------------------------------------
  url(tail) {
    return this.cfg.base + tail;
  }
  headers(extra = {}) {
    return {
      "X-CSRFToken": csrfToken(),
      "X-Grid-Editor": "1",
      "X-Grid-View": this.cfg.view, // rows come back in this view's columns
      "X-Decimal-Separator": DECIMAL_SEP,
      "X-Date-Order": DATE_ORDER,
      ...extra,
    };
  }
  async post(tail, body, json = true) {
    const init = { method: "POST", headers: this.headers(), body };
    if (json) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(this.url(tail), init);
    let data = null;
    const type = response.headers.get("Content-Type") || "";
    if (type.includes("json")) data = await response.json();
    else data = await response.text();
    return { ok: response.ok, status: response.status, data };
  }
  // Rows added, deleted or changed here: the footer's row count and summaries load again
  // (its hx-trigger listens; other tabs learn through realtime:rows).
  countsChanged() {
    document.body.dispatchEvent(new CustomEvent("grid:counts"));
  }
  status(text) {
    if (this.statusEl) this.statusEl.textContent = text;
  }
  message(text, kind = "error") {
    if (!this.messageEl) return;
    this.messageEl.innerHTML = "";
    if (!text) return;
    const div = document.createElement("div");
    div.className = kind;
    div.setAttribute("role", kind === "error" ? "alert" : "status");
    div.textContent = text;
    this.messageEl.appendChild(div);
    if (kind !== "error") setTimeout(() => div.remove(), 4000);
  }
  rowEl(r) {
    return this.store.rowAt(r);
  }
  cellEl(r, c) {
    const tr = this.rowEl(r);
    if (!tr || tr.classList.contains("loading")) return null;
    return tr.children[c + 1] || null;
  }
  rowId(r) {
    const tr = this.rowEl(r);
    return tr && tr.dataset.id !== "" ? tr.dataset.id : null;
  }
  column(c) {
    return this.columns[c];
  }
  selection() {
    const r0 = Math.min(this.anchor.r, this.active.r);
    const r1 = Math.max(this.anchor.r, this.active.r);
    const c0 = Math.min(this.anchor.c, this.active.c);
    const c1 = Math.max(this.anchor.c, this.active.c);
    return { r0, r1, c0, c1 };
  }

  // --- selection ----------------------------------------------------------------------------
  setActive(r, c, extend = false, reveal = true) {
    const total = this.store.total;
    if (!total || !this.columns.length) return;
    r = Math.max(0, Math.min(total - 1, r));
    c = Math.max(0, Math.min(this.columns.length - 1, c));
    this.active = { r, c };
    if (!extend) this.anchor = { r, c };
    if (reveal) {
      this.store.reveal(r);
      this.revealColumn(c);
    }
    this.paint();
  }
  revealColumn(c) {
    const th = this.table.tHead.rows[0].children[c + 1];
    if (!th) return;
    const sticky = this.table.tHead.rows[0].children[0].offsetWidth + (c > 0 ? this.table.tHead.rows[0].children[1].offsetWidth : 0);
    const left = th.offsetLeft;
    const right = left + th.offsetWidth;
    if (left - sticky < this.wrap.scrollLeft) this.wrap.scrollLeft = Math.max(0, left - sticky);
    else if (right > this.wrap.scrollLeft + this.wrap.clientWidth) this.wrap.scrollLeft = right - this.wrap.clientWidth;
  }
  // Mark the active cell and the range on the rows in the DOM.
  paint() {
    if (this.edit && this.edit.grown && !this.edit.editing) {
      this.wrap.style.minHeight = ""; // grown for a popup (edit.js::fitPopup): no longer
      this.edit.grown = false;
    }
    const { r0, r1, c0, c1 } = this.selection();
    const multi = r0 !== r1 || c0 !== c1;
    for (const el of this.tbody.querySelectorAll(".active, .sel, .row-sel")) el.classList.remove("active", "sel", "row-sel");
    for (const tr of this.tbody.children) {
      if (tr.classList.contains("spacer")) continue;
      const r = Number(tr.dataset.n) - 1;
      if (r < r0 || r > r1) continue;
      if (multi) tr.classList.add("row-sel");
      for (let c = c0; c <= c1; c++) {
        const td = tr.children[c + 1];
        if (!td) continue;
        if (multi) td.classList.add("sel");
        if (r === this.active.r && c === this.active.c) td.classList.add("active");
      }
    }
    const head = this.table.tHead.rows[0].children;
    for (let c = 0; c < this.columns.length; c++) head[c + 1].classList.toggle("col-active", c >= c0 && c <= c1);
    this.layout.selectionChanged(r0, r1);
  }
  decorate(tr) {
    const r = Number(tr.dataset.n) - 1;
    const { r0, r1 } = this.selection();
    if (r >= r0 && r <= r1) requestAnimationFrame(() => this.paint());
  }

  // --- mouse --------------------------------------------------------------------------------
  locate(target) {
    const td = target.closest && target.closest("td");
    if (!td || !this.tbody.contains(td)) return null;
    const tr = td.parentElement;
    if (!tr.classList.contains("grid-row") || tr.classList.contains("loading")) return null;
    const r = Number(tr.dataset.n) - 1;
    const c = Array.prototype.indexOf.call(tr.children, td) - 1;
    return { r, c, td, tr };
  }
  bindMouse() {
    let dragging = false;
    // On a touch screen a tap on the active cell edits it (there is no double-click).
    let touch = false;
    this.tbody.addEventListener("pointerdown", (event) => {
      touch = event.pointerType === "touch";
      this.typingAt = 0; // a click ends a burst of typing (see onKey's Space)
    });
    this.tbody.addEventListener("mousedown", (event) => {
      if (event.button !== 0) return;
      const hit = this.locate(event.target);
      if (!hit) return;
      if (hit.td.classList.contains("editing")) return;
      if (this.edit.editing) this.edit.commit({ move: null });
      if (event.target.closest("button.expand")) {
        event.preventDefault();
        this.setActive(hit.r, Math.max(0, this.active.c), false, false);
        this.layout.expand(hit.r);
        return;
      }
      if (hit.c < 0) {
        // The row number selects the whole row (shift: down to it).
        event.preventDefault();
        if (event.shiftKey) this.active = { r: hit.r, c: this.columns.length - 1 };
        else {
          this.anchor = { r: hit.r, c: 0 };
          this.active = { r: hit.r, c: this.columns.length - 1 };
        }
        this.paint();
        this.wrap.focus({ preventScroll: true });
        return;
      }
      if (event.target.closest("a")) return; // a URL cell's link opens
      event.preventDefault();
      this.wrap.focus({ preventScroll: true });
      const again = this.active.r === hit.r && this.active.c === hit.c && !event.shiftKey;
      this.setActive(hit.r, hit.c, event.shiftKey, false);
      if (touch && again && !hit.td.classList.contains("t-Checkbox")) {
        this.edit.start();
        return;
      }
      dragging = true;
      if (event.target.closest(".cb") || (hit.td.classList.contains("t-Checkbox") && event.detail === 1 && this.edit.checkboxHit(event, hit.td))) {
        this.edit.toggleCheckbox(hit.r, hit.c);
      }
    });
    this.tbody.addEventListener("mouseover", (event) => {
      if (!dragging) return;
      const hit = this.locate(event.target);
      if (hit && hit.c >= 0) this.setActive(hit.r, hit.c, true, false);
    });
    document.addEventListener(
      "mouseup",
      () => {
        dragging = false;
      },
      { signal: this.signal },
    );
    this.tbody.addEventListener("dblclick", (event) => {
      const hit = this.locate(event.target);
      if (!hit || hit.c < 0 || hit.td.classList.contains("editing")) return;
      if (hit.td.classList.contains("t-Checkbox")) return;
      this.setActive(hit.r, hit.c, false, false);
      this.edit.start();
    });
  }

  // --- keyboard -----------------------------------------------------------------------------
  bindKeys() {
    this.wrap.addEventListener("keydown", (event) => {
      if (this.edit.editing || event.target !== this.wrap) return;
      this.onKey(event);
    });
    document.addEventListener("copy", (event) => {
      if (document.activeElement === this.wrap && !this.edit.editing) this.edit.copy(event);
    }, { signal: this.signal });
    document.addEventListener("paste", (event) => {
      if (document.activeElement === this.wrap && !this.edit.editing) this.edit.paste(event);
    }, { signal: this.signal });
  }
  onKey(event) {
    if (event.key.length !== 1) this.typingAt = 0; // Enter, arrows…: no longer typing
    const mod = event.ctrlKey || event.metaKey;
    const { r, c } = this.active;
    const page = this.store.visibleCount();
    const moves = {
      ArrowUp: [-1, 0],
      ArrowDown: [1, 0],
      ArrowLeft: [0, -1],
      ArrowRight: [0, 1],
      PageUp: [-page, 0],
      PageDown: [page, 0],
    };
    if (moves[event.key]) {
      event.preventDefault();
      let [dr, dc] = moves[event.key];
      if (mod && dr) dr = dr < 0 ? -r : this.store.total;
      if (mod && dc) dc = dc < 0 ? -c : this.columns.length;
      this.setActive(r + dr, c + dc, event.shiftKey);
      return;
    }
    if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      const end = event.key === "End";
      if (mod) this.setActive(end ? this.store.total - 1 : 0, c, event.shiftKey);
      else this.setActive(r, end ? this.columns.length - 1 : 0, event.shiftKey);
      return;
    }
    if (event.key === "Tab") {
      event.preventDefault();
      this.setActive(r, c + (event.shiftKey ? -1 : 1));
      return;
    }
    if (mod && (event.key === "z" || event.key === "Z")) {
      event.preventDefault();
      if (event.shiftKey) this.edit.redo();
      else this.edit.undo();
      return;
    }
    if (mod && (event.key === "y" || event.key === "Y")) {
      event.preventDefault();
      this.edit.redo();
      return;
    }
    if (mod && (event.key === "a" || event.key === "A")) {
      event.preventDefault();
      this.anchor = { r: 0, c: 0 };
      this.active = { r: this.store.total - 1, c: this.columns.length - 1 };
      this.paint();
      return;
    }
    if (mod || event.altKey) return; // Ctrl+C / Ctrl+V arrive as copy / paste events
    if (event.key === "Enter" || event.key === "F2") {
      event.preventDefault();
      this.edit.start();
      return;
    }
    if (event.key === " ") {
      event.preventDefault();
      // A space while typing into a read-only cell is more typing, not "expand the row".
      if (this.typingAt && Date.now() - this.typingAt < 1500) {
        this.typingAt = Date.now();
        this.edit.start(" ");
        return;
      }
      this.layout.expand(r);
      return;
    }
    if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      this.edit.clear();
      return;
    }
    if (event.key === "Escape") {
      this.anchor = { ...this.active };
      this.paint();
      return;
    }
    if (event.key.length === 1) {
      event.preventDefault();
      this.typingAt = Date.now(); // (an editable cell's editor takes the following keys)
      this.edit.start(event.key);
    }
  }

  // The grid fills the window below it, or less when its rows need less.
  fitHeight(rerender = true) {
    if (!this.store) return;
    const top = this.wrap.getBoundingClientRect().top + window.scrollY;
    const room = Math.max(320, window.innerHeight - top - 56);
    const { tHead, tFoot } = this.table;
    const content = (tHead ? tHead.offsetHeight : 0) + (tFoot ? tFoot.offsetHeight : 0) + this.store.total * this.store.rowH + 2;
    const scrollbar = this.wrap.offsetHeight - this.wrap.clientHeight; // borders + horizontal bar
    const height = `${Math.max(160, Math.min(room, content + scrollbar))}px`;
    if (this.wrap.style.height === height) return;
    this.wrap.style.height = height;
    if (rerender) this.store.schedule();
  }
}

const root = document.getElementById("grid");
if (root) {
  window.grid = new Grid(root);
}
