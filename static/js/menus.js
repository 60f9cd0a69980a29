// Menus built on <details class="menu">: one open at a time; a click outside or Esc closes them.
// (Without JavaScript they still open and close by clicking their summary.) Also: buttons with
// data-copy="<selector>" copy that element's text (the new API token).
(function () {
  if (window.__menusReady) return;
  window.__menusReady = true;
  const open = () => document.querySelectorAll("details.menu[open]");
  document.addEventListener("click", (event) => {
    const inside = event.target.closest && event.target.closest("details.menu");
    open().forEach((d) => {
      if (d !== inside && !d.contains(inside)) d.removeAttribute("open");
    });
  });
  document.addEventListener("click", async (event) => {
    const button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    const source = document.querySelector(button.dataset.copy);
    if (!source) return;
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = "Copied ✓";
    } catch (err) {
      const range = document.createRange(); // no clipboard access: select it for Ctrl+C
      range.selectNodeContents(source);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      button.textContent = "Selected — press Ctrl+C";
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const all = [...open()];
    if (!all.length) return;
    const last = all[all.length - 1];
    last.removeAttribute("open");
    const summary = last.querySelector("summary");
    if (summary) summary.focus();
  });
})();
