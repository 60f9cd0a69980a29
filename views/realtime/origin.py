"""The websocket handshake's Origin check: exactly the page's own origin, as Django's CSRF check.

A browser sends the session cookie with a websocket handshake whatever page opens it, and the
handshake is not bound by CORS: the Origin header is the only thing that tells our pages from a
page on another origin (cross-site websocket hijacking). Channels' AllowedHostsOriginValidator
compares the host name only, so a page on any other port of the host passes, and with
`ALLOWED_HOSTS=*` (the `make run` default) every origin passes.

Accepted: an Origin equal to `<scheme>://<Host>` of the handshake itself (scheme, host name and
port; the Host must be in ALLOWED_HOSTS; https when the socket came over TLS, or through
SECURE_PROXY_SSL_HEADER as Django decides it for HTTP), or one of CSRF_TRUSTED_ORIGINS (exact, or
its `https://*.example.com` subdomain patterns), the same origins Django accepts for a form post.
Refused: any other origin, `null`, and a handshake without Origin (browsers always send one, and
the sockets serve only this app's pages; API clients use the REST API).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(text: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin, default ports filled in; None if it is not one."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.username or parts.password or parts.path not in ("", "/"):
        return None
    if parts.query or parts.fragment:
        return None
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]


def _header(scope, name: bytes) -> list[str]:
    return [v.decode("latin1") for k, v in scope.get("headers", []) if k == name]


def _is_secure(scope) -> bool:
    if scope.get("scheme") == "wss":
        return True
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy:
        meta_name, secure_value = proxy
        name = meta_name.removeprefix("HTTP_").lower().replace("_", "-").encode()
        values = _header(scope, name)
        if values:
            return values[0].split(",", 1)[0].strip() == secure_value
    return False


def _own_origin(scope) -> tuple[str, str, int] | None:
    """The origin of a page served by this Host, if the Host is one we serve."""
    hosts = _header(scope, b"host")
    if len(hosts) != 1:
        return None
    domain, _port = split_domain_port(hosts[0])
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]  # as HttpRequest.get_host
    if not domain or not validate_host(domain, allowed):
        return None
    scheme = "https" if _is_secure(scope) else "http"
    return _origin(f"{scheme}://{hosts[0]}")


def _trusted(origin: tuple[str, str, int], text: str) -> bool:
    for entry in settings.CSRF_TRUSTED_ORIGINS:
        if "*" in entry:
            # As CsrfViewMiddleware: `https://*.example.com` allows that scheme and any
            # subdomain, on the port written (none: the scheme's default, not any port).
            pattern = urlsplit(entry)
            netloc = urlsplit(text).netloc.lower()
            if pattern.scheme == origin[0] and is_same_domain(
                netloc, pattern.netloc.lstrip("*")
            ):
                return True
        elif _origin(entry.lower()) == origin:
            return True
    return False


def origin_allowed(scope) -> bool:
    values = _header(scope, b"origin")
    if len(values) != 1:
        return False
    origin = _origin(values[0].lower())
    if origin is None:  # "null", or not an origin at all
        return False
    return origin == _own_origin(scope) or _trusted(origin, values[0])


class ExactOriginValidator:
    """ASGI middleware for the websocket router: refuses handshakes from other origins."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
