"""Under ASGI, refuse what must not be read before Django reads it.

Django's ASGI handler reads a request's whole body (into a temporary file) before any
middleware or view runs: a stranger's 1 GiB POST was stored before its 401. This wrapper of
the HTTP application decides first, from the headers alone:

- a declared body over its endpoint's limit (nocoplatform.limits) is a 413;
- a body sent in chunks (no Content-Length) is counted as it arrives and cut off at the limit
  with a 413;
- a write to the API with a body over SMALL_BODY, or in chunks, whose caller has no valid
  token or signed-in session gets its 401 before the body is read (permissions.auth). Smaller
  bodies are in the server's buffer already, so they skip that extra query.

Under WSGI (granian, gunicorn) none of this is needed: Django reads the body only when a view
asks for it, and reads nothing without a Content-Length; nocoplatform.limits' middleware
checks the declared size there.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

import orjson
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.urls import Resolver404, get_resolver

from nocoplatform import limits

SMALL_BODY = 64 * 1024


class BodyGuard:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = _headers(scope)
        length = limits.content_length(headers.get(b"content-length"))
        chunked = length is None and b"chunked" in headers.get(
            b"transfer-encoding", b""
        )
        if not chunked and not length:
            return await self.app(scope, receive, send)  # no body: nothing to guard
        path = _path_info(scope)
        limit = limits.limit_for(path, length)
        as_json = limits.wants_json(path, b"x-grid-editor" in headers)
        if length is not None and length > limit:
            return await _answer(send, 413, *limits.too_large(limit, as_json=as_json))
        if path.startswith("/api/") and (chunked or length > SMALL_BODY):
            refusal = await _credentials_refusal(path, headers)
            if refusal is not None:
                code, message = refusal
                body = orjson.dumps({"error": code, "message": message})
                extra = [(b"www-authenticate", b'Bearer realm="api"')]
                return await _answer(send, 401, "application/json", body, extra)
        if not chunked:
            return await self.app(scope, receive, send)
        await self._capped(scope, receive, send, limit, as_json)

    async def _capped(self, scope, receive, send, limit: int, as_json: bool):
        """Pass a chunked body on while it stays within `limit`; past it, tell the app the
        client has gone (Django then drops the request) and answer 413 ourselves."""
        state = {"read": 0, "over": False, "started": False}

        async def capped_receive():
            if state["over"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["read"] += len(message.get("body", b""))
                if state["read"] > limit:
                    state["over"] = True
                    return {"type": "http.disconnect"}
            return message

        async def watched_send(message):
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        await self.app(scope, capped_receive, watched_send)
        if state["over"] and not state["started"]:
            await _answer(send, 413, *limits.too_large(limit, as_json=as_json))


def _headers(scope) -> dict[bytes, bytes]:
    # Header names arrive lower-cased (ASGI spec); a repeated one keeps its last value.
    return dict(scope.get("headers") or ())


def _path_info(scope) -> str:
    path, root = scope.get("path", "/"), scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


async def _credentials_refusal(path: str, headers: dict) -> tuple[str, str] | None:
    try:
        match = get_resolver().resolve(path)
    except Resolver404:
        return None  # Django answers 404 as usual
    if getattr(match.func, "cls", None) is None:
        return None  # not a DRF view: not guarded here
    meta = {
        f"HTTP_{name.decode('latin-1').upper().replace('-', '_')}": value.decode(
            "latin-1"
        )
        for name, value in headers.items()
        if name in (b"xc-token", b"authorization")
    }
    cookies = SimpleCookie()
    try:
        cookies.load(headers.get(b"cookie", b"").decode("latin-1"))
    except Exception:  # noqa: BLE001 - an unreadable Cookie header is no session
        cookies = SimpleCookie()
    morsel = cookies.get(settings.SESSION_COOKIE_NAME)
    return await sync_to_async(_check, thread_sensitive=False)(
        meta, morsel.value if morsel else None
    )


def _check(meta: dict, session_key: str | None):
    from permissions.auth import credentials_refusal

    try:
        return credentials_refusal(meta, session_key)
    finally:
        # This pool thread is not a request's: give its meta DB connection back now.
        connections.close_all()


async def _answer(send, status: int, content_type: str, body: bytes, extra=()):
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"x-content-type-options", b"nosniff"),
                # The body was not read: the connection cannot carry another request.
                (b"connection", b"close"),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
