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

  // Touch: a finger on the handle (cards) or on the element (calendar chips) drags it once it
  // has moved a few pixels; a tap stays a tap (it opens the record).
  root.addEventListener("pointerdown", (e) => {
    if (e.pointerType !== "touch") return;
    const el = e.target.closest && e.target.closest(selector);
    if (!el || el.getAttribute("draggable") !== "true") return;
    if (el.querySelector(".drag-handle") && !e.target.closest(".drag-handle")) return;
    e.preventDefault();
    const x0 = e.clientX;
    const y0 = e.clientY;
    let ghost = null;
    const move = (ev) => {
      if (!ghost) {
        if (Math.hypot(ev.clientX - x0, ev.clientY - y0) < 6) return;
        dragged = el;
        el.classList.add("dragging");
        if (start) start(el);
        ghost = el.cloneNode(true);
        ghost.classList.add("drag-ghost");
        ghost.style.width = `${el.offsetWidth}px`;
        document.body.appendChild(ghost);
      }
      ghost.style.transform = `translate(${ev.clientX + 4}px, ${ev.clientY + 4}px)`;
      const under = document.elementFromPoint(ev.clientX, ev.clientY);
      if (under) over(dragged, under, ev.clientX, ev.clientY);
    };
    const up = (ev) => {
      document.removeEventListener("pointermove", move);
      document.removeEventListener("pointerup", up);
      document.removeEventListener("pointercancel", up);
      if (!ghost) return; // a tap
      ghost.remove();
      const under = document.elementFromPoint(ev.clientX, ev.clientY);
      if (ev.type === "pointerup" && under && root.contains(under)) {
        drop(dragged, under, ev.clientX, ev.clientY);
      }
      dragged.classList.remove("dragging");
      if (end) end(dragged);
      dragged = null;
    };
    document.addEventListener("pointermove", move);
    document.addEventListener("pointerup", up);
    document.addEventListener("pointercancel", up);
  });
}
