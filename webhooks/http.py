"""The SSRF-safe HTTP client every webhook call goes through.

A URL is checked twice: when a webhook is saved (`check_url`) and on every send (`send`). The
host is resolved once, every resolved address must be public (nocoplatform.netguard, shared
with data sources, judges every IPv6 form that carries an IPv4 address by that address), and
the connection goes to that very address — the Host header and TLS SNI carry the name — so a
DNS answer cannot change between check and connect (DNS rebinding). Numeric forms
(`2130706433`, `0177.0.0.1`, `0x7f.1`) are resolved by the same resolver the connection would
use, so they cannot slip past the check. Redirects are never followed: a 3xx is reported as a
failed delivery.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings

from nocoplatform import netguard
from nocoplatform.errors import InvalidInput

EXCERPT_BYTES = 2048
MAX_READ_BYTES = 256 * 1024


class RefusedAddress(InvalidInput):
    """The URL is not allowed (scheme, or an address the SSRF guard refuses)."""

    def __init__(self, message: str):
        super().__init__(message, code="WEBHOOK_URL_REFUSED")


@dataclass
class Target:
    scheme: str
    host: str
    port: int
    path: str
    addresses: list[str] = field(default_factory=list)


@dataclass
class Response:
    status: int | None
    duration_ms: int
    excerpt: str = ""
    error: str = ""
    location: str = ""
    refused: bool = False  # the SSRF guard refused the address: retrying will not help

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def refusal(address: str, *, allow_private: bool | None = None) -> str | None:
    """Why a webhook may not call `address`, or None when it may (nocoplatform.netguard)."""
    if allow_private is None:
        allow_private = settings.NOCO_WEBHOOKS_ALLOW_PRIVATE
    return netguard.refusal(address, allow_private=allow_private)


def parse_url(url: str) -> Target:
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("`url` is required.", code="INVALID_URL")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"`url` is not a valid URL: {exc}.", code="INVALID_URL")
    if parts.scheme not in ("http", "https"):
        raise RefusedAddress("Only http:// and https:// URLs can receive webhooks.")
    if not parts.hostname:
        raise InvalidInput("`url` has no host name.", code="INVALID_URL")
    if parts.username or parts.password:
        raise InvalidInput(
            "Put credentials in a header, not in the URL.", code="INVALID_URL"
        )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or (443 if parts.scheme == "https" else 80),
        path=path,
    )


def resolve(target: Target) -> Target:
    """Resolve the host; raise RefusedAddress unless every address is allowed."""
    try:
        addresses = netguard.resolve(target.host, target.port)
    except netguard.Unresolvable as exc:
        raise InvalidInput(
            f"The host '{target.host}' cannot be resolved ({exc}).",
            code="WEBHOOK_HOST_UNRESOLVED",
        )
    for address in addresses:
        reason = refusal(address)
        if reason is not None:
            raise RefusedAddress(
                f"'{target.host}' resolves to {address}, {reason}; webhooks may not call it "
                "(NOCO_WEBHOOKS_ALLOW_PRIVATE allows private addresses)."
            )
    target.addresses = addresses
    return target


def check_url(url: str) -> Target:
    """Validate a webhook URL at save time (scheme, host, resolved addresses)."""
    return resolve(parse_url(url))


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def send(
    method: str, url: str, *, headers: dict, body: bytes, timeout: float
) -> Response:
    """One request to a checked, pinned address; never raises for network trouble."""
    start = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - start) * 1000)

    try:
        target = resolve(parse_url(url))
    except RefusedAddress as exc:
        return Response(None, took(), error=exc.message, refused=True)
    except InvalidInput as exc:
        return Response(None, took(), error=exc.message)
    cls = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    conn = cls(target.host, target.port, target.addresses[0], timeout)
    try:
        conn.request(method, target.path, body=body or None, headers=headers)
        reply = conn.getresponse()
        chunks, size = [], 0
        while size < MAX_READ_BYTES:
            if time.monotonic() - start > timeout:
                raise TimeoutError("timed out reading the response")
            chunk = reply.read1(16384) if hasattr(reply, "read1") else reply.read(16384)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
        result = Response(
            reply.status,
            took(),
            excerpt=data[:EXCERPT_BYTES].decode("utf-8", "replace"),
        )
        if 300 <= reply.status < 400:
            result.location = reply.getheader("Location") or ""
            result.error = (
                f"redirect to '{result.location}' not followed (webhooks never follow "
                "redirects)"
            )
        return result
    except TimeoutError:
        return Response(None, took(), error=f"timed out after {timeout:g} s")
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        return Response(None, took(), error=f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()
