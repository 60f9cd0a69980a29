"""Metadata changes announced by the services that make them: fields and roles.

    # in an AppConfig.ready() (views/apps.py):
    meta_events.subscribe("realtime", schema=on_schema, access=on_access)

    # in a service, after (or while) it writes, inside its transaction:
    meta_events.schema_changed(table.pk)    # a Field of the table added, changed or removed
    meta_events.access_changed(base.pk)     # a Membership, TableRole or FieldRule of the base
    meta_events.column_added(field.pk)      # a field with a new column of its own was added

bases/ and permissions/ write fields and roles but must not import views/ (realtime), so they
call these functions and the listeners subscribe here, as record writes go through
records/dispatch.py. Each announcement reaches the subscribers once the meta DB commits, never
for a rolled-back change (nor one undone by a savepoint rollback); however many times one
transaction announces the same table (a schema sync saves many fields) or base, the
subscribers hear it once. Outside a transaction (autocommit) they hear it at once.

A subscriber that raises is logged and skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, connections, transaction

log = logging.getLogger(__name__)

SCHEMA = "schema"
ACCESS = "access"
COLUMN = "column"

_subscribers: dict[str, dict[str, Callable[[str], None]]] = {}


def subscribe(
    name: str,
    *,
    schema: Callable[[str], None] | None = None,
    access: Callable[[str], None] | None = None,
    column: Callable[[str], None] | None = None,
) -> None:
    """Register (or replace) `name`: `schema(table_id)`, `access(base_id)` and/or
    `column(field_id)`."""
    _subscribers[name] = {
        kind: fn
        for kind, fn in ((SCHEMA, schema), (ACCESS, access), (COLUMN, column))
        if fn
    }


def unsubscribe(name: str) -> None:
    _subscribers.pop(name, None)


def schema_changed(table_id) -> None:
    """The fields of `table_id` changed (added, changed, removed, or the table went)."""
    if table_id:
        _announce(SCHEMA, table_id)


def access_changed(base_id) -> None:
    """Who may do what in `base_id` changed (member, table role or field rule)."""
    if base_id:
        _announce(ACCESS, base_id)


def column_added(field_id) -> None:
    """A field of a new column was added to its table (the record history fills a kept
    field's column from its entries: history/backfill.py)."""
    if field_id:
        _announce(COLUMN, field_id)


def _announce(kind: str, target) -> None:
    if any(kind in s for s in _subscribers.values()):
        on_commit_once((kind, str(target)), lambda: _deliver(kind, target))


def on_commit_once(key: tuple, fn: Callable[[], None], using=DEFAULT_DB_ALIAS) -> None:
    """Run `fn` when `using` commits, once per `key` and transaction; at once outside one.

    The callback still waiting in the connection's on-commit list says "already asked for"; a
    rolled-back savepoint takes it out of the list (a rolled-back transaction empties it), so
    the next call schedules anew. Connections are per thread, and so is this bookkeeping.
    """
    conn = connections[using]
    if not conn.in_atomic_block:
        fn()
        return
    pending = conn.__dict__.setdefault("_on_commit_once", {})
    scheduled = pending.get(key)
    if scheduled is not None and any(
        entry[1] is scheduled for entry in conn.run_on_commit
    ):
        return

    def run():
        if pending.get(key) is run:
            del pending[key]
        fn()

    pending[key] = run
    transaction.on_commit(run, using=using)


def _deliver(kind: str, target) -> None:
    for name, handlers in list(_subscribers.items()):
        fn = handlers.get(kind)
        if fn is None:
            continue
        try:
            fn(target)
        except Exception:
            log.exception("meta events: %s failed on %s %s", name, kind, target)
