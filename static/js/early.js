// Loaded first and not deferred (templates/layout.html). htmx wires the page's forms when the
// document has been parsed; on a long page a quick user can submit an htmx form before that,
// and the browser would send it as a plain GET to the page itself: the click is lost and the
// typed values land in the address bar. Such submits are held here and replayed through htmx
// as soon as it has wired the page.
(function () {
  "use strict";
  var HX = "[hx-post],[hx-get],[hx-put],[hx-patch],[hx-delete]";
  var parsed = false; // our DOMContentLoaded listener has run: htmx's (registered later) runs next
  var held = new Map(); // form -> the button that submitted it (or null)

  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!form.matches || !form.matches(HX)) return;
      // Once the document is parsed and htmx is here, htmx has wired the forms (its listener
      // runs in the same dispatch as ours, before any later event): it sends this submit
      // itself, whatever preventDefault says — holding it too would send it twice.
      if (parsed && window.htmx) return;
      event.preventDefault();
      if (!held.has(form)) held.set(form, event.submitter || null);
    },
    true
  );

  document.addEventListener("DOMContentLoaded", function () {
    parsed = true;
    // A task later htmx's own DOMContentLoaded listener has processed the document.
    setTimeout(function () {
      var waiting = held;
      held = new Map();
      waiting.forEach(function (button, form) {
        if (!form.isConnected) return;
        // A click on the button that submitted it: htmx learns the button from the click and
        // sends its name and value ("Hide all", "Remove condition"...), which requestSubmit
        // would not tell it.
        if (button && button.isConnected && button.form === form) button.click();
        else form.requestSubmit();
      });
    }, 0);
  });
})();
