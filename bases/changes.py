"""Where a write came from: the browser tab's id (`X-Client-Id`), for the change event.

`ClientIdMiddleware` keeps the request's `X-Client-Id` header in the context variable
`write_origin`; the records service puts it in each RecordsChanged (`client_id`,
records/events.py) so realtime can skip sending a page its own change back. Who hears of a
write, and when, is records/dispatch.py.
"""

from __future__ import annotations

import contextvars
import re

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

write_origin: contextvars.ContextVar[str] = contextvars.ContextVar(
    "write_origin", default=""
)
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ClientIdMiddleware:
    """Remember the request's `X-Client-Id` (a browser tab's id) for the change event.

    Sync and async capable, so it adds no thread hop under ASGI; the context variable set here
    is copied into the thread that runs the (sync) view."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    @staticmethod
    def _origin(request) -> str:
        value = request.headers.get("X-Client-Id", "")
        return value if _CLIENT_ID.match(value) else ""

    def __call__(self, request):
        if self.async_mode:
            return self._acall(request)
        token = write_origin.set(self._origin(request))
        try:
            return self.get_response(request)
        finally:
            write_origin.reset(token)

    async def _acall(self, request):
        token = write_origin.set(self._origin(request))
        try:
            return await self.get_response(request)
        finally:
            write_origin.reset(token)
