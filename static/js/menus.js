// Menus built on <details class="menu">: one open at a time; a click outside or Esc closes them.
// (Without JavaScript they still open and close by clicking their summary.)
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
