// The table page's toolbar glue. The server renders and validates everything; this file only
// (1) turns the filter builder's rows into the JSON tree it posts, (2) keeps the temporary
// search in the page URL (?q=) and asks the grid to reload, (3) adds that search to the
// requests of the footer and grouped grid, (5) drags view tabs to reorder.
(function () {
  if (window.__toolbarReady) return;
  window.__toolbarReady = true;

  const currentQ = () => new URLSearchParams(location.search).get("q") || "";

  // ---- (1) filter builder: DOM -> tree
  function readCondition(el) {
    const field = el.querySelector(":scope > [data-fb-field]");
    const op = el.querySelector(":scope > [data-fb-op]");
    const v1 = el.querySelector(":scope > [data-fb-value]");
    const v2 = el.querySelector(":scope > [data-fb-value2]");
    const arity = el.dataset.arity;
    const choices = el.querySelector(":scope > [data-fb-choices]");
    let value = null;
    if (choices) {
      value = [...choices.querySelectorAll("input:checked")].map((box) => box.value);
      return { type: "condition", field: field ? field.value : "", op: op ? op.value : "", value };
    }
    if (arity === "one") value = v1 ? v1.value : "";
    else if (arity === "list") {
      if (el.hasAttribute("data-between")) value = [v1 ? v1.value : "", v2 ? v2.value : ""];
      else value = (v1 ? v1.value : "").split(",").map((s) => s.trim()).filter((s) => s !== "");
    }
    return { type: "condition", field: field ? field.value : "", op: op ? op.value : "", value };
  }

  function readGroup(el) {
    const logic = el.querySelector(":scope > .fb-head [data-fb-logic]");
    const not = el.querySelector(":scope > .fb-head [data-fb-not]");
    const children = [];
    el.querySelectorAll(":scope > .fb-children > .fb-row").forEach((row) => {
      const group = row.querySelector(":scope > [data-fb-group]");
      const cond = row.querySelector(":scope > [data-fb-cond]");
      if (group) children.push(readGroup(group));
      else if (cond) children.push(readCondition(cond));
    });
    return {
      type: "group",
      logic: logic ? logic.value : "and",
      not: !!(not && not.checked),
      children,
    };
  }

  document.body.addEventListener("htmx:configRequest", (event) => {
    const elt = event.detail.elt;
    const form = elt.closest && elt.closest("form[data-filter-form]");
    if (form) {
      const root = form.querySelector("[data-fb-group]");
      const params = event.detail.parameters;
      const action = params.get ? params.get("action") : params.action;
      const fresh = new FormData();
      fresh.set("tree", JSON.stringify(root ? readGroup(root) : { type: "group", children: [] }));
      if (action) fresh.set("action", action);
      event.detail.parameters = fresh;
      return;
    }
    // ---- (3) the temporary search goes along with footer / group requests
    if (elt.closest && elt.closest("[data-search-aware]")) {
      const q = currentQ();
      const params = event.detail.parameters;
      if (q) {
        if (params.set) params.set("q", q);
        else params.q = q;
      }
    }
  });

  // ---- (2) search: temporary, in the URL only
  let timer = null;
  document.addEventListener("input", (event) => {
    const input = event.target;
    if (!input.matches || !input.matches("form[data-grid-search] input[name=q]")) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      const q = input.value.trim();
      const url = new URL(location.href);
      if (q) url.searchParams.set("q", q);
      else url.searchParams.delete("q");
      history.replaceState(history.state, "", url);
      input.closest("form").classList.toggle("active", !!q);
      htmx.trigger(document.body, "grid:reload", { q });
    }, 300);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && event.target.matches && event.target.matches("form[data-grid-search] input[name=q]")) {
      if (event.target.value) {
        event.target.value = "";
        event.target.dispatchEvent(new Event("input", { bubbles: true }));
      }
    }
  });

  // (4) menus: static/js/menus.js (loaded on every page by layout.html).

  // ---- (5) view tabs: drag to reorder
  let dragged = null;
  document.addEventListener("dragstart", (event) => {
    const tab = event.target.closest && event.target.closest("#view-tabs li.tab[draggable]");
    if (!tab) return;
    dragged = tab;
    tab.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", tab.dataset.view);
  });
  document.addEventListener("dragover", (event) => {
    const over = event.target.closest && event.target.closest("#view-tabs li.tab");
    if (!dragged || !over || over === dragged) return;
    event.preventDefault();
    const box = over.getBoundingClientRect();
    const after = event.clientX > box.left + box.width / 2;
    over.parentNode.insertBefore(dragged, after ? over.nextSibling : over);
  });
  document.addEventListener("dragend", () => {
    if (!dragged) return;
    dragged.classList.remove("dragging");
    const nav = document.getElementById("view-tabs");
    dragged = null;
    if (!nav) return;
    const order = [...nav.querySelectorAll("li.tab")].map((li) => li.dataset.view);
    htmx.ajax("POST", nav.dataset.reorderUrl, {
      target: "#view-tabs",
      swap: "outerHTML",
      values: { order, current: nav.dataset.current || "" },
    });
  });
})();
