// Live cards, chips and shared rows: fragments the server rendered for this page
// (views/realtime/live.py) put in place by record id. The server decides what is shown and
// where it goes (the item before it in the view's order, a kanban stack, a calendar's days);
// this only finds that place on the page, or says the place is beyond what is loaded (the item
// then arrives with "load more"), or — when the page cannot tell — offers a refresh.

const FLASH_MS = 1600;

function fromHTML(html) {
  const holder = document.createElement("template");
  holder.innerHTML = html.trim();
  return holder.content.firstElementChild;
}

function byAttr(attr, value) {
  return `[${attr}="${CSS.escape(String(value))}"]`;
}

function flash(el) {
  el.classList.remove("rt-flash");
  void el.offsetWidth; // restart the animation
  el.classList.add("rt-flash");
  setTimeout(() => el.classList.remove("rt-flash"), FLASH_MS);
}

function activate(el) {
  if (window.htmx) window.htmx.process(el);
}

// Put `fresh` (key `key`) in `container` right after the item keyed `after` (null: first).
// opts: attr (data-id / data-key), item (selector of the container's items), more (more
// items load after the last one), first (the page starts at the view's first item), tail
// (element new items go before, e.g. a "load more" control). Returns "placed", "beyond"
// (not on this page) or "unknown" (the page cannot tell: offer a refresh).
function place(container, fresh, key, after, opts) {
  const items = () => Array.from(container.querySelectorAll(`:scope > ${opts.item}`));
  const old = container.querySelector(`:scope > ${opts.item}${byAttr(opts.attr, key)}`);
  let prev;
  if (after === null || after === undefined) {
    if (!opts.first) return "beyond";
    prev = null;
  } else {
    prev = container.querySelector(`:scope > ${opts.item}${byAttr(opts.attr, after)}`);
    if (!prev) return opts.more || !opts.first ? "beyond" : "unknown";
    const list = items().filter((el) => el !== old);
    if (opts.more && list[list.length - 1] === prev) return "beyond"; // after the loaded ones
  }
  if (old) {
    const list = items();
    const before = list[list.indexOf(old) - 1] || null;
    if (before === prev) {
      old.replaceWith(fresh); // same place: keeps the page still
      return "placed";
    }
    old.remove();
  }
  if (prev) prev.after(fresh);
  else {
    const firstItem = items()[0];
    if (firstItem) firstItem.before(fresh);
    else if (opts.tail && opts.tail.parentElement === container) opts.tail.before(fresh);
    else container.appendChild(fresh);
  }
  return "placed";
}

function removeEverywhere(root, selector) {
  let n = 0;
  for (const el of root.querySelectorAll(selector)) {
    if (el.classList.contains("dragging")) continue; // this tab is dragging it: its drop decides
    el.remove();
    n += 1;
  }
  return n;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

// --- gallery -----------------------------------------------------------------------------------

function gallery(root, msg) {
  let unknown = false;
  for (const id of msg.gone || []) removeEverywhere(root, `.vcard${byAttr("data-id", id)}`);
  for (const card of msg.cards || []) {
    const fresh = fromHTML(card.html);
    const more = !!root.querySelector(":scope > .more-sentinel");
    const result = place(root, fresh, card.id, card.after, {
      attr: "data-id",
      item: ".vcard",
      more,
      first: true,
      tail: root.querySelector(":scope > .more-sentinel"),
    });
    if (result === "placed") {
      const empty = root.querySelector(".empty-note");
      if (empty) empty.remove();
      activate(fresh);
      flash(fresh);
    } else {
      removeEverywhere(root, `.vcard${byAttr("data-id", card.id)}`);
      if (result === "unknown") unknown = true;
    }
  }
  const total = document.getElementById("view-total");
  if (total && msg.total) total.textContent = `${msg.total.estimated ? "≈ " : ""}${plural(msg.total.count, "record")}`;
  return !unknown;
}

// --- kanban ------------------------------------------------------------------------------------

function kanban(root, msg) {
  let unknown = false;
  for (const id of msg.gone || []) removeEverywhere(root, `.vcard${byAttr("data-id", id)}`);
  for (const card of msg.cards || []) {
    if (root.querySelector(`.vcard.dragging${byAttr("data-id", card.id)}`)) continue; // its drop decides
    const fresh = fromHTML(card.html);
    const list = root.querySelector(`.stack-cards${byAttr("data-stack", card.stack)}`);
    // Out of every other stack first: the card moved.
    for (const el of root.querySelectorAll(`.vcard${byAttr("data-id", card.id)}`)) {
      if (el.parentElement !== list && !el.classList.contains("dragging")) el.remove();
    }
    if (!list) {
      // Its stack is collapsed or hidden here; or, stacked by values, one this page lacks.
      const known = `.stack${byAttr("data-stack", card.stack)}, .hidden-stack${byAttr("data-stack", card.stack)}`;
      if (root.dataset.openStacks && !root.querySelector(known)) unknown = true;
      continue;
    }
    const showMore = list.querySelector(":scope > .show-more");
    const result = place(list, fresh, card.id, card.after, {
      attr: "data-id",
      item: ".vcard",
      more: !!showMore,
      first: true,
      tail: showMore,
    });
    if (result === "placed") {
      activate(fresh);
      flash(fresh);
    } else {
      removeEverywhere(list, `.vcard${byAttr("data-id", card.id)}`);
      if (result === "unknown") unknown = true;
    }
  }
  if (msg.counts) {
    for (const stack of root.querySelectorAll(".stack")) {
      const badge = stack.querySelector(".stack-count");
      const c = msg.counts[stack.dataset.stack] || { count: 0, estimated: false };
      if (badge) badge.textContent = `${c.estimated ? "≈ " : ""}${c.count}`;
    }
  }
  return !unknown;
}

// --- calendar ----------------------------------------------------------------------------------

function undatedCount(delta) {
  const badge = document.getElementById("undated-count");
  if (!badge || badge.dataset.more) return;
  badge.textContent = String(Math.max(0, parseInt(badge.textContent, 10) + delta));
}

function insertSorted(day, chip) {
  const sort = chip.dataset.sort || "";
  for (const other of day.querySelectorAll(":scope > .cal-chip")) {
    if ((other.dataset.sort || "") > sort) {
      other.before(chip);
      return;
    }
  }
  day.appendChild(chip);
}

function calendar(root, msg) {
  const undated = document.querySelector(".undated-list");
  const dropChips = (id) => {
    const sel = `.cal-chip${byAttr("data-id", id)}`;
    if (undated && undated.querySelector(sel)) undatedCount(-1);
    removeEverywhere(root, sel);
    if (undated) removeEverywhere(undated, sel);
  };
  for (const id of msg.gone || []) dropChips(id);
  for (const chip of msg.chips || []) {
    dropChips(chip.id);
    if (!chip.days.length) {
      const badge = document.getElementById("undated-count");
      if (!undated || (badge && badge.dataset.more)) continue; // beyond the listed ones
      const fresh = fromHTML(chip.html);
      undated.appendChild(fresh);
      const empty = document.querySelector(".undated-empty");
      if (empty) empty.remove();
      undatedCount(1);
      activate(fresh);
      flash(fresh);
      continue;
    }
    const cells = chip.days.map((d) => root.querySelector(`.cal-day${byAttr("data-date", d)}`));
    const drawn = cells.filter(Boolean);
    cells.forEach((cell, i) => {
      if (!cell) return;
      const fresh = fromHTML(chip.html);
      if (i > 0) {
        fresh.classList.add("cont");
        fresh.removeAttribute("draggable");
        const time = fresh.querySelector(".cal-time");
        if (time) time.remove();
      }
      if (cell !== drawn[drawn.length - 1]) fresh.classList.add("more");
      insertSorted(cell, fresh);
      activate(fresh);
      flash(fresh);
    });
  }
  return true;
}

// --- entry points ------------------------------------------------------------------------------

// A `cards` message on a gallery, kanban or calendar page. Returns false when a refresh should
// be offered (the page cannot place something, or the server said so).
export function applyCards(msg) {
  if (msg.refresh) return false;
  const g = document.getElementById("gallery");
  if (g) return gallery(g, msg);
  const k = document.getElementById("kanban");
  if (k) return kanban(k, msg);
  const c = document.getElementById("calendar");
  if (c) return calendar(c, msg);
  return true;
}

// A `shared.rows` message on a shared view's page.
export function applySharedRows(msg) {
  if (msg.refresh) return false;
  const table = document.getElementById("share-grid");
  if (!table) return true;
  const body = table.tBodies[0];
  let unknown = false;
  for (const key of msg.gone || []) removeEverywhere(body, `tr${byAttr("data-key", key)}`);
  for (const row of msg.rows || []) {
    const holder = document.createElement("tbody");
    holder.innerHTML = row.html;
    const fresh = holder.firstElementChild;
    const result = place(body, fresh, row.key, row.after, {
      attr: "data-key",
      item: "tr[data-key]",
      more: !!table.dataset.more,
      first: !!table.dataset.first,
    });
    if (result === "placed") {
      const empty = body.querySelector("tr.share-empty");
      if (empty) empty.remove();
      flash(fresh);
    } else {
      removeEverywhere(body, `tr${byAttr("data-key", row.key)}`);
      if (result === "unknown") unknown = true;
    }
  }
  const total = document.getElementById("share-total");
  if (total && msg.total && msg.total.count !== null && msg.total.count !== undefined) {
    total.textContent = `${msg.total.count}${msg.total.estimated ? " (about)" : ""} rows`;
  }
  return !unknown;
}

// `cards.ordered`: someone dragged cards within kanban stacks. The remembered ones go first, in
// that order, the others keep theirs after them (as the server orders a stack's first page).
export function applyOrder(msg) {
  const board = document.getElementById("kanban");
  if (!board) return;
  for (const [stack, ids] of Object.entries(msg.orders || {})) {
    const list = board.querySelector(`.stack-cards${byAttr("data-stack", stack)}`);
    if (!list) continue;
    const cards = Array.from(list.querySelectorAll(":scope > .vcard"));
    if (cards.some((c) => c.classList.contains("dragging"))) continue; // this tab is dragging
    const rank = new Map(ids.map((id, i) => [String(id), i]));
    const sorted = cards
      .map((card, i) => ({ card, i, r: rank.has(card.dataset.id) ? rank.get(card.dataset.id) : ids.length + i }))
      .sort((a, b) => a.r - b.r)
      .map((x) => x.card);
    if (sorted.every((card, i) => card === cards[i])) continue;
    const anchor = list.querySelector(":scope > .show-more");
    for (const card of sorted) list.insertBefore(card, anchor);
  }
}
