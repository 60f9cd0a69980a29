"""Writing the record history: entries built by the records service, saved on commit.

    history.services.record(conn, actor, "update", [(table_id, record_id, {field_id: [old, new]})])

Why on commit, and not in the write's own transaction: the history lives in the meta DB, the
records in the user's database (an external server, or the built-in store: a SQLite file or a
PostgreSQL schema reached through its own connection), so no single transaction holds both
without two-phase commit. Writing the entries before the data commits would leave entries for
changes that then roll back; writing them in `transaction.on_commit` of the user database (the
same hook as realtime and the webhook outbox, bases/changes.py) records exactly the committed
changes, in one `bulk_create` per write. The price is a window of a few milliseconds between
the data commit and the history insert: a process killed there loses that entry (never the
write), and a failing meta DB is logged, not raised. When the caller wraps the write in a larger
transaction on the user database, the entries wait for that one.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import sqlite3
import uuid
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone

from history.models import RecordChange

log = logging.getLogger(__name__)

# A cell longer than this is kept shortened (a long text edited a hundred times must not
# weigh a hundred times its size in the meta DB).
MAX_TEXT = 10_000
_DECIMAL_UIDTS = {"Decimal", "Currency", "Percent", "Duration"}


def plain(field, value):
    """A cell value as the history keeps it: JSON, the same whichever database it came from
    or whether it was read back or just parsed (so old and new compare equal when equal).

    Whole numbers are integers, other decimals exact strings (`"10.5"`), dates and times ISO
    8601 (date-times in UTC), UUIDs text, JSON and attachments as they are.
    """
    if value is None or isinstance(value, bool):
        return value
    if field.uidt == "Checkbox":
        return bool(value)
    if isinstance(value, (decimal.Decimal, float)) or (
        field.uidt in _DECIMAL_UIDTS and isinstance(value, (int, str))
    ):
        try:
            number = decimal.Decimal(str(value))
        except decimal.InvalidOperation:
            return _text(str(value))
        if not number.is_finite():
            return str(number)
        if number == number.to_integral_value():
            return int(number)
        return format(number.normalize(), "f")
    if isinstance(value, int):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return _text(bytes(value).hex())
    if isinstance(value, (list, dict)):
        return value
    return _text(str(value))


def _text(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


def who(actor) -> dict:
    """The history's author fields for an actor (permissions.checks.Actor)."""
    if actor.system:
        return {"via": RecordChange.Via.SYSTEM}
    share = actor.share
    if share is not None:
        from views.models import View

        form = share.view.type == View.Type.FORM
        return {
            "via": RecordChange.Via.FORM if form else RecordChange.Via.SHARE,
            "actor_name": share.view.title[:254],
        }
    user = actor.user
    out = {
        "user_id": getattr(user, "pk", None),
        "actor_name": (getattr(user, "email", "") or "")[:254],
        "via": RecordChange.Via.USER,
    }
    if actor.token is not None:
        out["via"] = RecordChange.Via.TOKEN
        out["token_name"] = (actor.token.name or "")[:200]
    return out


def record(conn, actor, kind: str, entries: list[tuple]) -> None:
    """Save `entries` — (table id, record id, {field id: [old, new]}) — once `conn` commits.

    `conn` is the user database's connection the write ran on. Entries of an update that
    changed nothing are dropped. One bulk insert for all of them, however many.
    """
    if kind == RecordChange.Kind.UPDATE:
        entries = [e for e in entries if e[2]]
    if not entries:
        return
    now = timezone.now()
    author = who(actor)
    rows = [
        RecordChange(
            table_id=table_id,
            record_id=str(record_id),
            kind=kind,
            changes=changes,
            created_at=now,
            **author,
        )
        for table_id, record_id, changes in entries
    ]

    def save() -> None:
        try:
            _bulk_insert(rows)
        except Exception:
            log.exception("history: %s %s entries could not be saved", len(rows), kind)

    transaction.on_commit(save, using=conn.alias)


def _bulk_insert(rows: list[RecordChange]) -> None:
    alias = router.db_for_write(RecordChange)
    with _sqlite_parameter_limit(connections[alias]):
        RecordChange.objects.using(alias).bulk_create(rows)


@contextmanager
def _sqlite_parameter_limit(conn):
    """Let bulk_create use SQLite's real limit of bound parameters.

    Django 5.2 assumes SQLite's old default of 999 parameters per statement, which would split
    1000 entries of 9 columns into ten INSERTs; the SQLite linked here allows 32766 (since
    3.32), and Django 6.0 reads the actual limit the same way (ticket #36143). Scoped to this
    insert on this thread's connection.
    """
    if conn.vendor != "sqlite":
        yield
        return
    conn.ensure_connection()
    getlimit = getattr(conn.connection, "getlimit", None)  # Python 3.11+
    if getlimit is None:
        yield
        return
    features = conn.features
    had = "max_query_params" in features.__dict__
    before = features.max_query_params
    features.max_query_params = max(
        before, getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    )
    try:
        yield
    finally:
        if had:
            features.max_query_params = before
        else:
            del features.max_query_params


def prune_history(*, days: int | None = None) -> int:
    """Delete entries older than `days` (NOCO_HISTORY_DAYS; 0 keeps everything): how many."""
    days = settings.NOCO_HISTORY_DAYS if days is None else days
    if days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = RecordChange.objects.filter(created_at__lt=cutoff).delete()
    return deleted
