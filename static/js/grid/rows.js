// Windows of rows and the virtual scroll: only the rows near the viewport are in the DOM.
//
// Rows come in blocks of `cfg.window` rows. Block k is fetched with the cursor the server gave
// for it (block k-1's `next`); a block reached by a jump (scrollbar drag, "go to row", End)
// has no cursor yet and is fetched once by offset, after which its `next` cursor takes over.
// Very tall tables are drawn in a scroll space of at most MAX_HEIGHT pixels, scaled.

const MAX_HEIGHT = 8_000_000; // px; browsers cap element heights around 16–33 million
const OVERSCAN = 12; // rows drawn above and below the viewport
const KEEP_BLOCKS = 16; // blocks kept in memory (detached), farthest evicted first

export class RowStore {
  constructor(cfg, wrap, tbody, hooks) {
    this.cfg = cfg;
    this.wrap = wrap;
    this.tbody = tbody;
    this.hooks = hooks; // {decorate(tr), status(text)}
    this.window = cfg.window;
    this.rowH = cfg.rowHeights[cfg.rowHeight] || 32;
    this.epoch = 0;
    this.reset(cfg.total, cfg.estimated);
    this.adopt(0, Array.from(tbody.querySelectorAll("tr.grid-row")), cfg.next, cfg.last);
    this.range = [-1, -1];
    this.timer = null;
    wrap.addEventListener("scroll", () => this.schedule(), { passive: true });
    window.addEventListener("resize", () => this.schedule(), { signal: hooks.signal });
  }

  reset(total, estimated) {
    this.total = total;
    this.estimated = estimated;
    this.blocks = new Map(); // k -> {rows: [tr], last}
    this.cursors = new Map(); // k -> cursor string that fetches block k
    this.loading = new Set();
    this.epoch += 1;
  }

  adopt(k, rows, next, last) {
    this.blocks.set(k, { rows, used: performance.now() });
    if (next) this.cursors.set(k + 1, next);
    const end = k * this.window + rows.length;
    if (last) {
      if (this.total !== end) this.setTotal(end, false);
    } else if (end >= this.total) {
      this.setTotal(end + this.window, true); // an estimate fell short: grow as we learn
    }
  }

  setTotal(n, estimated) {
    this.total = Math.max(0, n);
    if (estimated !== undefined) this.estimated = estimated;
    this.range = [-1, -1];
  }

  // --- geometry ---------------------------------------------------------------------------
  headerHeight() {
    // The sticky header and the sticky "add a row" footer both cover rows.
    const { tHead, tFoot } = this.tbody.parentElement;
    return (tHead ? tHead.offsetHeight : 0) + (tFoot ? tFoot.offsetHeight : 0);
  }
  viewHeight() {
    return Math.max(this.rowH, this.wrap.clientHeight - this.headerHeight());
  }
  realHeight() {
    return this.total * this.rowH;
  }
  virtualHeight() {
    return Math.min(this.realHeight(), MAX_HEIGHT);
  }
  ratio() {
    const view = this.viewHeight();
    const real = this.realHeight();
    const virt = this.virtualHeight();
    if (real <= virt || virt <= view) return 1;
    return (real - view) / (virt - view);
  }
  // The 0-based row at the top of the viewport.
  firstVisible() {
    return Math.min(
      Math.max(0, this.total - 1),
      Math.floor((this.wrap.scrollTop * this.ratio()) / this.rowH),
    );
  }
  visibleCount() {
    return Math.max(1, Math.floor(this.viewHeight() / this.rowH));
  }
  // Scroll so that row r is visible (at the top when `top`, else the nearest edge).
  reveal(r, top = false) {
    const ratio = this.ratio();
    const view = this.viewHeight();
    const y = r * this.rowH - this.wrap.scrollTop * ratio; // row's offset in the viewport
    // Rounded up: scrollTop is whole pixels, and row r must be the one at the top.
    if (top || y < 0) this.wrap.scrollTop = Math.ceil((r * this.rowH) / ratio);
    else if (y > view - this.rowH)
      this.wrap.scrollTop = (r * this.rowH - view + this.rowH) / ratio;
    this.render();
  }

  // --- rows ---------------------------------------------------------------------------------
  rowAt(r) {
    const block = this.blocks.get(Math.floor(r / this.window));
    return block ? block.rows[r % this.window] || null : null;
  }
  indexOf(tr) {
    return Number(tr.dataset.n) - 1;
  }
  findById(id) {
    for (const block of this.blocks.values()) {
      const tr = block.rows.find((row) => row.dataset.id === String(id));
      if (tr) return tr;
    }
    return null;
  }
  replaceRow(old, fresh) {
    fresh.dataset.n = old.dataset.n;
    const n = fresh.querySelector(".rownum .n");
    if (n) n.textContent = old.dataset.n;
    for (const block of this.blocks.values()) {
      const i = block.rows.indexOf(old);
      if (i >= 0) block.rows[i] = fresh;
    }
    if (old.parentNode) old.replaceWith(fresh);
    this.hooks.decorate(fresh);
    return fresh;
  }
  // Forget loaded rows from block k on (after adding or deleting rows), keep the cursors before.
  invalidateFrom(k) {
    for (const key of Array.from(this.blocks.keys())) if (key >= k) this.blocks.delete(key);
    for (const key of Array.from(this.cursors.keys())) if (key > k) this.cursors.delete(key);
    this.epoch += 1;
    this.loading.clear();
    this.range = [-1, -1];
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.render();
    });
  }

  placeholder(r) {
    const tr = document.createElement("tr");
    tr.className = "grid-row loading";
    tr.dataset.n = String(r + 1);
    const td = document.createElement("td");
    td.className = "rownum";
    td.textContent = String(r + 1);
    tr.appendChild(td);
    const rest = document.createElement("td");
    rest.colSpan = this.cfg.columns.length;
    rest.className = "loading-cell";
    tr.appendChild(rest);
    return tr;
  }

  spacer(cls) {
    const tr = document.createElement("tr");
    tr.className = `spacer ${cls}`;
    tr.setAttribute("aria-hidden", "true");
    const td = document.createElement("td");
    td.colSpan = this.cfg.columns.length + 1;
    tr.appendChild(td);
    return tr;
  }

  render() {
    const ratio = this.ratio();
    const st = this.wrap.scrollTop;
    const pos = st * ratio;
    const first = Math.min(Math.floor(pos / this.rowH), Math.max(0, this.total - 1));
    const rowTop = st - (pos - first * this.rowH);
    const a = Math.max(0, first - OVERSCAN);
    const b = Math.min(this.total, first + this.visibleCount() + 2 + OVERSCAN);
    const top = Math.max(0, rowTop - (first - a) * this.rowH);
    const bottom = Math.max(0, this.virtualHeight() - top - (b - a) * this.rowH);
    if (!this.topSpacer) {
      this.topSpacer = this.spacer("top");
      this.bottomSpacer = this.spacer("bottom");
    }
    const needRebuild =
      a !== this.range[0] ||
      b !== this.range[1] ||
      Array.from(this.tbody.children).some((tr) => tr.classList.contains("loading") && this.rowAt(Number(tr.dataset.n) - 1));
    if (needRebuild) {
      const frag = document.createDocumentFragment();
      frag.appendChild(this.topSpacer);
      for (let r = a; r < b; r++) frag.appendChild(this.rowAt(r) || this.placeholder(r));
      frag.appendChild(this.bottomSpacer);
      this.tbody.replaceChildren(frag);
      this.range = [a, b];
      for (const tr of this.tbody.children) if (!tr.classList.contains("spacer")) this.hooks.decorate(tr);
    }
    this.topSpacer.style.height = `${top}px`;
    this.bottomSpacer.style.height = `${bottom}px`;
    const last = Math.min(this.total, Math.floor((pos + this.viewHeight() - 1) / this.rowH) + 1);
    this.hooks.status(this.describe(first, last));
    this.ensure(a, b);
  }

  describe(first, last) {
    if (!this.total) return "No rows";
    const fmt = (n) => n.toLocaleString();
    const total = `${this.estimated ? "~" : ""}${fmt(this.total)}`;
    return `Rows ${fmt(first + 1)}–${fmt(last)} of ${total}${this.estimated ? " (estimated)" : ""}`;
  }

  // Load the blocks rows a..b need: right away when a cursor is known, otherwise shortly
  // (a fast scrollbar drag should not fire an offset query per frame).
  ensure(a, b) {
    const want = [];
    for (let k = Math.floor(a / this.window); k * this.window < b; k++) {
      if (!this.blocks.has(k) && !this.loading.has(k)) want.push(k);
    }
    if (!want.length) return;
    clearTimeout(this.timer);
    const now = want.filter((k) => k === 0 || this.cursors.has(k));
    now.forEach((k) => this.load(k));
    const later = want.filter((k) => !now.includes(k) && !this.loading.has(k - 1));
    if (later.length) this.timer = setTimeout(() => later.forEach((k) => this.load(k)), 120);
  }

  params(k) {
    const p = new URLSearchParams({ view: this.cfg.view, limit: String(this.window), start: String(k * this.window) });
    if (this.cfg.q) p.set("q", this.cfg.q);
    const cursor = this.cursors.get(k);
    if (k > 0 && cursor) p.set("cursor", cursor);
    else if (k > 0) p.set("offset", String(k * this.window));
    return p;
  }

  async load(k) {
    if (this.blocks.has(k) || this.loading.has(k)) return;
    const epoch = this.epoch;
    this.loading.add(k);
    let response;
    try {
      response = await fetch(`${this.cfg.rowsUrl}?${this.params(k)}`, { headers: { "X-Grid-Editor": "1" } });
    } catch (err) {
      this.loading.delete(k);
      this.hooks.status("Could not load rows (offline?)");
      return;
    }
    if (epoch !== this.epoch) return;
    this.loading.delete(k);
    if (!response.ok) {
      this.hooks.status(`Could not load rows: ${response.status}`);
      return;
    }
    const holder = document.createElement("tbody");
    holder.innerHTML = await response.text();
    if (epoch !== this.epoch) return;
    const rows = Array.from(holder.children);
    const h = response.headers;
    if (rows.length === 0 && k > 0) {
      // An estimate overshot: the view ends before this block. Ask for the exact count rather
      // than walking back one window (one offset query) at a time.
      this.setTotal(k * this.window, false);
      this.wrap.scrollTop = Math.min(this.wrap.scrollTop, this.virtualHeight());
      if (this.hooks.exactCount) this.hooks.exactCount();
    } else {
      this.adopt(k, rows, h.get("X-Grid-Next"), h.get("X-Grid-Last") === "1");
    }
    this.evict();
    this.range = [-1, -1];
    this.render();
  }

  evict() {
    if (this.blocks.size <= KEEP_BLOCKS) return;
    const here = Math.floor(this.firstVisible() / this.window);
    const keys = Array.from(this.blocks.keys()).sort((x, y) => Math.abs(y - here) - Math.abs(x - here));
    while (this.blocks.size > KEEP_BLOCKS) {
      const k = keys.shift();
      const block = this.blocks.get(k);
      if (block.rows.some((tr) => tr.querySelector(".editing"))) continue;
      this.blocks.delete(k);
    }
  }
}
