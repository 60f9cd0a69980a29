// Attachment cells: drop files on a cell to upload them into it, and the cell's popup
// (Enter / double-click) listing its files with "Add files" and "Remove". Methods of Editing
// (edit.js), like pickers.js.
//
// Uploads go to the cell endpoint (views/grid/edit.cell → attachment_pages.grid_cell_upload,
// the same service as every other upload: permissions and limits are the server's). One
// upload runs at a time, so two drops on one cell never race. While it runs the cell shows a
// progress bar; then the server's new <td> (thumbnails) replaces it. A refusal leaves the cell
// as it was, with the reason on it.
import { el } from "./util.js";

const hasFiles = (event) => event.dataTransfer && Array.from(event.dataTransfer.types || []).includes("Files");

export const Files = {
  bindDrops() {
    const g = this.grid;
    this.uploads = Promise.resolve();
    let over = null;
    const mark = (td) => {
      if (over && over !== td) over.classList.remove("drop-target", "drop-refused");
      over = td;
    };
    // Files dragged anywhere over the grid never open in the tab (the browser's default).
    g.wrap.addEventListener("dragover", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.stopPropagation(); // not the files panel's own handler (attachments.js)
      const hit = g.locate(event.target);
      const col = hit && hit.c >= 0 ? g.column(hit.c) : null;
      const ok = col && col.uidt === "Attachment" && col.files && g.rowId(hit.r) !== null;
      event.dataTransfer.dropEffect = ok ? "copy" : "none";
      mark(hit && col && col.uidt === "Attachment" ? hit.td : null);
      if (over) over.classList.add(ok ? "drop-target" : "drop-refused");
    });
    g.wrap.addEventListener("dragleave", (event) => {
      if (over && !over.contains(event.relatedTarget)) mark(null);
    });
    g.wrap.addEventListener("drop", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.stopPropagation();
      mark(null);
      const hit = g.locate(event.target);
      const col = hit && hit.c >= 0 ? g.column(hit.c) : null;
      const files = Array.from(event.dataTransfer.files || []);
      if (!col || col.uidt !== "Attachment") {
        g.message("Drop files on a cell of an attachment field.");
        return;
      }
      if (!col.files) {
        g.message(`Files not added: '${col.title}' is read-only for you.`);
        return;
      }
      if (g.rowId(hit.r) === null || !files.length) return;
      g.setActive(hit.r, hit.c, false, false);
      this.upload(hit.r, hit.c, files);
    });
  },

  // The cell <td> of a row id and column now (the row may have been redrawn meanwhile).
  fileCell(id, c) {
    const tr = this.grid.store.findById(id);
    return tr ? tr.children[c + 1] || null : null;
  },

  // Queue an upload of `files` into the cell at (r, c); resolves to true when stored.
  upload(r, c, files) {
    const g = this.grid;
    const col = g.column(c);
    const id = g.rowId(r);
    const max = g.cfg.fileMaxSize;
    const big = max ? files.find((f) => f.size > max) : null;
    const td = this.fileCell(id, c);
    if (big) {
      // The server would refuse it too (same message); no point sending it.
      this.fileError(td, `'${big.name}' is larger than ${Math.floor(max / 1024)} KiB.`);
      return Promise.resolve(false);
    }
    if (td) this.progress(td, 0, files.length, true);
    const run = () => this.send(id, c, col, files);
    this.uploads = this.uploads.then(run, run);
    return this.uploads;
  },

  send(id, c, col, files) {
    const g = this.grid;
    return new Promise((resolve) => {
      const body = new FormData();
      for (const f of files) body.append("files", f, f.name);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", g.url(`cells/${encodeURIComponent(id)}/${col.id}`));
      for (const [k, v] of Object.entries(g.headers())) xhr.setRequestHeader(k, v);
      // This tab's own change is not sent back to it live (realtime.js tags fetch() only).
      if (window.realtime && window.realtime.clientId) xhr.setRequestHeader("X-Client-Id", window.realtime.clientId);
      xhr.upload.addEventListener("progress", (event) => {
        const td = this.fileCell(id, c);
        if (td && event.lengthComputable) this.progress(td, event.loaded / event.total, files.length);
      });
      const fail = (message) => {
        this.fileError(this.fileCell(id, c), message);
        resolve(false);
      };
      xhr.addEventListener("load", () => {
        if (xhr.status !== 200) {
          let message = `Files not added (${xhr.status}).`;
          try {
            message = JSON.parse(xhr.responseText).message || message;
          } catch (err) {
            /* not JSON */
          }
          fail(message);
          return;
        }
        this.placeCell(id, c, xhr.responseText);
        const n = files.length;
        g.message(`Added ${n} file${n === 1 ? "" : "s"} to '${col.title}'.`, "ok");
        resolve(true);
      });
      xhr.addEventListener("error", () => fail("Files not added: the connection failed."));
      xhr.send(body);
    });
  },

  // Put the server's <td> in place of the cell (an open files popup moves into it).
  placeCell(id, c, html) {
    const old = this.fileCell(id, c);
    if (!old) return null;
    const holder = document.createElement("tr");
    holder.innerHTML = html;
    const fresh = holder.firstElementChild;
    if (!fresh) return null;
    const popup = old.querySelector(".files-popup");
    if (popup) {
      fresh.classList.add("editing");
      fresh.appendChild(popup);
      if (this.editing && this.editing.input === popup) this.editing.td = fresh;
    }
    old.replaceWith(fresh);
    if (popup) (popup.querySelector(".att-upload input[type=file]") || popup).focus();
    this.grid.paint();
    return fresh;
  },

  // A grid shorter than the popup grows while it is open, rather than cutting it off.
  roomFor(popup) {
    const wrap = this.grid.wrap;
    wrap.style.minHeight = "";
    if (popup.classList.contains("to-top")) return;
    const need = popup.getBoundingClientRect().bottom - wrap.getBoundingClientRect().bottom + 12;
    if (need > 0) wrap.style.minHeight = `${wrap.offsetHeight + need}px`;
  },

  progress(td, fraction, count, start = false) {
    let box = td.querySelector(".att-progress");
    if (!box) {
      box = el("div", { class: "att-progress", role: "status" });
      box.append(el("span", { class: "bar" }), el("em"));
      td.appendChild(box);
    }
    td.classList.add("uploading");
    td.classList.remove("invalid");
    const cellError = td.querySelector(".cell-error");
    if (cellError) cellError.remove();
    const pct = Math.round(fraction * 100);
    box.querySelector(".bar").style.width = `${pct}%`;
    const what = `${count} file${count === 1 ? "" : "s"}`;
    box.querySelector("em").textContent = start ? `Uploading ${what}…` : `Uploading ${what}… ${pct}%`;
  },

  fileError(td, message) {
    this.grid.message(message);
    if (!td) return;
    td.classList.remove("uploading");
    const box = td.querySelector(".att-progress");
    if (box) box.remove();
    this.showError(td, message);
    td.title = message;
    const popup = td.querySelector(".files-popup");
    if (popup) {
      let note = popup.querySelector(".files-error");
      if (!note) {
        note = el("p", { class: "error files-error", role: "alert" });
        popup.prepend(note);
      }
      note.textContent = message;
    }
  },

  // --- the popup ------------------------------------------------------------------------------
  async openFiles(r, c, td) {
    const g = this.grid;
    const col = g.column(c);
    const id = g.rowId(r);
    if (id === null) return;
    const popup = el("div", { class: "cell-popup files-popup", tabindex: "-1" });
    const original = { html: td.innerHTML, cls: td.className, v: td.dataset.v || "" };
    td.classList.add("editing");
    td.appendChild(popup);
    const panelUrl = g.url(`attachments/${encodeURIComponent(id)}/${col.id}`);
    const panelHeaders = () => g.headers({ "HX-Request": "true" });
    // While the popup's content is replaced, the focused button or input leaves the page:
    // that focus loss does not close the popup.
    let busy = 0;
    const load = async (init = null, url = panelUrl) => {
      busy += 1;
      try {
        await fill(await fetch(url, init || { headers: panelHeaders() }));
      } finally {
        busy -= 1;
      }
    };
    const fill = async (response) => {
      popup.innerHTML = await response.text();
      if (!response.ok && !popup.querySelector(".attachments")) popup.textContent = `Files not shown (${response.status}).`;
      const head = el("div", { class: "files-head" });
      head.append(el("strong", {}, col.title));
      if (!col.files) head.append(el("span", { class: "muted small" }, " · read-only for you"));
      popup.prepend(head);
      // The popup uploads on choosing files; its own button is for the files page.
      for (const b of popup.querySelectorAll(".att-upload button[type=submit]")) b.hidden = true;
      const label = popup.querySelector(".att-upload label");
      if (label) {
        const hint = label.querySelector(".muted");
        if (hint) label.after(hint);
        label.classList.add("button", "primary", "small-btn");
      }
      this.fitPopup(popup);
      this.roomFor(popup);
      const first = popup.querySelector(".att-upload input[type=file]") || popup.querySelector("a, button") || popup;
      first.focus();
    };
    const close = async () => {
      if (this.editing && this.editing.input === popup) this.editing = null;
      g.wrap.style.minHeight = "";
      const cell = popup.parentElement;
      popup.remove();
      if (cell) cell.classList.remove("editing");
      g.wrap.focus({ preventScroll: true });
      g.paint();
    };
    this.editing = { r, c, td, input: popup, original, kind: "files", id, field: col.id, close };
    const refreshCell = async () => {
      const response = await fetch(g.url(`cells/${encodeURIComponent(id)}/${col.id}`), { headers: g.headers() });
      if (response.ok) this.placeCell(id, c, await response.text());
    };
    const addFiles = async (input) => {
      const files = Array.from(input.files || []);
      if (!files.length) return;
      busy += 1;
      try {
        const stored = await this.upload(r, c, files);
        if (stored && popup.isConnected) await load();
      } finally {
        busy -= 1;
      }
    };
    popup.addEventListener("change", (event) => {
      if (event.target.matches(".att-upload input[type=file]")) addFiles(event.target);
    });
    popup.addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      if (form.classList.contains("att-upload")) {
        addFiles(form.querySelector("input[type=file]"));
        return;
      }
      // Remove a file: the panel answers itself again; the cell is read back.
      busy += 1;
      try {
        await load({ method: "POST", headers: panelHeaders(), body: new FormData(form) }, form.action);
        await refreshCell();
      } finally {
        busy -= 1;
      }
    });
    popup.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        close();
      }
    });
    popup.addEventListener("focusout", () => {
      setTimeout(() => {
        // The native file chooser keeps focus on its input, so choosing files stays open.
        if (!busy && popup.isConnected && !popup.contains(document.activeElement)) close();
      }, 200);
    });
    await load();
  },
};
