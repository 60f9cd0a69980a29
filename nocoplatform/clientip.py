"""The visitor's address (and scheme), believing forwarded headers only from trusted proxies.

A proxy adds the address it received a request from to the right of `X-Forwarded-For`;
everything to the left of that came from the client and may be invented. So when the
connecting peer (REMOTE_ADDR) is one of NOCO_TRUSTED_PROXIES, the header is read from the right
past further trusted proxies, and the first address that is not one is the client's. With no
trusted proxies (the default) the peer is the client and the header is ignored.

Every per-address limit asks here (share passwords, public forms, link searches, and sign-in
through django-axes' AXES_CLIENT_IP_CALLABLE), so rotating a header escapes none of them.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def _networks(values: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(v, strict=False) for v in values)


def _trusted() -> tuple:
    return _networks(tuple(settings.NOCO_TRUSTED_PROXIES))


def _parse(value) -> Address | None:
    """An address from REMOTE_ADDR or one X-Forwarded-For entry (`[v6]:port` and `v4:port`
    too); IPv4 written as IPv6 (`::ffff:1.2.3.4`) is the IPv4 address. None if it is none."""
    text = str(value or "").strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _is_trusted(ip: Address, networks: tuple) -> bool:
    return any(ip in net for net in networks)


def peer_is_trusted_proxy(request: HttpRequest) -> bool:
    networks = _trusted()
    peer = _parse(request.META.get("REMOTE_ADDR"))
    return bool(networks) and peer is not None and _is_trusted(peer, networks)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, normalised; None when the request has no peer address."""
    peer = _parse(request.META.get("REMOTE_ADDR"))
    if peer is None:
        return None
    networks = _trusted()
    if not networks or not _is_trusted(peer, networks):
        return str(peer)
    client = peer
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        ip = _parse(hop)
        if ip is None:
            break  # no proxy of ours wrote this: stop at the last address believed
        client = ip
        if not _is_trusted(ip, networks):
            break
    return str(client)


def client_address(request: HttpRequest) -> str:
    """`client_ip` as a rate-limit key ("unknown" when there is no address)."""
    return client_ip(request) or "unknown"


class ForwardedProtoMiddleware:
    """X-Forwarded-Proto tells Django the scheme (SECURE_PROXY_SSL_HEADER, set only when
    NOCO_TRUSTED_PROXIES is) only when a trusted proxy sent it; from anyone else it is dropped,
    so a direct client cannot claim https. First in MIDDLEWARE; sync and async capable, so it
    adds no thread hop under ASGI (it only edits META and passes the call on)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        if "HTTP_X_FORWARDED_PROTO" in meta and not peer_is_trusted_proxy(request):
            del meta["HTTP_X_FORWARDED_PROTO"]
        return self.get_response(
            request
        )  # a coroutine in async mode: the caller awaits it
