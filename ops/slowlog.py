"""The slow-request log: every HTTP request slower than NOCO_SLOW_REQUEST_MS is recorded.

Each record (ops.models.SlowRequest) says which endpoint (URL pattern and path), for which
base/table, who (user, API token), when, the status, the time, and how much of it went to SQL
statements — meta DB and user databases alike, timed by one execute wrapper installed on every
connection when it is opened — so an administrator can tell a slow database from slow Python.
Records are listed and filtered on the admin site (ops/admin.py), also logged as a warning on
the `nocoplatform.slow` logger, and removed after NOCO_SLOW_REQUEST_RETENTION_DAYS.

Cost on requests that are not slow: two clock reads per request and per statement. Recording a
slow one costs an INSERT into the meta DB after its response is built; a failure to record
(the meta DB is what is slow, or down) is logged and never changes the response.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import time

from django.conf import settings
from django.db.backends.signals import connection_created
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

log = logging.getLogger("nocoplatform.slow")

# Share links and public forms carry their secret in the path: never stored.
REDACTED = "[redacted]"
PRUNE_EVERY = dt.timedelta(hours=1)


class SqlClock:
    __slots__ = ("count", "seconds")

    def __init__(self) -> None:
        self.seconds = 0.0
        self.count = 0


_clock: contextvars.ContextVar[SqlClock | None] = contextvars.ContextVar(
    "noco_sql_clock", default=None
)


def _time_sql(execute, sql, params, many, context):
    clock = _clock.get()
    if clock is None:
        return execute(sql, params, many, context)
    start = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        clock.seconds += time.perf_counter() - start
        clock.count += 1


def _on_connection_created(sender, connection, **kwargs) -> None:
    if _time_sql not in connection.execute_wrappers:
        connection.execute_wrappers.append(_time_sql)


def install() -> None:
    connection_created.connect(_on_connection_created, dispatch_uid="noco-slowlog-sql")


class SlowRequestMiddleware:
    """First in MIDDLEWARE: the time it measures is the whole of Django's work on a request
    (for a streamed response, until its first byte is ready)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.last_prune = 0.0

    def __call__(self, request: HttpRequest) -> HttpResponse:
        threshold = settings.NOCO_SLOW_REQUEST_MS
        if threshold <= 0:
            return self.get_response(request)
        clock = SqlClock()
        reset = _clock.set(clock)
        start = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            _clock.reset(reset)
        elapsed_ms = (time.perf_counter() - start) * 1000
        if elapsed_ms >= threshold:
            try:
                record(request, response, elapsed_ms, clock)
                self.prune_now_and_then()
            except Exception:  # the log must never cost the user their answer
                log.exception("could not record a slow request")
        return response

    def prune_now_and_then(self) -> None:
        now = time.monotonic()
        if now - self.last_prune >= PRUNE_EVERY.total_seconds():
            self.last_prune = now
            prune()


def _who(request: HttpRequest):
    """(user or None, "who" text) of a request: the user its handling resolved (DRF copies
    the user and token it authenticated back onto the request)."""
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        user = None
    token = getattr(request, "auth", None)
    who = user.get_username() if user is not None else ""
    if hasattr(token, "pk") and getattr(token, "name", None) is not None:
        who = f"{who} (token {token.name!r})".strip()
    return user, who[:300]


def record(
    request: HttpRequest, response: HttpResponse, elapsed_ms: float, clock: SqlClock
):
    from ops.models import SlowRequest

    match = getattr(request, "resolver_match", None)
    kwargs = match.kwargs if match else {}
    path = request.path
    for name, value in kwargs.items():
        if "token" in name and value:
            path = path.replace(str(value), REDACTED)
    user, who = _who(request)
    entry = SlowRequest(
        at=timezone.now(),
        method=request.method[:10],
        route=(match.route if match else "")[:300],
        path=path[:500],
        status=response.status_code,
        duration_ms=round(elapsed_ms),
        sql_ms=round(clock.seconds * 1000),
        sql_count=clock.count,
        base_id=str(kwargs.get("base_id", ""))[:40],
        table_id=str(kwargs.get("table_id", ""))[:40],
        user=user,
        who=who,
    )
    # Written outside any transaction the request left open (autocommit: the request's own
    # atomic blocks are closed by now).
    entry.save(force_insert=True)
    log.warning(
        "slow request: %s %s %s in %d ms (SQL %d ms in %d statements) by %s",
        entry.method,
        entry.route or entry.path,
        entry.status,
        entry.duration_ms,
        entry.sql_ms,
        entry.sql_count,
        who or "anonymous",
    )
    return entry


def prune(now: dt.datetime | None = None) -> int:
    """Delete records older than the retention; the number deleted."""
    from ops.models import SlowRequest

    days = settings.NOCO_SLOW_REQUEST_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    deleted, _ = SlowRequest.objects.filter(at__lt=cutoff).delete()
    return deleted
