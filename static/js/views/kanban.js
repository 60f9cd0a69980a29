// Kanban: drag cards between and within stacks (saved through /views/<id>/move), drag stack
// headers to reorder stacks (saved as the view's stack_order). The server checks every move;
// without the right to edit the stack field no card is draggable.
import { csrf, moveMenu, post, showError, wantsMove } from "./common.js";
import { draggable } from "./dnd.js";

const board = document.getElementById("kanban");

function cardAfter(list, y) {
  // The first card whose middle is below the pointer: the dragged card goes before it.
  for (const card of list.querySelectorAll(".vcard:not(.dragging)")) {
    const box = card.getBoundingClientRect();
    if (y < box.top + box.height / 2) return card;
  }
  return null;
}

function count(stack, delta) {
  const badge = stack.querySelector(".stack-count");
  if (!badge || badge.textContent.includes("≈")) return;
  badge.textContent = String(Math.max(0, parseInt(badge.textContent, 10) + delta));
}

if (board && board.dataset.draggable) {
  let from = null;
  let placeholder = document.createElement("div");
  placeholder.className = "vcard-placeholder";
  draggable(board, ".vcard[draggable=true]", {
    start(card) {
      from = card.closest(".stack");
    },
    over(card, target, x, y) {
      const list = target.closest && target.closest(".stack-cards");
      if (!list) return false;
      const after = cardAfter(list, y);
      const more = list.querySelector(".show-more");
      list.insertBefore(placeholder, after || more || null);
      return true;
    },
    async drop(card, target) {
      const list = placeholder.parentElement || (target.closest && target.closest(".stack-cards"));
      if (!list) return;
      list.insertBefore(card, placeholder.parentElement ? placeholder : null);
      placeholder.remove();
      const stack = list.closest(".stack");
      if (stack !== from) {
        count(from, -1);
        count(stack, 1);
      }
      const order = [...list.querySelectorAll(".vcard")].map((c) => c.dataset.id);
      try {
        await post(board.dataset.moveUrl, { record: card.dataset.id, stack: list.dataset.stack, order });
      } catch (err) {
        showError(err.message);
        setTimeout(() => location.reload(), 1500);
      }
    },
    end() {
      placeholder.remove();
      from = null;
    },
  });
}

// Stack reordering (people who may change the view).
if (board && board.dataset.settingsUrl) {
  let dragging = null;
  board.addEventListener("dragstart", (e) => {
    const grip = e.target.closest && e.target.closest(".stack-grip");
    if (!grip) return;
    dragging = grip.closest(".stack");
    e.dataTransfer.setData("text/plain", dragging.dataset.stack);
    dragging.classList.add("dragging");
  });
  board.addEventListener("dragover", (e) => {
    if (!dragging) return;
    const stack = e.target.closest && e.target.closest(".stack");
    if (!stack || stack === dragging) return;
    e.preventDefault();
    const box = stack.getBoundingClientRect();
    board.insertBefore(dragging, e.clientX < box.left + box.width / 2 ? stack : stack.nextSibling);
  });
  board.addEventListener("dragend", async () => {
    if (!dragging) return;
    dragging.classList.remove("dragging");
    dragging = null;
    const order = [...board.querySelectorAll(".stack")].map((s) => s.dataset.stack);
    try {
      const res = await fetch(board.dataset.settingsUrl, {
        method: "POST",
        headers: { "X-CSRFToken": csrf() },
        body: new URLSearchParams(order.map((s) => ["stack_order", s])),
      });
      if (!res.ok) showError("The new stack order was not saved.");
    } catch {
      showError("The new stack order was not saved.");
    }
  });
}

// A card added from a stack's "+ Add a card" form: the form is emptied for the next one.
document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.detail.elt;
  if (event.detail.successful && form.matches && form.matches("form.stack-add")) form.reset();
});

// Without a mouse: M on a focused card offers the other stacks ("Move to…"); the card goes
// to the end of that stack's loaded cards, saved through the same /move as a drop.
if (board && board.dataset.draggable) {
  board.addEventListener("keydown", (e) => {
    const card = e.target.closest && e.target.closest(".vcard[draggable=true]");
    if (!card || e.target !== card || !wantsMove(e)) return;
    e.preventDefault();
    const from = card.closest(".stack");
    const items = [...board.querySelectorAll(".stack")].map((stack) => ({
      label: (stack.querySelector(".stack-title") || {}).textContent || stack.dataset.stack || "Uncategorized",
      current: stack === from,
      run: async () => {
        const list = stack.querySelector(".stack-cards");
        list.insertBefore(card, list.querySelector(".show-more"));
        count(from, -1);
        count(stack, 1);
        const order = [...list.querySelectorAll(".vcard")].map((c) => c.dataset.id);
        try {
          await post(board.dataset.moveUrl, { record: card.dataset.id, stack: list.dataset.stack, order });
          card.focus();
        } catch (err) {
          showError(err.message);
          setTimeout(() => location.reload(), 1500);
        }
      },
    }));
    moveMenu(card, "Move to…", items);
  });
}
