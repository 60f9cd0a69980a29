// Public forms: a field with a condition ("show only when <field above> has a value / equals
// <value>") is shown while its condition holds. The server decides again on submit
// (views/form_view.py::visibility): a hidden field's value is ignored, so this is comfort only.
(function () {
  "use strict";

  function textOf(form, id) {
    const inputs = Array.from(form.elements).filter((el) => el.name === id);
    if (!inputs.length) return "";
    const input = inputs[inputs.length - 1];
    if (input.type === "checkbox") return input.checked ? "true" : "false";
    if (input.multiple) return Array.from(input.selectedOptions).map((o) => o.value).join(",");
    if (input.type === "file") return input.files && input.files.length ? "file" : "";
    return (input.value || "").trim();
  }

  function holds(box, form, shown) {
    const target = box.dataset.showField;
    if (!target) return true;
    if (shown[target] === false) return false;
    const text = textOf(form, target);
    if (box.dataset.showOp === "eq") {
      const want = box.dataset.showValue || "";
      return text === want || text.split(",").map((v) => v.trim()).includes(want);
    }
    return text !== "" && text !== "false";
  }

  function update(form) {
    const shown = {};
    form.querySelectorAll(".form-field[data-id]").forEach((box) => {
      const ok = holds(box, form, shown);
      shown[box.dataset.id] = ok;
      box.hidden = !ok;
    });
  }

  function wire() {
    document.querySelectorAll(".public-form form").forEach((form) => {
      if (!form.querySelector(".form-field[data-show-field]")) return;
      form.addEventListener("input", () => update(form));
      form.addEventListener("change", () => update(form));
      update(form);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wire);
  else wire();
})();
