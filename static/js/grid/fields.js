// Fields from the grid (views/grid/fields.py): the "+" at the end of the header row opens the
// add-field panel in a dialog; a column's header menu (its ▾, or a click on the header) renames,
// edits or deletes the field. Only on pages of people who may change fields (the markup is
// not rendered for others). Works on the flat and the grouped grid: it needs no Grid object.

const dialog = document.getElementById("field-dialog");
const menu = document.getElementById("field-menu");

function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  } catch (err) {
    return "";
  }
}

// --- the panel ------------------------------------------------------------------------------
async function openPanel(url) {
  const box = dialog.querySelector(".field-dialog-box");
  // As htmx asks: a refusal comes back as a fragment (views/error_partial.html), not a page.
  const response = await fetch(url, { headers: { "HX-Request": "true" } });
  box.innerHTML = await response.text();
  if (window.htmx) window.htmx.process(box);
  if (!dialog.open) dialog.showModal();
  setUp(box);
}

const ui = (form) => {
  const checked = form.querySelector("input[name=uidt]:checked");
  return checked ? checked.dataset.ui || "" : "";
};
const names = (el, key) => (el.dataset[key] || "").split(" ").filter(Boolean);

// Show the settings of the chosen type (and, for lookups and rollups, the fields of the chosen
// link's table); disable every input that is hidden, so only what is shown is posted.
function sync(form) {
  const kind = ui(form);
  for (const part of form.querySelectorAll("[data-opts]")) {
    part.hidden = !names(part, "opts").includes(kind);
  }
  for (const part of form.querySelectorAll("[data-only]")) {
    part.hidden = !names(part, "only").includes(kind);
  }
  const link = form.querySelector("[data-link-select]");
  for (const select of form.querySelectorAll("[data-link-of]")) {
    select.hidden = !link || select.dataset.linkOf !== link.value;
  }
  for (const input of form.querySelectorAll("[data-opts] input, [data-opts] select, [data-opts] textarea")) {
    input.disabled = Boolean(input.closest("[hidden]"));
  }
}

function setUp(box) {
  const form = box.querySelector("[data-field-panel]");
  if (!form) return;
  sync(form);
  form.addEventListener("change", () => sync(form));
  form.addEventListener("click", (event) => {
    const name = event.target.closest("[data-insert]");
    if (!name) return;
    const area = form.querySelector("textarea[name=formula_raw]");
    const text = `{${name.dataset.insert}}`;
    const at = area.selectionStart ?? area.value.length;
    area.setRangeText(text, at, area.selectionEnd ?? at, "end");
    area.focus();
  });
  const formula = form.querySelector("[data-error-at]");
  const title = form.querySelector("#fp-title");
  if (formula && !formula.closest("[hidden]")) {
    // The server's error position: the character it names is selected, the text kept.
    const at = Number(formula.dataset.errorAt);
    formula.focus();
    formula.setSelectionRange(at, Math.min(formula.value.length, at + 1));
  } else if (title) {
    title.focus();
    if (!form.querySelector(".fp-error")) title.select();
  }
}

document.addEventListener("click", (event) => {
  if (event.target.closest("[data-field-action=add]")) {
    event.preventDefault();
    closeMenu();
    openPanel(dialog.dataset.panelUrl);
  } else if (event.target.closest("[data-field-close]")) {
    dialog.close();
  }
});
// The panel comes back from a refused post with the message: set it up again.
dialog.addEventListener("htmx:afterSwap", () => setUp(dialog.querySelector(".field-dialog-box")));
dialog.addEventListener("click", (event) => {
  if (event.target === dialog) dialog.close(); // the backdrop
});
if (dialog.hasAttribute("data-open")) {
  dialog.showModal();
  setUp(dialog.querySelector(".field-dialog-box"));
}

// --- the header menu ------------------------------------------------------------------------
let current = null; // the ▾ button of the field the menu is open for

function closeMenu() {
  if (menu.hidden) return;
  menu.hidden = true;
  if (current) current.setAttribute("aria-expanded", "false");
  current = null;
}

function openMenu(button) {
  current = button;
  button.setAttribute("aria-expanded", "true");
  menu.querySelector(".fm-info").textContent = button.dataset.info || "";
  const rename = menu.querySelector(".fm-rename");
  rename.hidden = true;
  const error = menu.querySelector(".fm-error");
  error.hidden = true;
  error.textContent = "";
  for (const item of menu.querySelectorAll("button[data-fm]")) item.hidden = item.dataset.fm === "delete" && !button.dataset.deletable;
  menu.hidden = false;
  const box = button.closest("th").getBoundingClientRect();
  const left = Math.min(box.left, window.innerWidth - menu.offsetWidth - 8);
  menu.style.left = `${Math.max(8, left)}px`;
  menu.style.top = `${box.bottom + 2}px`;
  menu.querySelector("button[data-fm]").focus();
}

const fieldUrl = (template, id) => template.replace("FIELD", encodeURIComponent(id));

function showRename() {
  for (const item of menu.querySelectorAll("button[data-fm]")) item.hidden = true;
  const form = menu.querySelector(".fm-rename");
  form.hidden = false;
  const input = form.querySelector("input");
  input.value = current.dataset.title;
  input.focus();
  input.select();
}

async function rename(form) {
  const error = menu.querySelector(".fm-error");
  const body = new FormData();
  body.set("title", form.querySelector("input").value);
  const response = await fetch(fieldUrl(dialog.dataset.editUrl, current.dataset.fieldMenu), {
    method: "POST",
    headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    body,
  });
  let data = {};
  try {
    data = await response.json();
  } catch (err) {
    /* not JSON */
  }
  if (!response.ok) {
    error.textContent = data.message || `The field was not renamed (${response.status}).`;
    error.hidden = false;
    return;
  }
  window.location.reload();
}

// Delete: a real form post (bases/pages.py field_delete), confirmed first (static/js/page.js).
function remove() {
  const form = document.createElement("form");
  form.method = "post";
  form.action = fieldUrl(dialog.dataset.deleteUrl, current.dataset.fieldMenu);
  form.dataset.confirm = `Delete the field “${current.dataset.title}” and all its values? This cannot be undone.`;
  const token = document.createElement("input");
  token.type = "hidden";
  token.name = "csrfmiddlewaretoken";
  token.value = csrfToken();
  form.append(token);
  document.body.append(form);
  closeMenu();
  let sent = false; // page.js stops the event before it reaches the form when cancelled
  form.addEventListener("submit", (event) => {
    sent = !event.defaultPrevented;
  });
  form.requestSubmit();
  if (!sent) form.remove();
}

// A drag of a column's edge (layout.js) ends with a click on the header: not a menu request.
let resizing = false;
document.addEventListener("mousedown", (event) => {
  resizing = Boolean(event.target.closest && event.target.closest(".resize"));
}, true);

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-field-menu]");
  const th = !button && !resizing && event.target.closest("table.grid thead th[data-f]");
  const opener = button || (th && th.querySelector("[data-field-menu]"));
  if (opener) {
    event.preventDefault();
    if (current === opener) closeMenu();
    else openMenu(opener);
    return;
  }
  if (menu.hidden || menu.contains(event.target)) return;
  closeMenu();
});

menu.addEventListener("click", (event) => {
  const item = event.target.closest("button[data-fm]");
  if (!item || !current) return;
  const action = item.dataset.fm;
  if (action === "rename") showRename();
  else if (action === "edit") {
    const id = current.dataset.fieldMenu;
    closeMenu();
    openPanel(`${dialog.dataset.panelUrl}?field=${encodeURIComponent(id)}`);
  } else if (action === "delete") remove();
});
menu.querySelector(".fm-rename").addEventListener("submit", (event) => {
  event.preventDefault();
  rename(event.target);
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !menu.hidden) {
    const opener = current;
    closeMenu();
    if (opener) opener.focus();
  }
});
window.addEventListener("resize", closeMenu);
// The menu is placed under its header in the window: scrolling would leave it behind.
document.addEventListener("scroll", (event) => {
  if (!menu.contains(event.target)) closeMenu();
}, true);
