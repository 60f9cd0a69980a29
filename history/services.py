"""Writing the record history: entries built from each write's RecordsChanged, saved on commit.

    history.services.record(conn, actor, "update", [(table_id, record_id, {field_id: [old, new]})])

`records_changed` is the history's in-transaction subscriber (records/dispatch.py, registered
in history/apps.py): it turns the event into entries (history/capture.py) and calls `record`.

Why on commit, and not in the write's own transaction: the history lives in the meta DB, the
records in the user's database (an external server, or the built-in store: a SQLite file or a
PostgreSQL schema reached through its own connection), so no single transaction holds both
without two-phase commit. Writing the entries before the data commits would leave entries for
changes that then roll back; writing them in `transaction.on_commit` of the user database (the
same hook as realtime and the webhook outbox, records/dispatch.py) records exactly the committed
changes, in one multi-row INSERT per write. The price is a window of a few milliseconds between
the data commit and the history insert: a process killed there loses that entry (never the
write), and a failing meta DB is logged, not raised. When the caller wraps the write in a larger
transaction on the user database, the entries wait for that one.
"""

from __future__ import annotations

import datetime as dt
import logging
from datetime import timedelta

import orjson
from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone

from bases.query.dialects import dialect_for
from history.models import RecordChange

log = logging.getLogger(__name__)


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


def records_changed(event) -> None:
    """The in-transaction subscriber: one write's entries, saved when its database commits."""
    from history import capture

    record(connections[event.using], event.actor, event.op, capture.entries(event))


def record(conn, actor, kind: str, entries: list[tuple]) -> None:
    """Save `entries` — (table id, record id, {field id: [old, new]}) — once `conn` commits.

    `conn` is the user database's connection the write ran on. Entries of an update that
    changed nothing are dropped. One INSERT for all of them (up to the database's limit of
    bound parameters: 3,600 entries a statement on SQLite, 7,000 on PostgreSQL).
    """
    if kind == RecordChange.Kind.UPDATE:
        entries = [e for e in entries if e[2]]
    if not entries:
        return
    author = who(actor)
    now = timezone.now()

    def save() -> None:
        try:
            _insert(kind, author, now, entries)
        except Exception:
            log.exception(
                "history: %s %s entries could not be saved", len(entries), kind
            )

    transaction.on_commit(save, using=conn.alias)


_COLUMNS = (
    "table_id",
    "record_id",
    "kind",
    "changes",
    "user_id",
    "via",
    "actor_name",
    "token_name",
    "created_at",
)
# The same columns for COPY: the two that vary per entry, its changes, then the tail they share
# (kind and the author columns, in _COLUMNS' order).
_COPY_COLUMNS = ("table_id", "record_id", "changes", "kind", *_COLUMNS[4:])


def _insert(kind: str, author: dict, now, entries: list[tuple]) -> None:
    """COPY on PostgreSQL; elsewhere multi-row INSERTs, values adapted once per column.

    Equivalent to RecordChange.objects.bulk_create, which spends ~10 µs per field and row
    compiling the statement (a 1000-row write paid more for its history than for its data);
    and it lets SQLite take its real limit of bound parameters, where Django 5.2 assumes 999
    (Django 6.0 reads the actual limit too: ticket #36143).
    """
    alias = router.db_for_write(RecordChange)
    conn = connections[alias]
    meta = RecordChange._meta
    created = meta.get_field("created_at").get_db_prep_save(now, conn)
    shared = (
        author.get("user_id"),
        author["via"],
        author.get("actor_name", ""),
        author.get("token_name", ""),
        created,
    )
    q = conn.ops.quote_name
    if conn.vendor == "postgresql":
        # COPY: a 1000-row write's entries as one stream. A multi-row INSERT cost more than the
        # write itself here — psycopg scans the statement's 9,000 placeholders in Python and
        # adapts every parameter one by one (bench/RESULTS.md). The stream's lines are written
        # here, not by psycopg's write_row: per entry only the record id and the changes vary,
        # the other seven fields are one tail escaped once (write_row formatted all nine of
        # every entry, ~3 ms of a 1000-row write). Written 100 lines at a time, about psycopg's
        # 32 KiB send buffer: the server parses the first lines while Python formats the rest.
        columns = ", ".join(q(c) for c in _COPY_COLUMNS)
        tail = "\t".join(_copy_text(v) for v in (kind, *shared)) + "\n"
        with (
            conn.cursor() as cur,
            cur.cursor.copy(f"COPY {q(meta.db_table)} ({columns}) FROM STDIN") as copy,
        ):
            for start in range(0, len(entries), 100):
                copy.write(
                    "".join([_copy_line(e, tail) for e in entries[start : start + 100]])
                )
        return
    params_per_row = len(_COLUMNS)
    per_statement = max(1, _parameter_limit(conn) // params_per_row)
    head = (
        f"INSERT INTO {q(meta.db_table)} ({', '.join(q(c) for c in _COLUMNS)}) VALUES "
    )
    row_sql = "(" + ", ".join(["%s"] * params_per_row) + ")"
    with conn.cursor() as cur:
        for start in range(0, len(entries), per_statement):
            chunk = entries[start : start + per_statement]
            params: list = []
            for table_id, record_id, changes in chunk:
                params += (
                    table_id,
                    str(record_id),
                    kind,
                    _dumps(changes),
                    *shared,
                )
            cur.execute(head + ", ".join([row_sql] * len(chunk)), params)


def _copy_line(entry: tuple, tail: str) -> str:
    table_id, record_id, changes = entry
    return f"{_copy_text(table_id)}\t{_copy_text(record_id)}\t{_copy_text(_dumps(changes))}\t{tail}"


def _copy_text(value) -> str:
    """A field of COPY's text format: NULL is \\N; backslash, tab, newline and carriage return
    are escaped. Date-times go as ISO 8601 with their offset."""
    if value is None:
        return "\\N"
    if isinstance(value, dt.date):  # and date-times
        return value.isoformat()
    text = value if type(value) is str else str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def _dumps(value) -> str:
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def _parameter_limit(conn) -> int:
    return dialect_for(conn).parameter_limit()


def prune_history(*, days: int | None = None) -> int:
    """Delete entries older than `days` (NOCO_HISTORY_DAYS; 0 keeps everything): how many.
    The deleted rows' trash is pruned too, with its own retention (NOCO_TRASH_DAYS)."""
    from history.trash import prune_trash

    prune_trash()
    days = settings.NOCO_HISTORY_DAYS if days is None else days
    if days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = RecordChange.objects.filter(created_at__lt=cutoff).delete()
    return deleted
