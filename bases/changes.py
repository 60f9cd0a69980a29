"""After-commit observers of record writes: the records service tells, others listen.

    changes.register(fn)           # fn(table, kind, keys, fields, origin), at import time
    changes.committed(conn, table, "update", keys, fields=[...])   # in record_services

`committed` runs each observer once the user database's transaction has committed
(`transaction.on_commit` on that connection: at once when the write ran in autocommit, after the
outer block otherwise; never when it rolls back). Observers must be cheap when nobody listens
(realtime checks a per-process count of connected sockets first) and must not raise: a failure is
logged and never undoes the committed write.

`origin` is the id of the browser tab (or API client) the write came from — the `X-Client-Id`
request header, kept in a context variable by `ClientIdMiddleware` — so realtime can skip
sending a page its own change back.

Webhooks keep their own context manager (webhooks.events.record_changes) because they read the
rows before and after the write; realtime only needs the keys. The record history is no observer
either: it needs the actor and the old and new values, which only the records service holds, so
record_services hands its entries to history.services.record, which saves them on the same
`on_commit` of the user database (the reasons are in that module).
"""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.db import transaction

log = logging.getLogger(__name__)

_observers: list[Callable] = []
write_origin: contextvars.ContextVar[str] = contextvars.ContextVar(
    "write_origin", default=""
)
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def register(fn: Callable) -> None:
    if fn not in _observers:
        _observers.append(fn)


def committed(
    conn, table, kind: str, keys: list, *, fields: list[str] | None = None
) -> None:
    """Tell the observers that `keys` of `table` were inserted/updated/deleted (`kind`).

    `fields`: for updates, the ids of the fields written (realtime highlights those cells and
    drops the message for a viewer who may see none of them)."""
    if not _observers or not keys:
        return
    origin = write_origin.get()
    keys = [list(k) for k in keys]

    def run():
        for fn in _observers:
            try:
                fn(table, kind, keys, fields, origin)
            except Exception:
                log.exception("after-commit observer %r failed", fn)

    transaction.on_commit(run, using=conn.alias)


class ClientIdMiddleware:
    """Remember the request's `X-Client-Id` (a browser tab's id) for `committed()`.

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
