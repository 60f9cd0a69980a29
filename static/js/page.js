// What templates would otherwise say inline. The Content-Security-Policy (nocoplatform/csp.py)
// runs no `on…=` handler, no inline script, no htmx expression (`keyup[key=='Enter']` is
// eval) and applies no `style=` attribute, so pages declare these with data attributes:
//   <form data-confirm="Revoke it?">   asks before it is sent (Cancel: not sent)
//   <form data-no-submit>              never sent by the browser (a script handles it)
//   <input data-select-on-click>       a click selects the whole text (links to copy)
//   <input type=checkbox data-check-all>  ticks or clears the other boxes of its form
//   hx-trigger="keyup-enter"           htmx events for keys: keydown-enter, keyup-enter,
//                                      keyup-escape, fired on the element that had the key
//   data-bg, data-stack-color, data-width-px, data-row-px   style values (colours, sizes)
// Loaded in <head>, not deferred (templates/layout.html): a form is guarded, and the style of
// every element is set, before the page can be used or even painted.
(function () {
  "use strict";

  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!form.hasAttribute) return;
      if (form.hasAttribute("data-no-submit")) {
        event.preventDefault();
        return;
      }
      var question = form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) {
        event.preventDefault();
        event.stopImmediatePropagation(); // nor htmx, nor early.js, may send it
      }
    },
    true
  );

  document.addEventListener("click", function (event) {
    var el = event.target;
    if (el.matches && el.matches("input[data-select-on-click]")) el.select();
  });

  // <input type="checkbox" data-check-all> in a form ticks or clears the form's other boxes.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!el.matches || !el.matches("input[data-check-all]") || !el.form) return;
    var boxes = el.form.querySelectorAll('input[type="checkbox"]:not([data-check-all])');
    for (var i = 0; i < boxes.length; i++) boxes[i].checked = el.checked;
  });

  var KEYS = { Enter: "enter", Escape: "escape" };
  function relayKey(event) {
    var name = KEYS[event.key];
    if (!name || event.isComposing) return;
    event.target.dispatchEvent(
      new CustomEvent(event.type + "-" + name, { bubbles: true, cancelable: true })
    );
  }
  document.addEventListener("keydown", relayKey);
  document.addEventListener("keyup", relayKey);

  // Style values, set through the CSSOM (which the policy allows): a colour or size the
  // CSSOM does not accept is dropped, it cannot add other declarations.
  var PX = /^\d{1,5}$/;
  var STYLES = {
    "data-bg": function (el, v) {
      el.style.background = v;
    },
    "data-stack-color": function (el, v) {
      el.style.setProperty("--stack-color", v);
    },
    "data-width-px": function (el, v) {
      if (PX.test(v)) el.style.width = v + "px";
    },
    "data-row-px": function (el, v) {
      if (PX.test(v)) el.style.setProperty("--row-h", v + "px");
    },
  };
  var NAMES = Object.keys(STYLES);
  var SELECTOR = NAMES.map(function (n) {
    return "[" + n + "]";
  }).join(",");

  function styleOne(el) {
    for (var i = 0; i < NAMES.length; i++) {
      var v = el.getAttribute(NAMES[i]);
      if (v !== null) STYLES[NAMES[i]](el, v);
    }
  }
  function styleTree(node) {
    if (node.nodeType !== 1) return;
    if (node.matches(SELECTOR)) styleOne(node);
    var inner = node.querySelectorAll(SELECTOR);
    for (var i = 0; i < inner.length; i++) styleOne(inner[i]);
  }
  // Every element added to the document — parsed, swapped in by htmx, or inserted by the
  // grid's scripts — is styled before the next paint (observers run as microtasks).
  new MutationObserver(function (records) {
    for (var r = 0; r < records.length; r++) {
      var added = records[r].addedNodes;
      for (var i = 0; i < added.length; i++) styleTree(added[i]);
    }
  }).observe(document.documentElement, { childList: true, subtree: true });
})();
