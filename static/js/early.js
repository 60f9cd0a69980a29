// Loaded first and not deferred (templates/layout.html). htmx wires the page's forms when the
// document has been parsed; on a long page a quick user can submit an htmx form before that,
// and the browser would send it as a plain GET to the page itself: the click is lost and the
// typed values land in the address bar. Such submits are held here and replayed through htmx
// as soon as it has wired the page.
(function () {
  "use strict";
  var HX = "[hx-post],[hx-get],[hx-put],[hx-patch],[hx-delete]";
  var wired = false;
  var held = [];

  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (wired || !form.matches || !form.matches(HX)) return;
      event.preventDefault();
      if (held.indexOf(form) < 0) held.push(form);
    },
    true
  );

  document.addEventListener("DOMContentLoaded", function () {
    // htmx processes the document in its own DOMContentLoaded listener, registered after
    // this one; a task later it has run.
    setTimeout(function () {
      wired = true;
      held.forEach(function (form) {
        if (form.isConnected) form.requestSubmit();
      });
      held = [];
    }, 0);
  });
})();
