// Swagger UI for one base's document; "Try it out" runs with the session, so send the CSRF token.
(function () {
  const el = document.getElementById("swagger");
  const csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1];
  window.SwaggerUIBundle({
    url: el.dataset.spec,
    domNode: el,
    deepLinking: true,
    // No badge image from the public validator (it would send the document's URL there).
    validatorUrl: null,
    requestInterceptor: (req) => {
      if (csrf) req.headers["X-CSRFToken"] = decodeURIComponent(csrf);
      return req;
    },
  });
})();
