"""Request bodies: one that is larger than its endpoint accepts is refused (413) before any of
it is read.

Every endpoint takes NOCO_MAX_BODY_SIZE bytes; endpoints that take files (`accepts_uploads`)
take a cell's worth of files (NOCO_ATTACHMENT_MAX_CELL_SIZE) plus UPLOAD_OVERHEAD for the
form's other fields and the multipart framing. The declared Content-Length is checked here
(WSGI: Django reads the body only when a view asks for it, so nothing has been read yet; the
test client), and, under ASGI, earlier still by nocoplatform.asgi_guard, since Django's ASGI
handler reads the whole body before any middleware runs. docs/security.md lists the limits.
"""

from __future__ import annotations

import orjson
from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpResponse
from django.urls import Resolver404, get_resolver

UPLOAD_OVERHEAD = 1024 * 1024


def accepts_uploads(view):
    """Mark a view that takes files: its requests may carry upload_limit() bytes."""
    view.noco_accepts_uploads = True
    return view


def upload_limit() -> int:
    return max(
        settings.NOCO_MAX_BODY_SIZE,
        settings.NOCO_ATTACHMENT_MAX_CELL_SIZE + UPLOAD_OVERHEAD,
        settings.NOCO_IMPORT_MAX_SIZE + UPLOAD_OVERHEAD,  # CSV imports (imports/)
    )


def limit_for(path_info: str, length: int | None) -> int:
    """The most bytes a request to `path_info` may carry (`length`: its declared size, None
    when it is sent in chunks)."""
    general = settings.NOCO_MAX_BODY_SIZE
    if length is not None and length <= general:
        return general  # the usual case: no URL resolving
    try:
        match = get_resolver().resolve(path_info)
    except Resolver404:
        return general
    return (
        upload_limit()
        if getattr(match.func, "noco_accepts_uploads", False)
        else general
    )


def content_length(value) -> int | None:
    """The declared Content-Length, None when absent or not a number."""
    if value in (None, b"", ""):
        return None
    try:
        length = int(value)
    except (TypeError, ValueError):
        return None
    return length if length >= 0 else None


def wants_json(path_info: str, grid_editor: bool) -> bool:
    """The API and the grid's own requests read `{"error", "message"}`; pages read HTML."""
    return path_info.startswith("/api/") or grid_editor


def too_large(limit: int, *, as_json: bool) -> tuple[str, bytes]:
    """(content type, body) of the 413 answer."""
    message = (
        f"The request body is larger than the {limit:,} bytes this endpoint accepts."
    )
    if as_json:
        body = {
            "error": "PAYLOAD_TOO_LARGE",
            "message": message,
            "details": {"max_bytes": limit},
        }
        return "application/json", orjson.dumps(body)
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Request too large</title></head><body><h1>Request too large</h1>"
        f"<p>{message} Send less at once (fewer or smaller files).</p></body></html>"
    )
    return "text/html; charset=utf-8", page.encode()


class BodyLimitMiddleware:
    """Refuse a declared body over its endpoint's limit before anything reads it. Placed
    right after SecurityMiddleware, before the token fast path and every reader of bodies."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request):
        refusal = self._refusal(request)
        if self.async_mode:
            return self._acall(request) if refusal is None else _ready(refusal)
        return self.get_response(request) if refusal is None else refusal

    async def _acall(self, request):
        return await self.get_response(request)

    @staticmethod
    def _refusal(request) -> HttpResponse | None:
        length = content_length(request.META.get("CONTENT_LENGTH"))
        if length is None or length <= settings.NOCO_MAX_BODY_SIZE:
            return None
        limit = limit_for(request.path_info, length)
        if length <= limit:
            return None
        as_json = wants_json(request.path_info, "HTTP_X_GRID_EDITOR" in request.META)
        content_type, body = too_large(limit, as_json=as_json)
        return HttpResponse(body, status=413, content_type=content_type)


async def _ready(response):
    return response
