"""From a committed change to the table's channel-layer group (no task queue hop).

One group per table (`table.<id>`); a second group per base (`access.<id>`) carries membership
and field-rule changes so every socket of that base re-checks what it may see at once.

What goes through the layer is small and the same for every recipient: the kind, the record ids,
the ids of the fields written, the id of the tab that wrote (`origin`). Each consumer then filters
it for its own user (views/realtime/consumer.py) and the page re-fetches the rows through the
grid's endpoint, which renders them with that user's fields and decides "does this row still
match the view?" with the one query layer. No user data travels through the channel layer.

Nothing here waits on the channel layer's store. With Redis, a message is handed to this
process's publisher (publisher.py: a bounded queue, one thread and event loop, short timeouts, a
circuit breaker) and the request goes on. With the in-memory layer (`make run`: one process, its
sockets on the server's event loop) `async_to_sync` hands the send to that loop: a queue put.

Cost when nobody watches a table: with the in-memory layer a dict look-up — this process counts
its own sockets per table; with Redis a dict look-up too — the publisher keeps a copy of which
tables some process's sockets watch (registry.py), so such a write sends nothing to Redis.
"""

from __future__ import annotations

import logging
import threading

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

from views.realtime import publisher

log = logging.getLogger(__name__)

# Above this many ids a message says "many" and the page re-fetches its visible window instead.
MAX_IDS = 500
PK_SEPARATOR = "___"
KINDS = {"insert": "rows.inserted", "update": "rows.updated", "delete": "rows.deleted"}

_lock = threading.Lock()
_local: dict[str, int] = {}  # table id -> sockets open on it in this process


def table_group(table_id) -> str:
    return f"table.{table_id}"


def access_group(base_id) -> str:
    return f"access.{base_id}"


def table_of(group: str) -> str | None:
    """The table id of a table group, None for any other group."""
    return group.removeprefix("table.") if group.startswith("table.") else None


def joined(table_id) -> None:
    with _lock:
        _local[str(table_id)] = _local.get(str(table_id), 0) + 1


def left(table_id) -> None:
    with _lock:
        n = _local.get(str(table_id), 0) - 1
        if n > 0:
            _local[str(table_id)] = n
        else:
            _local.pop(str(table_id), None)


def watched_here(table_id) -> bool:
    """Whether a socket of this process is on the table."""
    return str(table_id) in _local


def listening(table_id) -> bool:
    """False when no socket anywhere watches the table (as far as this process knows)."""
    layer = get_channel_layer()
    if layer is None:
        return False
    if watched_here(table_id):
        return True
    if isinstance(layer, InMemoryChannelLayer):
        return False
    return publisher.for_layer(layer).watches(str(table_id))


def anyone_listening() -> bool:
    layer = get_channel_layer()
    if layer is None:
        return False
    if _local:
        return True
    if isinstance(layer, InMemoryChannelLayer):
        return False
    return publisher.for_layer(layer).watches_any()


def send(group: str, message: dict) -> None:
    """Hand `message` to the table's (or base's) group; never waits on Redis, never raises."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {**message, "group": group}
    if not isinstance(layer, InMemoryChannelLayer):
        publisher.for_layer(layer).submit(group, message)
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # the write stands; pages catch up on their next message
        log.exception("realtime: could not send to %s", group)


def record_id(key: list) -> str:
    return PK_SEPARATOR.join(str(v) for v in key)


def records_changed(event) -> None:
    """The after-commit subscriber of record writes (records/dispatch.py, views/apps.py)."""
    _rows_changed(event)
    readers_changed(event)


def readers_changed(event) -> None:
    """Lookups, rollups and counts in other tables read the rows written (a client's rollup
    of its projects' budgets): the pages showing them re-fetch their visible rows."""
    if not anyone_listening():
        return
    from bases.lookup_services import readers_of

    written = [event.table]
    if event.op in ("link", "unlink") and event.related is not None:
        written.append(event.related.table)
    readers: dict[str, set] = {}
    for table in written:
        for table_id, field_ids in readers_of(table).items():
            readers.setdefault(table_id, set()).update(field_ids)
    for table_id, field_ids in readers.items():
        if not listening(table_id):
            continue
        send(
            table_group(table_id),
            {
                "type": "table.rows",
                "event": KINDS["update"],
                "table": table_id,
                "ids": [],
                "many": True,
                "fields": sorted(field_ids),
                "origin": "",
            },
        )


def _rows_changed(event) -> None:
    keys = [list(k) for k in event.keys]
    if event.op in ("link", "unlink"):
        rows_changed(event.table, "update", keys, [event.link.id], event.client_id)
        # The other side's rows show this link too (their count or reference moved).
        related = event.related.table
        if related.pk != event.table.pk or event.link.options.get("relation") != "bt":
            rows_changed(
                related, "update", [[t] for t in event.targets], None, event.client_id
            )
        return
    rows_changed(event.table, event.op, keys, list(event.fields), event.client_id)


def rows_changed(table, kind: str, keys: list, fields, origin: str) -> None:
    """One message per table a write changed."""
    if not listening(table.pk):
        return
    ids = [record_id(k) for k in keys]
    many = len(ids) > MAX_IDS
    send(
        table_group(table.pk),
        {
            "type": "table.rows",
            "event": KINDS[kind],
            "table": str(table.pk),
            "ids": [] if many else ids,
            "many": many,
            "fields": list(fields or []),
            "origin": origin or "",
        },
    )


def table_changed(table_id, event: str, **extra) -> None:
    """schema.changed / view.changed / cards.ordered (from notices.py)."""
    if not listening(table_id):
        return
    send(
        table_group(table_id),
        {"type": "table.notice", "event": event, "table": str(table_id), **extra},
    )


def access_changed(base_id) -> None:
    if anyone_listening():
        send(access_group(base_id), {"type": "access.changed", "base": str(base_id)})
