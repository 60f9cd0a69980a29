"""Columns exchanged outside the platform: detected before a write, answered 409
SCHEMA_OUT_OF_SYNC (like a dropped column), so no value lands in another field's column.

Writes name columns by their names. When a script outside the platform swaps two columns'
names (`RENAME a TO tmp, b TO a, tmp TO b`), every name still exists, so the database takes
the write, into the column that now holds the other field's data. A dropped column is seen
lazily (the database refuses the statement: bases/sources.user_db); a swap needs a look.

What is compared (`drift`), for the columns the metadata knows:
- **order**: the order the last sync or schema edit saw (Table.meta["columns"], written by
  bases/sync.apply_columns). Exchanged names exchange positions, whatever the types, so this
  sees every swap, of two INTEGER columns too. Not for tables last synced before this check
  existed, until their next sync.
- **types**: two columns whose declared types were exchanged (a swap that also moved the
  columns back into place, e.g. MySQL's `CHANGE … AFTER`).
Not a swap, and not refused here (writes go on as before; a sync lists them): a column added
or dropped (a write touching a dropped column is refused by the database), a plain retype.
Not detectable by any schema look: data exchanged between two columns (UPDATE t SET a=b,
b=a), or a swap combined with a rebuild that restores both order and types.

When: before each write (insert, update, delete, link) of a table, unless this process
checked the table since the metadata last changed and
- on SQLite, the database's schema cookie has not moved since (PRAGMA schema_version, read
  in process for every write: every swap is seen at once);
- on PostgreSQL and MySQL, which have no such counter, less than
  NOCO_SCHEMA_CHECK_INTERVAL seconds ago (default 1; 0 checks every write). Writes in that
  window after a swap are not checked, except that a write the database refuses (a text into
  a column that now holds numbers) is checked at once and answered 409.
The check happens outside the write's transaction, so a swap racing with a write can still
slip between them; the window above is the guarantee.

Cost (measured in process on this machine, medians; docs/security.md): the check is one
catalog query (PostgreSQL ~0.2 ms, MariaDB ~0.3-0.6 ms, SQLite ~0.05 ms); a write that needs
none pays ~1.5 µs (a dict lookup and the clock) on PostgreSQL and MySQL, ~7 µs on SQLite (the
schema cookie), against 0.2-4 ms for the write itself. A catalog query before every write was
not chosen: it would add a round trip to PostgreSQL's one-statement PATCH and up to ~0.6 ms to
every MariaDB write.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError

from bases.introspection import live_columns, schema_generation
from bases.models import Table
from nocoplatform.errors import SchemaOutOfSync, Unprocessable

MAX_ENTRIES = 5000
_lock = threading.Lock()
# table id -> (meta_version, schema generation, monotonic time of the check)
_checked: dict[str, tuple] = {}


def forget() -> None:
    """Check every table again at its next write (tests; nothing else needs it)."""
    with _lock:
        _checked.clear()


def _type(text: str) -> str:
    return " ".join(str(text or "").lower().split())[:200]


def drift(table: Table, fields, live: list[tuple[str, str]]) -> list[str]:
    """The known columns whose place or type another known column took (empty: in sync)."""
    known = {f.column_name: f for f in fields if f.column_name}
    live_type = {name: _type(kind) for name, kind in live}
    present = [n for n, _ in live if n in known]
    out: list[str] = []
    recorded = [
        n
        for n in (table.meta or {}).get("columns") or []
        if n in live_type and n in known
    ]
    order = [n for n in present if n in set(recorded)]
    out += [a for a, b in zip(recorded, order, strict=True) if a != b]
    expected = {n: _type(known[n].db_type) for n in present}
    changed = [n for n in present if live_type[n] != expected[n]]
    for a in changed:
        for b in changed:
            if (
                a != b
                and expected[a] != expected[b]
                and live_type[a] == expected[b]
                and live_type[b] == expected[a]
            ):
                out.append(a)
    return list(dict.fromkeys(out))


def verify(conn, table: Table, fields) -> None:
    """Compare the live columns with the metadata now; SchemaOutOfSync when they drifted."""
    live = live_columns(conn, table.table_name)
    if not live:
        return  # the table is gone: the write itself answers 409 (bases/sources.user_db)
    moved = drift(table, fields, live)
    if moved:
        raise SchemaOutOfSync(
            f"The columns {', '.join(repr(n) for n in moved)} of '{table.title}' were "
            "exchanged or moved outside the platform (their order or types no longer "
            "match its metadata), so this write could land in another field's column. "
            "Nothing was written. Sync the base's schema.",
        )


def before_write(conn, table: Table, fields) -> None:
    """`verify`, unless this process did so recently enough (see the module's docstring)."""
    generation = schema_generation(conn)
    version = table.source.meta_version
    seen = _checked.get(table.pk)
    if (
        seen is not None
        and seen[:2] == (version, generation)
        and (
            generation is not None
            or time.monotonic() - seen[2] < settings.NOCO_SCHEMA_CHECK_INTERVAL
        )
    ):
        return
    verify(conn, table, fields)
    with _lock:
        if len(_checked) >= MAX_ENTRIES:
            _checked.clear()
        _checked[table.pk] = (version, generation, time.monotonic())


@contextmanager
def guarded_write(conn, table: Table, fields):
    """Check before the write; and when the database refuses the write, look again at once
    (a swap in the interval often makes the values misfit their new columns)."""
    before_write(conn, table, fields)
    try:
        yield
    except (DatabaseError, Unprocessable) as exc:
        if not conn.in_atomic_block:  # an outer transaction may be broken: leave it be
            try:
                verify(conn, table, fields)
            except SchemaOutOfSync as drifted:
                raise drifted from exc
            except DatabaseError:
                pass
        raise
