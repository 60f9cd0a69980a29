// Drag and drop glue: HTML5 drag events for mouse, pointer events for touch (a finger drags
// the card's handle; the element under the finger on release is the drop target).

export function draggable(root, selector, { start, over, drop, end }) {
  let dragged = null;
  root.addEventListener("dragstart", (e) => {
    const el = e.target.closest && e.target.closest(selector);
    if (!el || !root.contains(el)) return;
    dragged = el;
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", el.dataset.id || "");
    el.classList.add("dragging");
    if (start) start(el);
  });
  root.addEventListener("dragover", (e) => {
    if (!dragged) return;
    if (over(dragged, e.target, e.clientX, e.clientY)) e.preventDefault();
  });
  root.addEventListener("drop", (e) => {
    if (!dragged) return;
    e.preventDefault();
    drop(dragged, e.target, e.clientX, e.clientY);
  });
  root.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    if (end) end(dragged);
    dragged = null;
  });

  // Touch: long-press free, the handle (or the element) follows the finger.
  root.addEventListener("pointerdown", (e) => {
    if (e.pointerType !== "touch") return;
    const el = e.target.closest && e.target.closest(selector);
    if (!el || el.getAttribute("draggable") !== "true") return;
    e.preventDefault();
    dragged = el;
    el.classList.add("dragging");
    if (start) start(el);
    const ghost = el.cloneNode(true);
    ghost.classList.add("drag-ghost");
    ghost.style.width = `${el.offsetWidth}px`;
    document.body.appendChild(ghost);
    const move = (ev) => {
      ghost.style.transform = `translate(${ev.clientX + 4}px, ${ev.clientY + 4}px)`;
      const under = document.elementFromPoint(ev.clientX, ev.clientY);
      if (under) over(dragged, under, ev.clientX, ev.clientY);
    };
    const up = (ev) => {
      document.removeEventListener("pointermove", move);
      document.removeEventListener("pointerup", up);
      ghost.remove();
      const under = document.elementFromPoint(ev.clientX, ev.clientY);
      if (under && root.contains(under)) drop(dragged, under, ev.clientX, ev.clientY);
      dragged.classList.remove("dragging");
      if (end) end(dragged);
      dragged = null;
    };
    move(e);
    document.addEventListener("pointermove", move);
    document.addEventListener("pointerup", up);
  });
}
