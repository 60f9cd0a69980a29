// Realtime: the table's socket (views/realtime/consumer.py), live rows, presence.
//
// The server decides; this script only follows. A message names rows (ids) and, for updates,
// the fields written; the rows are then re-fetched through the grid's `grid/live` endpoint, which
// renders them for this user and says which ones no longer match the view ("gone"). The grid is
// reached only through DOM data attributes (tr.grid-row[data-id], td.cell[data-f]) and the
// `window.grid` object (its RowStore keeps the loaded rows): no grid module is edited.
//
// Every same-origin write of this tab carries `X-Client-Id`, so the server does not send the tab
// its own change back. Reconnects back off (0.5 s doubling to 15 s, jittered) and then re-sync:
// the grid re-fetches its visible rows and counts; a page of cards offers a refresh. The server
// asks for the same (`resync`) when messages may have been lost (Redis restarted or was away),
// and, with Redis, `hello` says after how many seconds every process publishes to this table
// (`catchup`): the grid re-fetches once then, so nothing written in between is missed.
//
// Gallery, kanban and calendar pages open the socket with their view (and search): they are sent
// rendered cards (`cards`) instead, put in place by views/live.js. A shared view's page opens the
// link's socket (`/s/<token>/ws`, with its own search, sort and filter) and gets `shared.rows`.
import { applyCards, applyOrder, applySharedRows } from "./views/live.js";

const cfgEl = document.getElementById("realtime-config");
const cfg = cfgEl ? JSON.parse(cfgEl.textContent) : null;

const clientId =
  (window.crypto && crypto.randomUUID && crypto.randomUUID().replace(/-/g, "")) ||
  Math.random().toString(36).slice(2) + Date.now().toString(36);

// --- tag this tab's requests -----------------------------------------------------------------
const nativeFetch = window.fetch.bind(window);
window.fetch = (input, init = {}) => {
  try {
    const url = new URL(typeof input === "string" ? input : input.url, window.location.href);
    if (url.origin === window.location.origin) {
      const headers = new Headers(init.headers || (typeof input !== "string" ? input.headers : undefined));
      headers.set("X-Client-Id", clientId);
      init = { ...init, headers };
    }
  } catch (err) {
    /* leave the request as it is */
  }
  return nativeFetch(input, init);
};
document.body.addEventListener("htmx:configRequest", (event) => {
  event.detail.headers["X-Client-Id"] = clientId;
});

// --- the page's side -------------------------------------------------------------------------
const FLASH_MS = 1600;
const grid = () => window.grid || null;

function notice(text, action) {
  let bar = document.getElementById("rt-notice");
  if (!bar) {
    bar = document.createElement("div");
    bar.id = "rt-notice";
    bar.className = "rt-notice";
    bar.setAttribute("role", "status");
    const anchor = document.getElementById("row-error");
    if (anchor) anchor.after(bar);
    else document.body.prepend(bar);
  }
  bar.replaceChildren(document.createTextNode(text + " "));
  if (action) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "small";
    button.textContent = action.label;
    button.addEventListener("click", () => {
      bar.remove();
      action.run();
    });
    bar.appendChild(button);
  }
}

function flash(tr, fields) {
  const cells = fields && fields.length
    ? fields.map((f) => tr.querySelector(`td[data-f="${CSS.escape(f)}"]`)).filter(Boolean)
    : [tr];
  for (const el of cells) {
    el.classList.remove("rt-flash");
    void el.offsetWidth; // restart the animation
    el.classList.add("rt-flash");
    setTimeout(() => el.classList.remove("rt-flash"), FLASH_MS);
  }
}

async function fetchRows(ids) {
  const g = grid();
  const params = new URLSearchParams({ view: g.cfg.view, ids: ids.join(",") });
  if (g.cfg.q) params.set("q", g.cfg.q);
  const response = await nativeFetch(g.url(`grid/live?${params}`), { headers: { "X-Grid-Editor": "1" } });
  if (!response.ok) return null;
  return response.json();
}

function blockOf(tr) {
  const g = grid();
  return Math.floor((Number(tr.dataset.n) - 1) / g.store.window);
}

function allLoaded(store) {
  for (let k = 0; k * store.window < store.total; k++) if (!store.blocks.has(k)) return false;
  return true;
}

// Re-fetch the rows from block k on, keeping the old ones on screen until the new ones are here
// (no flash of empty rows): block k is fetched like RowStore.load does, then swapped in; the
// blocks after it are dropped (their positions moved) and load again as they come into view.
async function quietReload(k) {
  const g = grid();
  const store = g.store;
  const epoch = store.epoch;
  let response;
  try {
    response = await nativeFetch(`${store.cfg.rowsUrl}?${store.params(k)}`, { headers: { "X-Grid-Editor": "1" } });
  } catch (err) {
    return;
  }
  if (!response.ok || grid() !== g) return;
  const holder = document.createElement("tbody");
  holder.innerHTML = await response.text();
  if (store.epoch !== epoch || grid() !== g) {
    return; // the grid reset meanwhile (a toolbar change): it loads what it needs itself
  }
  // A row with an open editor (a cell being typed in, a link or files popup) keeps its element,
  // editor and typed text included, at its new place: the editor brings its cell up to date
  // when it closes. Replacing it would throw the editor away (and a link picker would then
  // write into a cell no longer on the page).
  const editing = new Map();
  for (const [key, block] of store.blocks)
    if (key >= k) for (const tr of block.rows) if (tr.querySelector(".editing")) editing.set(tr.dataset.id, tr);
  for (const key of Array.from(store.blocks.keys())) if (key >= k) store.blocks.delete(key);
  for (const key of Array.from(store.cursors.keys())) if (key > k) store.cursors.delete(key);
  const rows = Array.from(holder.children).map((fresh) => {
    const kept = editing.get(fresh.dataset.id);
    if (!kept) return fresh;
    kept.dataset.n = fresh.dataset.n;
    const n = kept.querySelector(".rownum .n");
    if (n) n.textContent = fresh.dataset.n;
    return kept;
  });
  const h = response.headers;
  if (rows.length === 0 && k > 0) store.setTotal(k * store.window, false);
  else store.adopt(k, rows, h.get("X-Grid-Next"), h.get("X-Grid-Last") === "1");
  store.range = [-1, -1];
  store.render();
  if (g.fitHeight) g.fitHeight();
}

// New rows land where the view's sort puts them: re-fetch from the top of the viewport on.
function refetchWindow(extra = 0) {
  const g = grid();
  const store = g.store;
  if (extra) store.setTotal(Math.max(0, store.total + extra));
  return quietReload(Math.floor(store.firstVisible() / store.window));
}

const pendingFlash = new Map(); // id -> fields, flashed when the row shows up
function flashWhenShown(id, fields) {
  pendingFlash.set(String(id), fields);
  setTimeout(() => pendingFlash.delete(String(id)), 5000);
}

// Rows gone (deleted, or no longer matching the view): out of the DOM and the store at once,
// then the following rows move up when their block is re-fetched.
function removeRows(trs) {
  const g = grid();
  if (!trs.length) return;
  const store = g.store;
  const first = Math.min(...trs.map(blockOf));
  for (const tr of trs) {
    for (const block of store.blocks.values()) {
      const i = block.rows.indexOf(tr);
      if (i >= 0) block.rows.splice(i, 1);
    }
    tr.remove();
  }
  store.setTotal(Math.max(0, store.total - trs.length));
  store.render();
  quietReload(first);
}

async function rowsChanged(msg) {
  // For whatever else shows rows: the footer's counts and aggregates (an htmx trigger), a
  // grouped grid, other view types' scripts.
  document.body.dispatchEvent(new CustomEvent("realtime:rows", { detail: msg }));
  const g = grid();
  if (!g || !g.store) {
    // A page without live rows of its own (views that are sent `cards` never get here).
    if (document.querySelector(".view-page")) offerRefresh();
    return;
  }
  if (msg.many) {
    refetchWindow();
    if (g.exactCount) g.exactCount();
    return;
  }
  const store = g.store;
  if (msg.type === "rows.deleted") {
    removeRows(msg.ids.map((id) => store.findById(id)).filter(Boolean));
    return;
  }
  const data = await fetchRows(msg.ids);
  if (!data || grid() !== g) return;
  const gone = [];
  let added = 0;
  for (const id of msg.ids) {
    const tr = store.findById(id);
    const html = data.rows[id];
    if (tr && html === undefined) {
      gone.push(tr); // no longer matches the view (or was deleted meanwhile)
    } else if (tr && html !== undefined) {
      if (tr.querySelector(".editing")) {
        tr.classList.add("rt-stale"); // this tab is editing it: keep the editor, mark the row
        continue;
      }
      const holder = document.createElement("tbody");
      holder.innerHTML = html;
      const fresh = holder.firstElementChild;
      if (tr.classList.contains("row-sel")) fresh.classList.add("row-sel");
      store.replaceRow(tr, fresh);
      flash(fresh, msg.fields);
    } else if (html !== undefined && (msg.type === "rows.inserted" || allLoaded(store))) {
      added += 1; // a new row, or one that now matches the view
      flashWhenShown(id, null);
    }
  }
  if (gone.length) removeRows(gone);
  if (added) refetchWindow(added);
  paintFocus();
}

function offerRefresh() {
  notice("Records were changed by someone else.", { label: "Refresh", run: () => window.location.reload() });
}

// Changes may have been missed (this socket was away, or the server lost messages).
function resync() {
  const g = grid();
  if (g && g.store) {
    refetchWindow();
    if (g.exactCount) g.exactCount();
    document.body.dispatchEvent(new CustomEvent("realtime:rows", { detail: { type: "resync" } }));
  } else if (cfg.share || document.querySelector(".view-page")) {
    // Cards and shared rows cannot be re-fetched in place: say so and offer the refresh.
    notice("Live updates were interrupted; changes made meanwhile may not be shown.", {
      label: "Refresh",
      run: () => window.location.reload(),
    });
  }
}

// Once, `seconds` after the socket opened: the grid's rows as they are by then.
function catchUp(seconds) {
  setTimeout(() => {
    const g = grid();
    if (g && g.store && socket && socket.readyState === WebSocket.OPEN) refetchWindow();
  }, seconds * 1000);
}

// Gallery, kanban, calendar and shared pages: the server sent the fragments themselves.
function fragments(msg, apply) {
  document.body.dispatchEvent(new CustomEvent("realtime:rows", { detail: msg }));
  let ok = false;
  try {
    ok = apply(msg);
  } catch (err) {
    ok = false;
  }
  if (!ok) offerRefresh();
}

// The socket's URL: the tab's id, and what this page shows (its view and search; on a shared
// view, the visitor's own search, sort, filter and page), so the server renders for it.
function socketUrl() {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const params = new URLSearchParams({ client: clientId });
  const here = new URLSearchParams(window.location.search);
  const keep = cfg.share ? ["q", "sort", "ff", "fo", "fv", "cursor"] : ["q"];
  if (!cfg.share && cfg.view) params.set("view", cfg.view);
  for (const k of keep) if (here.get(k)) params.set(k, here.get(k));
  return `${scheme}://${window.location.host}${cfg.ws}?${params}`;
}

// --- presence --------------------------------------------------------------------------------
// The server names the first few people on the table (join/leave/focus, or all at once in
// `here`) and counts everyone (`count`, this tab included): those not named are "+N".
const others = new Map(); // client id -> {who, focus}
let everyone = 0; // tabs on the table, this one included (0: not told yet)
const AVATARS = 8; // avatars shown at most; the rest is "+N"

function renderAvatars() {
  const box = document.getElementById("presence");
  if (!box) return;
  const people = new Map(); // one avatar per user, however many tabs
  for (const { who } of others.values()) people.set(who.user, who);
  const named = Array.from(people.values());
  const avatars = named.slice(0, AVATARS).map((who) => {
    const span = document.createElement("span");
    span.className = "avatar";
    span.style.background = who.color;
    span.textContent = who.initials;
    span.title = `${who.name} is viewing this table`;
    span.dataset.user = who.user;
    return span;
  });
  // Tabs not named by the server, and people named but past the avatars' room.
  const more = Math.max(0, everyone - 1 - others.size) + Math.max(0, named.length - AVATARS);
  if (more > 0) {
    const span = document.createElement("span");
    span.className = "avatar avatar-more";
    span.textContent = `+${more}`;
    span.title = `${more} more ${more === 1 ? "person is" : "people are"} viewing this table`;
    avatars.push(span);
  }
  box.replaceChildren(...avatars);
  box.hidden = avatars.length === 0;
}

function paintFocus() {
  for (const td of document.querySelectorAll("td[data-rt]")) {
    td.removeAttribute("data-rt");
    td.removeAttribute("data-rt-editing");
    td.removeAttribute("data-rt-name");
    td.style.removeProperty("--rt-color");
  }
  for (const { who, focus } of others.values()) {
    if (!focus) continue;
    const tr = document.querySelector(`tr.grid-row[data-id="${CSS.escape(focus.row)}"]`);
    const td = tr && tr.querySelector(`td[data-f="${CSS.escape(focus.field)}"]`);
    if (!td) continue;
    td.dataset.rt = who.initials;
    if (focus.editing) td.dataset.rtEditing = "1";
    td.style.setProperty("--rt-color", who.color);
    td.dataset.rtName = `${who.name}${focus.editing ? " is editing" : ""}`;
  }
}

function presence(msg) {
  if (msg.action === "here") {
    for (const { who, focus } of msg.people) others.set(who.client, { who, focus });
    everyone = msg.count;
  } else if (msg.action === "count") {
    everyone = msg.count;
  } else if (msg.action === "leave") {
    if (others.delete(msg.who.client) && everyone) everyone -= 1;
  } else {
    const id = msg.who.client;
    const known = others.get(id);
    if (msg.action === "join" && !known && !msg.promoted && everyone) everyone += 1;
    others.set(id, { who: msg.who, focus: msg.action === "focus" ? msg.focus : known ? known.focus : null });
  }
  renderAvatars();
  paintFocus();
}

// --- the socket --------------------------------------------------------------------------------
let socket = null;
let attempts = 0;
let everOpen = false;
let stopped = false;
let lastFocus = "";

function send(obj) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(obj));
}

function sendFocus(force = false) {
  const td = document.querySelector("#grid td.editing") || document.querySelector("#grid td.active");
  const tr = td && td.closest("tr.grid-row");
  const state = td && tr && tr.dataset.id && td.dataset.f
    ? { type: "focus", row: tr.dataset.id, field: td.dataset.f, editing: td.classList.contains("editing") }
    : { type: "blur" };
  const key = JSON.stringify(state);
  if (key === lastFocus && !force) return;
  lastFocus = key;
  send(state);
}

function connect() {
  if (stopped) return;
  socket = new WebSocket(socketUrl());
  document.documentElement.dataset.realtime = "connecting";
  socket.addEventListener("open", () => {
    document.documentElement.dataset.realtime = "open";
    attempts = 0;
    if (everOpen) resync(); // catch up on what happened while we were away
    everOpen = true;
    sendFocus(true);
  });
  socket.addEventListener("message", (event) => {
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch (err) {
      return;
    }
    handle(msg);
  });
  socket.addEventListener("close", (event) => {
    document.documentElement.dataset.realtime = "closed";
    others.clear();
    everyone = 0;
    renderAvatars();
    paintFocus();
    if (stopped) return; // paused
    if (event.code === 4403 || event.code === 4404) {
      stopped = true;
      const text = cfg.share ? "This shared view is no longer available." : "You no longer have access to this table.";
      notice(text, { label: "Reload", run: () => window.location.reload() });
      return;
    }
    const delay = Math.min(15000, 500 * 2 ** attempts) * (0.75 + Math.random() / 2);
    attempts += 1;
    setTimeout(connect, delay);
  });
}

function handle(msg) {
  switch (msg.type) {
    case "hello":
      if (msg.catchup > 0) catchUp(msg.catchup);
      break;
    case "resync":
      resync();
      break;
    case "rows.updated":
    case "rows.inserted":
    case "rows.deleted":
      rowsChanged(msg);
      break;
    case "cards":
      fragments(msg, applyCards);
      break;
    case "shared.rows":
      fragments(msg, applySharedRows);
      break;
    case "cards.ordered":
      if (msg.view === cfg.view) applyOrder(msg);
      break;
    case "presence":
      presence(msg);
      break;
    case "schema.changed":
      notice("The table's fields were changed.", { label: "Refresh", run: () => window.location.reload() });
      break;
    case "view.changed": {
      if (msg.shared) {
        notice("This view was changed.", { label: "Refresh", run: () => window.location.reload() });
        break;
      }
      const g = grid();
      const current = g ? g.cfg.view : cfg.view;
      if (msg.view !== current) break;
      if (msg.deleted) notice("Someone deleted this view.", { label: "Reload", run: () => window.location.reload() });
      else
        notice("Someone changed this view.", {
          label: "Refresh",
          run: () => (g && g.layout ? g.layout.reload() : window.location.reload()),
        });
      break;
    }
    case "access.revoked":
    case "share.revoked":
      stopped = true;
      break;
    default:
      break;
  }
}

if (cfg) {
  // pause()/resume(): drop the connection and come back as after a network drop (tests, and a
  // page that wants to stop listening while hidden).
  const pause = () => {
    stopped = true;
    if (socket) socket.close(4000);
  };
  const resume = () => {
    stopped = false;
    attempts = 0;
    if (!socket || socket.readyState === WebSocket.CLOSED) connect();
  };
  window.realtime = { clientId, others, send, pause, resume };
  // Flash rows that arrive after a refetch; re-draw outlines on re-rendered rows; follow the
  // active cell to tell the others.
  let frame = 0;
  const observer = new MutationObserver((records) => {
    let rows = false;
    for (const r of records) if (r.type === "childList") rows = true;
    if (rows && pendingFlash.size) {
      for (const [id, fields] of pendingFlash) {
        const tr = document.querySelector(`tr.grid-row[data-id="${CSS.escape(id)}"]`);
        if (tr) {
          flash(tr, fields);
          pendingFlash.delete(id);
        }
      }
    }
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      if (rows) paintFocus();
      sendFocus();
    });
  });
  const holder = (document.getElementById("grid") || document.body).parentElement || document.body;
  observer.observe(holder, { subtree: true, childList: true, attributes: true, attributeFilter: ["class"] });
  connect();
}
