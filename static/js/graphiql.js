// GraphiQL for one base's GraphQL endpoint; it runs with the session, so send the CSRF token.
(function () {
  const el = document.getElementById("graphiql");
  const csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1];
  const fetcher = window.GraphiQL.createFetcher({
    url: el.dataset.endpoint,
    headers: csrf ? { "X-CSRFToken": decodeURIComponent(csrf) } : {},
  });
  window.ReactDOM.createRoot(el).render(
    window.React.createElement(window.GraphiQL, { fetcher: fetcher })
  );
})();
