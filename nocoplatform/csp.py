"""The Content-Security-Policy header of every page, from settings.SECURE_CSP.

Django 5.2 has no CSP support of its own (6.0 adds one, reading the same `SECURE_CSP` dict:
directive -> list of sources), and django-csp would be a dependency for what is a dozen lines
here. The policy is strict (no inline scripts, handlers, styles or eval): the templates keep no
`on…=` attributes, `<script>` blocks or `style=` attributes; what they used them for is declared
with data attributes that static/js/page.js acts on (docs/security.md, "Browser hardening").

A response that sets its own policy keeps it (attachments: `default-src 'none'; sandbox`).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"


def policy(request: HttpRequest, *, allow: dict | None = None) -> str:
    """The policy; `allow` adds sources to some directives for one page (a directive not
    set starts from `default-src`'s sources, as browsers would)."""
    directives = {k: list(v) for k, v in settings.SECURE_CSP.items()}
    for name, sources in (allow or {}).items():
        start = directives.get(name, directives.get("default-src", []))
        directives[name] = list(dict.fromkeys([*start, *sources]))
    # CSP 3 lets 'self' cover ws:/wss: of the page's host, older browsers do not: name this
    # host's sockets (views/realtime/) once Django has accepted the Host.
    try:
        host = request.get_host()
    except DisallowedHost:
        host = None
    if host and "connect-src" in directives:
        directives["connect-src"] += [f"ws://{host}", f"wss://{host}"]
    return "; ".join(
        " ".join([name, *sources]) if sources else name
        for name, sources in directives.items()
    )


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if HEADER not in response and not _debug_page(response):
            response[HEADER] = policy(request)
        return response


def _debug_page(response: HttpResponse) -> bool:
    """Django's DEBUG error pages run inline scripts and styles of their own."""
    return settings.DEBUG and response.status_code in (404, 500)
