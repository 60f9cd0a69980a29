// The ERD page: lays out the base's tables and links with dagre (layered, left to right) and
// draws them as SVG; drag to pan, wheel or +/−/0 to zoom, click (or Tab + Enter) a table to
// open it. Titles are set as text nodes, never parsed as markup. Styles are attributes so a
// downloaded SVG looks the same as on the page.
(function () {
  "use strict";
  const host = document.getElementById("erd");
  const data = JSON.parse(document.getElementById("erd-data").textContent);
  const NS = "http://www.w3.org/2000/svg";
  const FONT = '12px system-ui, -apple-system, "Segoe UI", sans-serif';
  const ROW = 18, HEAD = 26, PAD = 8, MIN_W = 150, MAX_W = 320, MAX_NAME = 200;
  const canvas = document.createElement("canvas").getContext("2d");
  const width = (text, font) => { canvas.font = font || FONT; return canvas.measureText(text).width; };

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }
  function text(parent, x, y, value, attrs, maxWidth) {
    let shown = value;
    if (maxWidth && width(value) > maxWidth) {
      while (shown.length > 1 && width(shown + "…") > maxWidth) shown = shown.slice(0, -1);
      shown += "…";
    }
    const t = el("text", Object.assign({ x, y, "font-family": 'system-ui, -apple-system, "Segoe UI", sans-serif', "font-size": 12, fill: "#1f2430" }, attrs || {}), parent);
    t.textContent = shown;
    if (shown !== value) el("title", {}, t).textContent = value;
    return t;
  }

  // ---- sizes
  const boxes = new Map();
  for (const t of data.tables) {
    let w = width(t.title, "600 13px system-ui, sans-serif") + 2 * PAD + 20;
    for (const f of t.fields) {
      w = Math.max(w, Math.min(width(f.title), MAX_NAME) + width(f.type, "11px system-ui, sans-serif") + 3 * PAD + 22);
    }
    const rows = t.fields.length + (t.more ? 1 : 0);
    boxes.set(t.id, { t, w: Math.ceil(Math.min(Math.max(w, MIN_W), MAX_W)), h: HEAD + rows * ROW + PAD });
  }

  // ---- layout: each group of linked tables by dagre (layered, left to right), then the groups
  // (and the tables without links) packed in rows about as wide as the window at a readable
  // size, biggest first — not one tall column of small groups.
  const START_SCALE = 0.9;
  const parent = new Map([...boxes.keys()].map((id) => [id, id]));
  const find = (id) => { while (parent.get(id) !== id) id = parent.get(id); return id; };
  for (const l of data.links) parent.set(find(l.from), find(l.to));
  const groups = new Map();
  for (const id of boxes.keys()) {
    const root = find(id);
    if (!groups.has(root)) groups.set(root, { ids: [], links: [] });
    groups.get(root).ids.push(id);
  }
  data.links.forEach((l, i) => groups.get(find(l.from)).links.push(i));
  const edges = []; // [link index, points, label x, label y]
  const laid = [];
  for (const group of groups.values()) {
    const g = new dagre.graphlib.Graph({ multigraph: true });
    g.setGraph({ rankdir: "LR", nodesep: 28, ranksep: 90, edgesep: 12, marginx: 0, marginy: 0 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const id of group.ids) g.setNode(id, { width: boxes.get(id).w, height: boxes.get(id).h });
    for (const i of group.links) {
      const l = data.links[i];
      g.setEdge(l.from, l.to, { label: l.kind, width: width(l.kind, "11px system-ui, sans-serif") + 6, height: 14, labelpos: "c" }, "e" + i);
    }
    dagre.layout(g);
    laid.push({ g, group, w: g.graph().width || 0, h: g.graph().height || 0 });
  }
  laid.sort((a, b) => b.h - a.h || b.w - a.w);
  const GAP = 36, MARGIN = 24;
  // Rows about as wide as the window at the starting size, or wider for a big base, so that
  // the whole is roughly as wide as high rather than one long column.
  const area = laid.reduce((sum, c) => sum + (c.w + GAP) * (c.h + GAP), 0);
  const rowWidth = Math.max(host.clientWidth / START_SCALE - 2 * MARGIN, Math.sqrt(area * 1.6), ...laid.map((c) => c.w));
  let x = MARGIN, y = MARGIN, rowH = 0, graphW = 0;
  for (const c of laid) {
    if (x > MARGIN && x + c.w > MARGIN + rowWidth) { x = MARGIN; y += rowH + GAP; rowH = 0; }
    for (const id of c.g.nodes()) { const n = c.g.node(id), b = boxes.get(id); b.x = x + n.x; b.y = y + n.y; }
    for (const e of c.g.edges()) {
      const edge = c.g.edge(e);
      edges.push([Number(e.name.slice(1)), edge.points.map((p) => ({ x: x + p.x, y: y + p.y })), edge.x === undefined ? undefined : x + edge.x, y + (edge.y || 0)]);
    }
    x += c.w + GAP; rowH = Math.max(rowH, c.h); graphW = Math.max(graphW, x - GAP + MARGIN);
  }
  const graphH = y + rowH + MARGIN;

  // ---- drawing
  const svg = el("svg", { xmlns: NS, role: "img", "aria-label": "Tables and links" }, host);
  const defs = el("defs", {}, svg);
  const marker = el("marker", { id: "erd-one", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" }, defs);
  el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#7b88a1" }, marker);
  const view = el("g", {}, svg);
  el("rect", { x: 0, y: 0, width: graphW, height: graphH, fill: "#fbfcfe" }, view);

  for (const [i, points, lx, ly] of edges) {
    const link = data.links[i];
    const mm = link.kind === "many to many";
    const grp = el("g", { class: "erd-edge" + (mm ? " mm" : "") }, view);
    const d = points.map((p, k) => (k ? "L" : "M") + p.x.toFixed(1) + "," + p.y.toFixed(1)).join(" ");
    el("path", { d, fill: "none", stroke: "#7b88a1", "stroke-width": 1.4, "marker-end": "url(#erd-one)", ...(mm ? { "stroke-dasharray": "5 3", "marker-start": "url(#erd-one)" } : {}) }, grp);
    el("title", {}, grp).textContent = link.title + " (" + link.kind + ")";
    if (lx !== undefined) text(grp, lx, ly + 4, link.kind, { "text-anchor": "middle", "font-size": 11, fill: "#4a5468", stroke: "#fbfcfe", "stroke-width": 3, "paint-order": "stroke" });
  }

  for (const b of boxes.values()) {
    const t = b.t, x0 = b.x - b.w / 2, y0 = b.y - b.h / 2;
    const box = el("g", { class: "erd-box" + (t.view ? " view" : ""), "data-table": t.id }, view);
    const a = el("a", { href: t.url, "aria-label": "Open table " + t.title }, box);
    el("rect", { class: "frame", x: x0, y: y0, width: b.w, height: b.h, rx: 5, fill: "#fff", stroke: "#9aa5b8" }, a);
    el("rect", { class: "head", x: x0 + 0.5, y: y0 + 0.5, width: b.w - 1, height: HEAD - 1, rx: 5, fill: t.view ? "#f1ecf8" : "#e8ecf8" }, a);
    text(a, x0 + PAD, y0 + 17, (t.view ? "◇ " : "▦ ") + t.title, { class: "title", "font-weight": 600, "font-size": 13 }, b.w - 2 * PAD);
    let y = y0 + HEAD + 13;
    for (const f of t.fields) {
      const mark = f.pk ? "◆ " : f.link ? "⇄ " : f.fk ? "↗ " : "";
      const typeW = width(f.type, "11px system-ui, sans-serif");
      text(a, x0 + PAD, y, mark + f.title, { class: "name", "font-weight": f.pk ? 600 : 400 }, b.w - typeW - 3 * PAD);
      text(a, x0 + b.w - PAD, y, f.type, { class: "type", "text-anchor": "end", "font-size": 11, fill: "#6b7385" });
      y += ROW;
    }
    if (t.more) text(a, x0 + PAD, y, "+ " + t.more + " more field" + (t.more > 1 ? "s" : ""), { class: "more", fill: "#6b7385", "font-style": "italic" });
  }

  // ---- pan and zoom
  let scale = 1, tx = 0, ty = 0, touched = false; // touched: the user moved or zoomed
  const apply = () => view.setAttribute("transform", `translate(${tx.toFixed(1)},${ty.toFixed(1)}) scale(${scale.toFixed(4)})`);
  function fit(minScale) {
    const W = host.clientWidth, H = host.clientHeight;
    scale = Math.min(W / Math.max(graphW, 1), H / Math.max(graphH, 1), 1.5);
    if (minScale && scale < minScale) { scale = minScale; tx = 8; ty = 8; }
    else { tx = (W - graphW * scale) / 2; ty = (H - graphH * scale) / 2; }
    apply();
  }
  function zoom(factor, cx, cy) {
    const next = Math.min(Math.max(scale * factor, 0.1), 4);
    if (cx === undefined) { cx = host.clientWidth / 2; cy = host.clientHeight / 2; }
    tx = cx - ((cx - tx) * next) / scale; ty = cy - ((cy - ty) * next) / scale; scale = next;
    apply();
  }
  host.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const r = host.getBoundingClientRect();
    zoom(ev.deltaY < 0 ? 1.15 : 1 / 1.15, ev.clientX - r.left, ev.clientY - r.top);
  }, { passive: false });
  let drag = null, moved = false;
  host.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    drag = { x: ev.clientX, y: ev.clientY, tx, ty }; moved = false;
  });
  host.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (!moved && Math.hypot(dx, dy) < 4) return;
    if (!moved) { moved = true; host.classList.add("dragging"); host.setPointerCapture(ev.pointerId); }
    tx = drag.tx + dx; ty = drag.ty + dy; apply();
  });
  const end = () => { drag = null; host.classList.remove("dragging"); };
  host.addEventListener("pointerup", end);
  host.addEventListener("pointercancel", end);
  // A drag that ends on a table does not open it.
  host.addEventListener("click", (ev) => { if (moved) { ev.preventDefault(); moved = false; } }, true);
  host.addEventListener("keydown", (ev) => {
    const step = 60;
    const keys = { "+": () => zoom(1.2), "=": () => zoom(1.2), "-": () => zoom(1 / 1.2), "0": () => fit(),
      ArrowLeft: () => { tx += step; apply(); }, ArrowRight: () => { tx -= step; apply(); },
      ArrowUp: () => { ty += step; apply(); }, ArrowDown: () => { ty -= step; apply(); } };
    if (keys[ev.key] && (ev.target === host || ev.key.length === 1)) { ev.preventDefault(); keys[ev.key](); }
  });
  document.querySelectorAll("[data-erd]").forEach((button) => button.addEventListener("click", () => {
    const action = button.dataset.erd;
    if (action === "zoom-in") zoom(1.2);
    else if (action === "zoom-out") zoom(1 / 1.2);
    else if (action === "fit") fit();
    else if (action === "download") {
      const copy = svg.cloneNode(true);
      copy.setAttribute("width", graphW); copy.setAttribute("height", graphH);
      copy.setAttribute("viewBox", `0 0 ${graphW} ${graphH}`);
      copy.querySelector("g").removeAttribute("transform");
      const blob = new Blob([new XMLSerializer().serializeToString(copy)], { type: "image/svg+xml" });
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob); a.download = host.dataset.filename;
      document.body.appendChild(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    }
  }));
  // Text stays readable: a big base starts at a readable size, scrolled to its top left.
  fit(START_SCALE);
  window.addEventListener("resize", () => { if (!touched) fit(START_SCALE); });
  ["wheel", "pointerdown", "keydown"].forEach((type) => host.addEventListener(type, () => { touched = true; }));
  document.querySelectorAll("[data-erd]").forEach((b) => b.addEventListener("click", () => { touched = true; }));
  host.dataset.ready = "1";
})();
