"""Token-authenticated API requests skip the browser-session middleware.

A request carrying an API token (`xc-token` or `Authorization: Bearer`) to `/api/` is answered by
its DRF view straight after SecurityMiddleware: sessions, CSRF (DRF exempts token auth anyway),
the session user, messages, X-Frame-Options and htmx detection serve pages, not API clients, and
cost a measurable share of a records request (bench/RESULTS.md). The view still authenticates,
authorises and maps errors exactly as on the normal path; only the middleware is skipped. Paths
that do not resolve go through the normal chain, so 404s look the same either way.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, get_resolver

from permissions.middleware import lazy_actor


class ApiTokenFastPath:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        if request.path_info.startswith("/api/") and (
            "HTTP_XC_TOKEN" in meta
            or meta.get("HTTP_AUTHORIZATION", "")[:7].lower() == "bearer "
        ):
            try:
                match = get_resolver().resolve(request.path_info)
            except Resolver404:
                return self.get_response(request)
            if getattr(match.func, "cls", None) is not None:  # DRF views only
                request.resolver_match = match
                request.actor = lazy_actor(request)  # as ActorMiddleware, skipped here
                response = match.func(request, *match.args, **match.kwargs)
                # As BaseHandler does for template responses (DRF's Response is one).
                return response.render() if hasattr(response, "render") else response
        return self.get_response(request)
