import { el } from "./util.js";
import { Pickers } from "./pickers.js";
import { Files } from "./files.js";

// Cell editing: an editor per field type inside the cell, saves through the cell endpoint
// (one cell) or the range endpoint (paste, clear, undo/redo), and the undo stack.
//
// A refused value keeps the editor open with the typed text and the reason under it; leaving
// the cell then keeps the text on screen, marked invalid, until it is fixed or Esc'd.

const TEXT_MODES = {
  Email: "email",
  URL: "url",
  PhoneNumber: "tel",
  Number: "numeric",
  Rating: "numeric",
  Decimal: "decimal",
  Currency: "decimal",
  Percent: "decimal",
  Duration: "decimal",
};
const INPUT_TYPES = { Time: "time" };
// Dates are typed as text, as in a spreadsheet ("2026-12-24", "24/12/2026" in the user's
// locale order, "2026-12-24 10:30"); the server reads them (bases/fieldtypes/date.py). A
// native date input is only the picker behind the 📅 button: typing into one mangles ISO
// text ("2026-12-24" became year 61224 in a mm/dd/yyyy input).
const PICKED = { Date: "date", DateTime: "datetime-local" };
const DATE_HINT = { Date: "YYYY-MM-DD", DateTime: "YYYY-MM-DD HH:MM" };
const UNDO_LIMIT = 200;


// A refused value stays on screen, in the cell's clipping box.
function typedBox(text) {
  const box = el("div", { class: "c" });
  box.appendChild(el("span", { class: "typed" }, text));
  return box;
}

function parseTSV(text) {
  // Excel / Google Sheets: tab-separated, CRLF rows, "quoted" cells may hold tabs and newlines.
  const rows = [];
  let row = [];
  let cell = "";
  let quoted = false;
  text = text.replace(/\r\n?/g, "\n");
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"' && cell === "") quoted = true;
    else if (ch === "\t") {
      row.push(cell);
      cell = "";
    } else if (ch === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else cell += ch;
  }
  if (cell !== "" || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

function tsvCell(text) {
  return /[\t\n"]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export class Editing {
  constructor(grid) {
    this.grid = grid;
    this.editing = null; // {r, c, td, input, original, kind}
    this.undoStack = [];
    this.redoStack = [];
    this.bindDrops();
  }

  editableAt(c) {
    const col = this.grid.column(c);
    return col && col.edit;
  }

  // --- starting and ending an edit ------------------------------------------------------
  start(initial = null) {
    const g = this.grid;
    const { r, c } = g.active;
    const td = g.cellEl(r, c);
    const col = g.column(c);
    if (!td || !col) return;
    if (initial !== null && !col.edit) {
      // Typing into a cell that cannot change says why, and opens nothing.
      g.message(g.cfg.canEdit ? `'${col.title}' is read-only.` : "Your role can read this table but not change it.", "info");
      return;
    }
    if (col.uidt === "LinkToAnotherRecord") {
      if (g.rowId(r) !== null) this.openLinks(r, c, td);
      return;
    }
    if (col.uidt === "Attachment") {
      // Everyone may look at the files; those who may edit also add and remove them.
      this.openFiles(r, c, td);
      return;
    }
    if (!col.edit) {
      g.message(col.computed ? `'${col.title}' is a ${col.computed}: its value is computed, not typed.` : `'${col.title}' is read-only.`, "info");
      return;
    }
    if (col.uidt === "Checkbox") {
      this.toggleCheckbox(r, c);
      return;
    }
    const kept = td.dataset.typed; // text of an earlier refused save
    const value = kept !== undefined ? kept : td.dataset.v || "";
    // The cell's own nodes, put back on cancel: re-parsing its HTML would turn the CSSOM
    // styles of chips into style attributes, which the CSP refuses.
    const original = { nodes: Array.from(td.childNodes), cls: td.className, v: td.dataset.v || "" };
    td.classList.add("editing");
    let input;
    let kind = "text";
    if (col.uidt === "SingleSelect" || col.uidt === "MultiSelect" || col.people) {
      // A User column's members are picked like options (col.choices: email, name).
      kind = col.uidt === "MultiSelect" || col.multi ? "multi" : "select";
      input = this.selectEditor(col, value, initial, kind);
    } else if (col.uidt === "LongText" || col.uidt === "JSON") {
      kind = col.uidt === "JSON" ? "json" : "long";
      input = el("textarea", { "aria-label": col.title, rows: "6", spellcheck: kind === "json" ? "false" : "true" });
      input.className = `cell-popup cell-textarea${kind === "json" ? " mono" : ""}`;
      input.value = initial !== null ? initial : value;
    } else if (INPUT_TYPES[col.uidt]) {
      input = el("input", { type: INPUT_TYPES[col.uidt], "aria-label": col.title });
      if (col.uidt === "Time") input.step = "1";
      input.value = value;
    } else if (PICKED[col.uidt]) {
      input = el("input", { type: "text", "aria-label": col.title, autocomplete: "off", placeholder: DATE_HINT[col.uidt] });
      const shown = col.uidt === "DateTime" ? value.slice(0, 16).replace("T", " ") : value;
      input.value = initial !== null ? initial : shown;
    } else {
      input = el("input", { type: "text", "aria-label": col.title, autocomplete: "off" });
      if (TEXT_MODES[col.uidt]) input.inputMode = TEXT_MODES[col.uidt];
      input.value = initial !== null ? initial : value;
    }
    input.classList.add("cell-input");
    td.replaceChildren(input);
    if (PICKED[col.uidt]) td.appendChild(this.datePicker(input, col));
    this.fitPopup(input);
    if (td.dataset.error) this.showError(td, td.dataset.error);
    this.editing = { r, c, td, input, original, kind, id: g.rowId(r), field: col.id };
    input.addEventListener("keydown", (event) => this.onEditorKey(event));
    input.addEventListener("focusout", () => {
      // Clicking elsewhere commits (after the click has had its say).
      setTimeout(() => {
        if (this.editing && this.editing.input === input && !this.editing.td.contains(document.activeElement)) {
          this.commit({ move: null, refocus: false });
        }
      }, 150);
    });
    const focus = input.querySelector ? input.querySelector("input") || input : input;
    focus.focus();
    if (focus.setSelectionRange && initial === null && focus.type === "text") {
      focus.setSelectionRange(focus.value.length, focus.value.length);
    }
  }

  // The 📅 button beside a date being typed: the browser's picker, filling the text in.
  datePicker(input, col) {
    const native = el("input", { type: PICKED[col.uidt], tabindex: "-1", "aria-hidden": "true", class: "date-native" });
    const button = el("button", { type: "button", class: "date-pick", title: "Pick a date", "aria-label": `Pick a date for ${col.title}` }, "📅");
    const box = el("span", { class: "date-pick-box" });
    box.append(button, native);
    button.addEventListener("mousedown", (event) => event.preventDefault()); // keep the text focused
    button.addEventListener("click", () => {
      const iso = /^\d{4}-\d\d-\d\d/.test(input.value) ? input.value.trim().replace(" ", "T") : "";
      native.value = col.uidt === "DateTime" ? iso.slice(0, 16) : iso.slice(0, 10);
      try {
        native.showPicker();
      } catch {
        native.focus();
      }
    });
    native.addEventListener("change", () => {
      if (!native.value) return;
      input.value = col.uidt === "DateTime" ? native.value.replace("T", " ") : native.value;
      input.focus();
    });
    return box;
  }

  // A popup near the grid's right edge opens leftwards, so it stays in view. Near the bottom
  // it opens upwards when there is more room above; on a short grid (a few rows) with room
  // for neither, the grid grows while the popup is open (Grid.paint shrinks it back).
  fitPopup(popup) {
    if (!popup.classList.contains("cell-popup")) return;
    const wrapEl = this.grid.wrap;
    const wrap = wrapEl.getBoundingClientRect();
    let box = popup.getBoundingClientRect();
    if (box.right > wrap.right - 4) popup.classList.add("to-left");
    const head = this.grid.table.tHead ? this.grid.table.tHead.offsetHeight : 0;
    if (box.bottom > wrap.bottom - 4 && box.top - wrap.top > wrap.bottom - box.top) {
      popup.classList.add("to-top");
      box = popup.getBoundingClientRect();
      if (box.top < wrap.top + head) {
        popup.classList.remove("to-top");
        box = popup.getBoundingClientRect();
      }
    }
    if (box.bottom > wrap.bottom - 4) {
      wrapEl.style.minHeight = `${Math.ceil(wrap.height + (box.bottom - wrap.bottom) + 12)}px`;
      this.grown = true;
    }
  }

  onEditorKey(event) {
    const e = this.editing;
    if (!e) return;
    const multiline = e.kind === "long" || e.kind === "json";
    if (event.key === "Escape") {
      event.preventDefault();
      this.cancel();
    } else if (event.key === "Enter" && !(multiline && (event.shiftKey || event.altKey))) {
      if (e.kind === "select" || e.kind === "multi") return; // the list handles Enter
      event.preventDefault();
      this.commit({ move: [1, 0] });
    } else if (event.key === "Tab") {
      event.preventDefault();
      this.commit({ move: [0, event.shiftKey ? -1 : 1] });
    }
  }

  value() {
    const e = this.editing;
    if (e.kind === "select" || e.kind === "multi") return e.input.dataset.value || "";
    return e.input.value;
  }

  cancel() {
    const e = this.editing;
    if (!e) return;
    if (e.close) {
      e.close(); // a popup (links, files) saves as it goes: closing is all there is
      return;
    }
    this.editing = null;
    e.td.className = e.original.cls;
    e.td.replaceChildren(...e.original.nodes);
    delete e.td.dataset.typed;
    delete e.td.dataset.error;
    e.td.classList.remove("invalid", "editing");
    this.grid.wrap.focus({ preventScroll: true });
    this.grid.paint();
  }

  async commit({ move = [1, 0], refocus = true } = {}) {
    const e = this.editing;
    if (!e || e.saving) return;
    if (e.close) {
      e.close();
      return;
    }
    const g = this.grid;
    const text = this.value();
    if (e.kind === "json" && text.trim() !== "") {
      try {
        JSON.parse(text);
      } catch (err) {
        this.showError(e.td, `invalid JSON: ${err.message}`);
        if (move === null) this.leaveInvalid(e, text, `invalid JSON: ${err.message}`);
        return;
      }
    }
    const old = e.original.v;
    if (text === old && e.td.dataset.typed === undefined) {
      this.editing = null;
      this.restore(e);
      if (refocus) this.after(move);
      return;
    }
    e.saving = true;
    const result = await this.saveOne(e.id, e.field, text, e.td);
    e.saving = false;
    if (!result.ok) {
      if (this.editing !== e) return;
      this.showError(e.td, result.message);
      if (move === null) this.leaveInvalid(e, text, result.message);
      return;
    }
    if (this.editing === e) this.editing = null;
    this.push({ changes: [{ id: e.id, field: e.field, old, value: text }] });
    if (refocus) this.after(move);
  }

  restore(e) {
    e.td.className = e.original.cls;
    e.td.replaceChildren(...e.original.nodes);
    this.grid.paint();
  }

  after(move) {
    const g = this.grid;
    g.wrap.focus({ preventScroll: true });
    if (move) g.setActive(g.active.r + move[0], g.active.c + move[1]);
    else g.paint();
  }

  // The user left a refused edit: keep the typed text on screen, marked, with the reason.
  leaveInvalid(e, text, message) {
    this.editing = null;
    const td = e.td;
    td.classList.remove("editing");
    td.classList.add("invalid");
    td.dataset.typed = text;
    td.dataset.error = message;
    td.title = message;
    td.replaceChildren(typedBox(text), el("span", { class: "cell-error" }, message));
  }

  showError(td, message) {
    td.classList.add("invalid");
    td.dataset.error = message;
    let box = td.querySelector(".cell-error");
    if (!box) {
      box = el("div", { class: "cell-error", role: "alert" });
      td.appendChild(box);
    }
    box.textContent = message;
  }

  // POST one cell; on success the cell is replaced by the server's rendering.
  async saveOne(id, field, text, td) {
    const g = this.grid;
    const body = new URLSearchParams({ value: text });
    const response = await fetch(g.url(`cells/${encodeURIComponent(id)}/${field}`), {
      method: "POST",
      headers: g.headers(),
      body,
    });
    if (!response.ok) {
      let message = `Not saved (${response.status}).`;
      try {
        message = (await response.json()).message || message;
      } catch (err) {
        /* not JSON */
      }
      return { ok: false, message };
    }
    const holder = document.createElement("tr");
    holder.innerHTML = await response.text();
    const fresh = holder.firstElementChild;
    if (td && td.isConnected !== undefined && fresh) {
      td.replaceWith(fresh);
      // The detached row in the store holds the same node, so nothing else to update.
    }
    g.paint();
    g.countsChanged();
    if (g.columns.some((c) => c.computed)) this.refreshRow(id);
    return { ok: true };
  }

  // A formula (or another computed column) of the row may read the saved cell: the row is
  // drawn again as the server reads it now (`grid/live`, as a live update is).
  async refreshRow(id) {
    const g = this.grid;
    const response = await fetch(g.url(`grid/live?ids=${encodeURIComponent(id)}`), { headers: g.headers() });
    if (!response.ok) return;
    const html = ((await response.json()).rows || {})[id];
    const old = g.store.findById(id);
    if (!html || !old || old.querySelector(".editing")) return;
    const holder = document.createElement("tbody");
    holder.innerHTML = html;
    if (holder.firstElementChild) g.store.replaceRow(old, holder.firstElementChild);
    g.paint();
  }

  // --- checkbox: one click ------------------------------------------------------------------
  checkboxHit(event, td) {
    const box = td.querySelector(".cb");
    if (!box) return true;
    const rect = box.getBoundingClientRect();
    return event.clientX >= rect.left - 6 && event.clientX <= rect.right + 6;
  }
  async toggleCheckbox(r, c) {
    const g = this.grid;
    const col = g.column(c);
    const td = g.cellEl(r, c);
    if (!col.edit || !td || col.uidt !== "Checkbox") return;
    const old = td.dataset.v || "false";
    const value = old === "true" ? "false" : "true";
    const result = await this.saveOne(g.rowId(r), col.id, value, td);
    if (result.ok) this.push({ changes: [{ id: g.rowId(r), field: col.id, old, value }] });
    else g.message(result.message);
  }

  // --- ranges: clear, copy, paste -----------------------------------------------------------
  rangeCells() {
    const g = this.grid;
    const { r0, r1, c0, c1 } = g.selection();
    const out = [];
    for (let r = r0; r <= r1; r++) {
      const row = [];
      for (let c = c0; c <= c1; c++) row.push({ r, c, td: g.cellEl(r, c) });
      out.push(row);
    }
    return out;
  }

  async clear() {
    const g = this.grid;
    const changes = [];
    for (const row of this.rangeCells()) {
      for (const { r, c, td } of row) {
        const col = g.column(c);
        if (!td || !col.edit) continue;
        const value = col.uidt === "Checkbox" ? "false" : "";
        if ((td.dataset.v || "") === value) continue;
        changes.push({ id: g.rowId(r), field: col.id, old: td.dataset.v || "", value });
      }
    }
    if (!changes.length) return;
    await this.saveMany(changes, { record: true });
  }

  copy(event) {
    const g = this.grid;
    const lines = [];
    let missing = false;
    for (const row of this.rangeCells()) {
      lines.push(
        row
          .map(({ td }) => {
            if (!td) {
              missing = true;
              return "";
            }
            return tsvCell(td.dataset.typed !== undefined ? td.dataset.typed : td.dataset.v || "");
          })
          .join("\t"),
      );
    }
    event.clipboardData.setData("text/plain", lines.join("\n"));
    event.preventDefault();
    const n = lines.length * (lines[0] ? lines[0].split("\t").length : 0);
    g.message(missing ? "Copied the loaded rows of the range." : `Copied ${n} cell${n === 1 ? "" : "s"}.`, "ok");
  }

  async paste(event) {
    const g = this.grid;
    const text = event.clipboardData.getData("text/plain");
    event.preventDefault();
    if (!text) return;
    let data = parseTSV(text.replace(/\r?\n$/, ""));
    const { r0, r1, c0, c1 } = g.selection();
    // One copied cell fills a selected range, as spreadsheets do.
    if (data.length === 1 && data[0].length === 1 && (r1 > r0 || c1 > c0)) {
      data = Array.from({ length: r1 - r0 + 1 }, () => Array(c1 - c0 + 1).fill(data[0][0]));
    }
    const changes = [];
    const skipped = new Set();
    const added = []; // rows below the last one, for those who may add rows: {field id: text}
    let clipped = 0;
    data.forEach((values, i) => {
      const r = r0 + i;
      if (r >= g.store.total && g.cfg.canAdd) {
        const cells = {};
        values.forEach((value, j) => {
          const col = g.column(c0 + j);
          if (col && col.edit) cells[col.id] = value;
          else if (col) skipped.add(col.title);
        });
        added.push(cells);
        return;
      }
      if (r >= g.store.total || !g.rowEl(r)) {
        clipped += 1;
        return;
      }
      values.forEach((value, j) => {
        const c = c0 + j;
        const col = g.column(c);
        if (!col) return;
        if (!col.edit) {
          skipped.add(col.title);
          return;
        }
        const td = g.cellEl(r, c);
        changes.push({ id: g.rowId(r), field: col.id, old: td ? td.dataset.v || "" : "", value });
      });
    });
    if (!changes.length && !added.length) {
      g.message(skipped.size ? `Nothing pasted: ${Array.from(skipped).join(", ")} read-only.` : "Nothing to paste here.");
      return;
    }
    let ok = !changes.length || (await this.saveMany(changes, { record: !added.length }));
    let newIds = [];
    if (ok && added.length) {
      newIds = await this.addRows(added);
      ok = newIds !== null;
      if (ok) this.push({ changes, added: { rows: added, ids: newIds } });
      else if (changes.length) this.push({ changes }); // the first part was saved: undoable
    }
    if (ok) {
      const rows = Math.min(data.length, g.store.total - r0);
      const cols = Math.max(...data.map((x) => x.length));
      g.anchor = { r: r0, c: c0 };
      g.active = { r: Math.max(r0, r0 + rows - 1), c: Math.min(g.columns.length - 1, c0 + cols - 1) };
      g.paint();
      const notes = [];
      if (skipped.size) notes.push(`read-only, left as they were: ${Array.from(skipped).join(", ")}`);
      if (clipped) notes.push(`${clipped} row${clipped === 1 ? "" : "s"} below the end not pasted`);
      if (newIds.length) notes.push(`${newIds.length} row${newIds.length === 1 ? "" : "s"} added`);
      const bad = skipped.size || clipped;
      g.message(`Pasted ${changes.length} cell${changes.length === 1 ? "" : "s"}${notes.length ? ` (${notes.join("; ")})` : ""}.`, bad ? "error" : "ok");
    }
  }

  // Rows pasted below the last one: one bulk insert (views/grid/edit.py::row_add with a JSON
  // body). Their ids, or null when refused (the reason shown, nothing added).
  async addRows(rows) {
    const g = this.grid;
    const result = await g.post("rows", { rows });
    if (!result.ok) {
      const errors = (result.data && result.data.errors) || [];
      const first = errors[0];
      const where = first ? ` (new row ${first.row + 1}, ${(g.columns.find((c) => c.id === first.field) || {}).title || "a field"})` : "";
      g.message(`No rows added: ${(result.data && result.data.message) || "refused"}${where}.`);
      return null;
    }
    const ids = result.data.ids || [];
    const store = g.store;
    const lastBlock = Math.floor(Math.max(0, store.total - 1) / store.window);
    store.setTotal(store.total + ids.length);
    store.invalidateFrom(lastBlock);
    store.render();
    g.countsChanged();
    return ids;
  }

  // Undoing pasted new rows deletes them; redoing adds them again (with new ids).
  async removeAdded(ids) {
    const g = this.grid;
    const result = await g.post("grid/delete", { ids });
    if (!result.ok) {
      g.message((result.data && result.data.message) || "The added rows were not removed.");
      return false;
    }
    const store = g.store;
    store.setTotal(Math.max(0, store.total - ids.length));
    store.invalidateFrom(Math.floor(Math.max(0, store.total - 1) / store.window));
    store.render();
    g.countsChanged();
    return true;
  }

  // Save many cells in one atomic request; refused cells show their reason and the pasted text.
  async saveMany(changes, { record }) {
    const g = this.grid;
    const result = await g.post("grid/cells", { changes: changes.map(({ id, field, value }) => ({ id, field, value })) });
    if (!result.ok) {
      const errors = (result.data && result.data.errors) || [];
      for (const error of errors) {
        const tr = g.store.findById(error.id);
        const c = g.columns.findIndex((col) => col.id === error.field);
        if (!tr || c < 0) continue;
        const td = tr.children[c + 1];
        const change = changes.find((x) => String(x.id) === String(error.id) && x.field === error.field);
        td.classList.add("invalid");
        td.dataset.typed = change ? change.value : "";
        td.dataset.error = error.message;
        td.title = error.message;
        td.replaceChildren(typedBox(td.dataset.typed), el("span", { class: "cell-error" }, error.message));
      }
      const n = errors.length;
      g.message(n ? `Nothing saved: ${n} cell${n === 1 ? "" : "s"} refused (${errors[0].message}${n > 1 ? ", …" : ""}).` : (result.data && result.data.message) || "Nothing saved.");
      return false;
    }
    for (const [id, html] of Object.entries(result.data.rows || {})) {
      const old = g.store.findById(id);
      if (!old) continue;
      const holder = document.createElement("tbody");
      holder.innerHTML = html;
      if (holder.firstElementChild) g.store.replaceRow(old, holder.firstElementChild);
    }
    if (record) this.push({ changes });
    g.paint();
    g.countsChanged(); // summaries, and rows that left the view's filter
    return true;
  }

  // --- undo / redo ------------------------------------------------------------------------------
  push(entry) {
    this.undoStack.push(entry);
    if (this.undoStack.length > UNDO_LIMIT) this.undoStack.shift();
    this.redoStack = [];
  }
  async undo() {
    const entry = this.undoStack.pop();
    if (!entry) {
      this.grid.message("Nothing to undo.", "ok");
      return;
    }
    if (entry.deleted) {
      // A delete: its rows come back from the trash (static/js/grid/layout.js).
      const n = entry.deleted.length;
      if (await this.grid.layout.restoreRows(entry.deleted)) {
        this.redoStack.push(entry);
        this.grid.message(`Restored ${n} row${n === 1 ? "" : "s"}.`, "ok");
      } else this.undoStack.push(entry);
      return;
    }
    const back = entry.changes.map((x) => ({ id: x.id, field: x.field, old: x.value, value: x.old }));
    if (entry.added && !(await this.removeAdded(entry.added.ids))) {
      this.undoStack.push(entry);
      return;
    }
    if (!back.length || (await this.saveMany(back, { record: false }))) {
      this.redoStack.push(entry);
      const rows = entry.added ? `; ${entry.added.ids.length} added row${entry.added.ids.length === 1 ? "" : "s"} removed` : "";
      this.grid.message(`Undone (${back.length} cell${back.length === 1 ? "" : "s"}${rows}).`, "ok");
    } else this.undoStack.push(entry);
  }
  async redo() {
    const entry = this.redoStack.pop();
    if (!entry) return;
    if (entry.deleted) {
      if (await this.grid.layout.removeRows(entry.deleted, entry.r0)) {
        this.undoStack.push(entry);
        this.grid.message("Redone.", "ok");
      } else this.redoStack.push(entry);
      return;
    }
    const again = entry.changes.map((x) => ({ id: x.id, field: x.field, old: x.old, value: x.value }));
    if (again.length && !(await this.saveMany(again, { record: false }))) {
      this.redoStack.push(entry);
      return;
    }
    if (entry.added) {
      const ids = await this.addRows(entry.added.rows);
      if (ids === null) return;
      entry.added.ids = ids;
    }
    this.undoStack.push(entry);
    this.grid.message("Redone.", "ok");
  }
}

Object.assign(Editing.prototype, Pickers, Files);
