// Swagger UI for one base's document; "Try it out" runs with the session, so send the CSRF token.
(function () {
  const el = document.getElementById("swagger");
  const csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1];
  window.SwaggerUIBundle({
    url: el.dataset.spec,
    domNode: el,
    deepLinking: true,
    requestInterceptor: (req) => {
      if (csrf) req.headers["X-CSRFToken"] = decodeURIComponent(csrf);
      return req;
    },
  });
})();
