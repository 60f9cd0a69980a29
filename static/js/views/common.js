// Shared by the gallery, kanban and calendar pages: the expanded-row modal (its form comes
// from the grid's row_expand endpoint), reloads after toolbar changes, and a small POST helper.

const modal = document.getElementById("grid-modal");
let changed = false;

export function csrf() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  } catch {
    return "";
  }
}

// POST form fields (arrays repeat the key); resolves to the JSON answer or throws its message.
export async function post(url, fields) {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) {
    for (const item of Array.isArray(v) ? v : [v]) body.append(k, item);
  }
  const res = await fetch(url, {
    method: "POST",
    headers: { "X-CSRFToken": csrf(), "Content-Type": "application/x-www-form-urlencoded" },
    body,
  });
  let data = {};
  try {
    data = await res.json();
  } catch {
    /* not JSON */
  }
  if (!res.ok) throw new Error(data.message || `The server refused (${res.status}).`);
  return data;
}

export function showError(message) {
  const box = document.getElementById("row-error");
  if (box) {
    box.textContent = message;
    box.classList.add("error");
  }
}

function openModal() {
  modal.hidden = false;
  modal.querySelectorAll("[data-expand=prev], [data-expand=next]").forEach((b) => (b.hidden = true));
  const first = modal.querySelector("input:not([type=hidden]), select, textarea");
  if (first) first.focus();
}

function closeModal() {
  modal.hidden = true;
  modal.querySelector(".grid-modal-box").innerHTML = "";
  if (changed) location.reload(); // the card or chip shows the saved values
}

if (modal) {
  document.body.addEventListener("htmx:afterSwap", (e) => {
    if (e.detail.target.closest && e.detail.target.closest("#grid-modal")) openModal();
  });
  document.body.addEventListener("htmx:afterRequest", (e) => {
    const form = e.detail.elt;
    if (form.closest && form.closest("#grid-modal") && e.detail.requestConfig.verb === "post") {
      changed = true;
    }
  });
  modal.addEventListener("click", (e) => {
    if (e.target === modal || e.target.closest("[data-expand=close]")) closeModal();
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !modal.hidden) closeModal();
  });
}

// The toolbar saved a filter, sort or field change, or the search changed: show it.
document.body.addEventListener("grid:reload", (e) => {
  const url = new URL(location.href);
  const q = e.detail && typeof e.detail.q === "string" ? e.detail.q : null;
  if (q !== null) {
    if (q) url.searchParams.set("q", q);
    else url.searchParams.delete("q");
  }
  location.assign(url.toString());
});

// A refused htmx request (adding a card or a record): say why instead of doing nothing.
document.body.addEventListener("htmx:responseError", (e) => {
  const text = (e.detail.xhr.responseText || "").replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
  showError(text.slice(0, 300) || `The server refused (${e.detail.xhr.status}).`);
});

// A cover URL that is not an image (or is gone): the card shows the empty cover instead of a
// broken-image icon.
document.addEventListener(
  "error",
  (e) => {
    const img = e.target;
    if (img.tagName !== "IMG" || !img.closest(".vcard-cover")) return;
    const none = document.createElement("span");
    none.className = "vcard-nocover";
    none.setAttribute("aria-hidden", "true");
    none.textContent = "▨";
    img.replaceWith(none);
  },
  true,
);

// The keyboard's alternative to dragging: M (or the context-menu key) on a focused card or
// chip opens a small "Move to…" menu of `items` ({label, run}) beside it; arrows move through
// it, Enter chooses, Esc closes and gives the focus back. `extra` (optional) is an element
// placed above the items (the calendar's date input).
export function moveMenu(anchor, title, items, extra = null) {
  document.querySelectorAll(".move-menu").forEach((m) => m.remove());
  const menu = document.createElement("div");
  menu.className = "move-menu";
  menu.setAttribute("role", "menu");
  menu.setAttribute("aria-label", title);
  const head = document.createElement("p");
  head.className = "muted small";
  head.textContent = title;
  menu.appendChild(head);
  if (extra) menu.appendChild(extra);
  const close = () => {
    menu.remove();
    anchor.focus();
  };
  for (const item of items) {
    const button = document.createElement("button");
    button.type = "button";
    button.setAttribute("role", "menuitem");
    button.textContent = item.label;
    button.disabled = Boolean(item.current);
    button.addEventListener("click", async () => {
      menu.remove();
      await item.run();
    });
    menu.appendChild(button);
  }
  menu.addEventListener("keydown", (e) => {
    const buttons = [...menu.querySelectorAll("button:not([disabled])")];
    const i = buttons.indexOf(document.activeElement);
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      close();
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const next = e.key === "ArrowDown" ? i + 1 : i - 1;
      buttons[(next + buttons.length) % buttons.length].focus();
    }
  });
  menu.addEventListener("focusout", () => {
    setTimeout(() => {
      if (menu.isConnected && !menu.contains(document.activeElement)) menu.remove();
    }, 0);
  });
  // Fixed beside the anchor (a stack or a day may clip what overflows it), kept on screen.
  document.body.appendChild(menu);
  const box = anchor.getBoundingClientRect();
  const width = menu.offsetWidth;
  const height = menu.offsetHeight;
  const left = Math.max(4, Math.min(box.left, window.innerWidth - width - 4));
  const below = box.bottom + 4 + height <= window.innerHeight;
  menu.style.left = `${left}px`;
  menu.style.top = `${Math.max(4, below ? box.bottom + 4 : box.top - height - 4)}px`;
  const first = menu.querySelector("input, button:not([disabled])");
  if (first) first.focus();
  return menu;
}

// Whether a keydown asks for the move menu.
export function wantsMove(e) {
  return (e.key === "m" || e.key === "M" || e.key === "ContextMenu") && !e.ctrlKey && !e.metaKey && !e.altKey;
}

// A card's field cut short by the card's width shows in full on hover.
document.addEventListener("mouseover", (e) => {
  const dd = e.target.closest && e.target.closest(".vcard-fields dd, .vcard-title");
  if (!dd) return;
  if (dd.scrollWidth > dd.clientWidth + 1) dd.title = (dd.textContent || "").trim().slice(0, 2000);
  else dd.removeAttribute("title");
});
