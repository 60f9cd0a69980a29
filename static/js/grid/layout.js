// The grid's shape and rows: column widths (drag the header's edge), column order (drag a
// header), row height, add / delete rows, the expanded row, jumps, and reloading after the
// toolbar changes the view (htmx event `grid:reload` on document.body).

import { bindPicker } from "./pickers.js";

export class Layout {
  constructor(grid) {
    this.grid = grid;
    this.bar = document.querySelector(".grid-bar");
    this.deleteButton = document.querySelector(".grid-delete");
    this.modal = document.getElementById("grid-modal");
    this.bindResize();
    this.bindReorder();
    this.bindBar();
    this.bindModal();
    this.pinDisplay();
    this.bindTooltips();
    const signal = grid.signal;
    document.body.addEventListener(
      "grid:reload",
      (event) => {
        const q = event.detail && typeof event.detail.q === "string" ? event.detail.q : null;
        this.reload(q);
      },
      { signal },
    );
  }

  // The display (primary) column stays in view beside the first column (the row number and
  // the first column are sticky in grid.css): a sticky rule for its position in the row,
  // through the CSSOM (the CSP allows no inline styles), its offset kept to the first
  // column's width as that changes.
  pinDisplay() {
    const g = this.grid;
    const index = g.columns.findIndex((c) => c.id === g.cfg.displayField);
    if (index < 1 || !g.table.tHead) return; // none, or the first column: sticky already
    const first = g.table.tHead.rows[0].cells[1];
    const sheet = new CSSStyleSheet();
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    const n = index + 2; // the row number cell comes first
    const place = () => {
      const rownum = g.table.tHead.rows[0].cells[0].getBoundingClientRect().width;
      const left = rownum + first.getBoundingClientRect().width;
      // Not on a phone: two pinned columns would leave no room to scroll through.
      sheet.replaceSync(
        "@media (min-width: 600px) {" +
          `table.grid thead tr > :nth-child(${n}), table.grid tr.grid-row:not(.loading) > :nth-child(${n}) ` +
          `{ position: sticky; left: ${left}px; z-index: 2; background: var(--panel); box-shadow: 1px 0 0 #d9dde3; }` +
          `table.grid thead tr > :nth-child(${n}) { z-index: 5; background: #f7f8fa; }` +
          `table.grid tr.grid-row > td.cell.editing:nth-child(${n}) { z-index: 6; }` +
          "}",
      );
    };
    place();
    new ResizeObserver(place).observe(first);
  }

  // Text cut short, by its cell's width or by the server (a cell shows at most 300
  // characters), shows in full on hover (headers carry their full title already).
  bindTooltips() {
    const g = this.grid;
    g.table.addEventListener(
      "mouseover",
      (event) => {
        const cell = event.target.closest("td.cell");
        if (!cell || cell.classList.contains("editing") || cell.dataset.error) return;
        const box = cell.querySelector(".c") || cell;
        const shown = (box.textContent || "").trim();
        const full = cell.dataset.v || "";
        const cut = box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
        if (full.length > shown.length + 3) cell.title = full.slice(0, 2000);
        else if (cut) cell.title = shown.slice(0, 2000);
        else cell.removeAttribute("title");
      },
      { signal: g.signal },
    );
  }

  // Layout saves go one after the other: two at once would each write the view they read.
  save(body) {
    const g = this.grid;
    if (!g.cfg.canLayout) return Promise.resolve();
    this.saving = (this.saving || Promise.resolve()).then(async () => {
      const result = await g.post("grid/layout", { view: g.cfg.view, ...body });
      if (!result.ok) g.message((result.data && result.data.message) || "The layout was not saved.");
    });
    return this.saving;
  }

  // --- widths -----------------------------------------------------------------------------------
  bindResize() {
    const g = this.grid;
    const head = g.table.tHead;
    head.addEventListener("mousedown", (event) => {
      const handle = event.target.closest(".resize");
      if (!handle) return;
      event.preventDefault();
      event.stopPropagation();
      const th = handle.closest("th");
      const col = g.table.querySelector(`col[data-f="${th.dataset.f}"]`);
      const startX = event.clientX;
      const startW = th.offsetWidth;
      th.classList.add("resizing");
      const move = (e) => {
        const w = Math.max(60, Math.min(800, startW + e.clientX - startX));
        col.style.width = `${w}px`;
      };
      const up = () => {
        document.removeEventListener("mousemove", move);
        document.removeEventListener("mouseup", up);
        th.classList.remove("resizing");
        const w = parseInt(col.style.width, 10);
        if (w !== startW) this.save({ widths: { [th.dataset.f]: w } });
      };
      document.addEventListener("mousemove", move);
      document.addEventListener("mouseup", up);
    });
  }

  // --- order ------------------------------------------------------------------------------------
  bindReorder() {
    const g = this.grid;
    const row = g.table.tHead.rows[0];
    let dragged = null;
    row.addEventListener("dragstart", (event) => {
      const th = event.target.closest("th[data-f]");
      if (!th || event.target.closest(".resize")) return;
      dragged = th;
      th.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", th.dataset.f);
    });
    row.addEventListener("dragover", (event) => {
      const th = event.target.closest("th[data-f]");
      if (!dragged || !th || th === dragged) return;
      event.preventDefault();
      for (const x of row.querySelectorAll(".drop-before, .drop-after")) x.classList.remove("drop-before", "drop-after");
      const after = event.clientX > th.getBoundingClientRect().left + th.offsetWidth / 2;
      th.classList.add(after ? "drop-after" : "drop-before");
    });
    row.addEventListener("dragend", () => {
      if (dragged) dragged.classList.remove("dragging");
      for (const x of row.querySelectorAll(".drop-before, .drop-after")) x.classList.remove("drop-before", "drop-after");
      dragged = null;
    });
    row.addEventListener("drop", async (event) => {
      const th = event.target.closest("th[data-f]");
      if (!dragged || !th || th === dragged) return;
      event.preventDefault();
      const after = th.classList.contains("drop-after");
      const order = g.columns.map((c) => c.id).filter((id) => id !== dragged.dataset.f);
      const at = order.indexOf(th.dataset.f) + (after ? 1 : 0);
      order.splice(at, 0, dragged.dataset.f);
      await this.save({ field_order: order });
      await this.reload();
    });
  }

  // --- toolbar of the grid: add, delete, row height, jump ---------------------------------
  bindBar() {
    const g = this.grid;
    document.addEventListener("click", (event) => {
      const action = event.target.closest("[data-grid-action]");
      if (!action || action.tagName === "FORM") return;
      const name = action.dataset.gridAction;
      if (name === "add") this.addRow();
      else if (name === "delete") this.deleteRows();
      else if (name === "end") this.jumpToEnd();
    }, { signal: g.signal });
    for (const button of document.querySelectorAll("[data-row-height]")) {
      button.addEventListener("click", () => this.rowHeight(button.dataset.rowHeight), { signal: g.signal });
    }
    const jump = document.querySelector("form.grid-jump");
    if (jump) {
      jump.addEventListener("submit", (event) => {
        event.preventDefault();
        const n = parseInt(jump.querySelector("input").value, 10);
        if (n > 0) this.jump(n);
      }, { signal: g.signal });
    }
  }

  // The end of an estimated table is where the exact count says.
  async jumpToEnd() {
    const g = this.grid;
    if (g.store.estimated) {
      g.status("Counting the rows…");
      await g.exactCount();
    }
    this.jump(g.store.total);
  }

  jump(n) {
    const g = this.grid;
    const r = Math.max(0, Math.min(g.store.total, n) - 1);
    g.store.reveal(r, true);
    g.setActive(r, g.active.c, false, false);
    g.wrap.focus({ preventScroll: true });
  }

  rowHeight(name) {
    const g = this.grid;
    const px = g.cfg.rowHeights[name];
    if (!px) return;
    const top = g.store.firstVisible();
    g.store.rowH = px;
    g.wrap.style.setProperty("--row-h", `${px}px`);
    g.wrap.dataset.rowHeight = name;
    for (const b of document.querySelectorAll("[data-row-height]")) b.classList.toggle("on", b.dataset.rowHeight === name);
    g.store.range = [-1, -1];
    g.store.reveal(top, true);
    this.save({ row_height: name });
  }

  selectionChanged(r0, r1) {
    if (!this.deleteButton) return;
    const n = r1 - r0 + 1;
    this.deleteButton.hidden = !this.grid.store.total;
    this.deleteButton.textContent = n === 1 ? "Delete row" : `Delete ${n.toLocaleString()} rows`;
  }

  async addRow() {
    const g = this.grid;
    const response = await fetch(g.url("rows"), { method: "POST", headers: g.headers() });
    let data = {};
    try {
      data = await response.json();
    } catch (err) {
      /* not JSON */
    }
    if (!response.ok) {
      g.message(data.message || `The row was not added (${response.status}).`);
      return;
    }
    const store = g.store;
    const lastBlock = Math.floor(Math.max(0, store.total - 1) / store.window);
    store.setTotal(store.total + 1);
    store.invalidateFrom(lastBlock);
    const r = store.total - 1;
    store.reveal(r);
    g.message("Row added.", "ok");
    g.countsChanged();
    // Make the new row active once its window has loaded.
    const first = g.columns.findIndex((c) => c.edit);
    g.setActive(r, Math.max(0, first), false, false);
    g.wrap.focus({ preventScroll: true });
  }

  async deleteRows() {
    const g = this.grid;
    const { r0, r1 } = g.selection();
    const ids = [];
    for (let r = r0; r <= r1; r++) {
      const id = g.rowId(r);
      if (id !== null) ids.push(id);
    }
    if (!ids.length) {
      g.message("Select the rows to delete first (click a row number; Shift+click for more).");
      return;
    }
    if (ids.length > 1000) {
      g.message("Delete at most 1,000 rows at a time.");
      return;
    }
    const what = ids.length === 1 ? `row ${r0 + 1}` : `${ids.length} rows (${r0 + 1}–${r1 + 1})`;
    // Deleted rows go to the table's trash (history/trash.py): Ctrl+Z restores them.
    const back = g.cfg.canRestore ? " You can undo it (Ctrl+Z) or restore it from Deleted rows." : "";
    if (!window.confirm(`Delete ${what}?${back}`)) return;
    if (!(await this.removeRows(ids, r0))) return;
    if (g.cfg.canRestore) g.edit.push({ deleted: ids, r0 });
    g.message(`Deleted ${ids.length} row${ids.length === 1 ? "" : "s"}.`, "ok");
  }
  async removeRows(ids, r0) {
    const g = this.grid;
    const result = await g.post("grid/delete", { ids });
    if (!result.ok) {
      g.message((result.data && result.data.message) || "Nothing was deleted.");
      return false;
    }
    const store = g.store;
    store.setTotal(Math.max(0, store.total - ids.length));
    store.invalidateFrom(Math.floor(r0 / store.window));
    g.anchor = { r: Math.max(0, Math.min(r0, store.total - 1)), c: g.active.c };
    g.active = { ...g.anchor };
    store.render();
    g.countsChanged();
    return true;
  }
  // The undo of a delete: the rows come back from the trash with their ids.
  async restoreRows(ids) {
    const g = this.grid;
    const result = await g.post("trash/restore", { records: ids });
    if (!result.ok) {
      g.message((result.data && result.data.message) || "Nothing was restored.");
      return false;
    }
    const store = g.store;
    store.setTotal(store.total + ids.length);
    store.invalidateFrom(0);
    store.render();
    g.countsChanged();
    return true;
  }

  // --- the expanded row ---------------------------------------------------------------------
  bindModal() {
    if (!this.modal) return;
    const signal = this.grid.signal;
    const box = this.modal.firstElementChild;
    this.modal.addEventListener("click", (event) => {
      if (event.target === this.modal) this.closeExpanded();
      const links = event.target.closest("[data-expand-links]");
      if (links) this.editLinks(links);
      const nav = event.target.closest("[data-expand]");
      if (!nav) return;
      if (nav.dataset.expand === "close") this.closeExpanded();
      else this.step(nav.dataset.expand === "next" ? 1 : -1);
    }, { signal });
    this.modal.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        this.closeExpanded();
      } else if (event.altKey && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
        event.preventDefault();
        this.step(event.key === "ArrowDown" ? 1 : -1);
      }
    }, { signal });
    document.body.addEventListener("grid:row-saved", (event) => this.refreshRow(event.detail.id), { signal });
    box.addEventListener("htmx:afterSwap", () => this.focusFirst(), { signal });
  }

  async expand(r) {
    const g = this.grid;
    const id = g.rowId(r);
    if (id === null) return;
    this.expanded = r;
    const box = this.modal.firstElementChild;
    const response = await fetch(g.url(`grid/rows/${encodeURIComponent(id)}/expand?view=${g.cfg.view}`), { headers: g.headers() });
    box.innerHTML = await response.text();
    if (window.htmx) window.htmx.process(box);
    this.modal.hidden = false;
    document.body.classList.add("modal-open");
    this.focusFirst();
  }

  // The expanded row's link field: the same picker as the cell's, inside the form.
  async editLinks(button) {
    const g = this.grid;
    const holder = button.closest(".expand-links");
    const box = holder.querySelector(".expand-picker");
    button.remove();
    box.classList.add("link-picker-box");
    await bindPicker(box, holder.dataset.picker, () => g.headers(), {
      changed: () => {
        this.linksChanged = true;
      },
    });
  }

  focusFirst() {
    const first = this.modal.querySelector("input:not([type=hidden]), select, textarea, button");
    if (first) first.focus();
  }

  step(delta) {
    const g = this.grid;
    if (this.linksChanged) {
      const id = g.rowId(this.expanded);
      if (id !== null) this.refreshRow(id);
      this.linksChanged = false;
    }
    const r = this.expanded + delta;
    if (r < 0 || r >= g.store.total) return;
    if (!g.rowEl(r)) {
      g.store.reveal(r);
      setTimeout(() => this.step(delta), 300);
      return;
    }
    g.setActive(r, g.active.c);
    this.expand(r);
  }

  closeExpanded() {
    if (this.linksChanged && this.expanded !== undefined) {
      const id = this.grid.rowId(this.expanded);
      if (id !== null) this.refreshRow(id);
    }
    this.linksChanged = false;
    this.modal.hidden = true;
    document.body.classList.remove("modal-open");
    this.grid.wrap.focus({ preventScroll: true });
  }

  async refreshRow(id) {
    const g = this.grid;
    const tr = g.store.findById(id);
    if (!tr) return;
    const k = Math.floor((Number(tr.dataset.n) - 1) / g.store.window);
    g.store.blocks.delete(k);
    g.store.range = [-1, -1];
    g.store.render();
  }

  // --- reload (the toolbar changed the view, or the columns moved) ------------------------
  async reload(q = null) {
    const g = this.grid;
    const url = new URL(window.location.href);
    if (q !== null) {
      if (q) url.searchParams.set("q", q);
      else url.searchParams.delete("q");
    }
    url.searchParams.set("view", g.cfg.view);
    const response = await fetch(url, { headers: { "X-Grid-Reload": "1" } });
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = doc.getElementById("grid");
    const config = doc.getElementById("grid-config");
    if (!fresh || !config || !document.getElementById("grid")) {
      window.location.reload(); // the page's shape changed (group-by on or off)
      return;
    }
    document.getElementById("grid-config").textContent = config.textContent;
    const bar = doc.querySelector(".grid-bar");
    if (bar && this.bar) this.bar.replaceWith(bar);
    const old = document.getElementById("grid");
    g.abort.abort();
    old.replaceWith(fresh);
    window.grid = new g.constructor(fresh);
  }
}
