"""From a committed change to the table's channel-layer group (no task queue hop).

One group per table (`table.<id>`); a second group per base (`access.<id>`) carries membership
and field-rule changes so every socket of that base re-checks what it may see at once.

What goes through the layer is small and the same for every recipient: the kind, the record ids,
the ids of the fields written, the id of the tab that wrote (`origin`). Each consumer then filters
it for its own user (views/realtime/consumer.py) and the page re-fetches the rows through the
grid's endpoint, which renders them with that user's fields and decides "does this row still
match the view?" with the one query layer. No user data travels through the channel layer.

Cost when nobody watches a table: with the in-memory layer (one process) a dict look-up — this
process counts its own sockets per table. With Redis (several processes) a group_send to an empty
group is one round trip to Redis (bench/RESULTS.md, "Realtime").
"""

from __future__ import annotations

import logging
import threading

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

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


def listening(table_id) -> bool:
    """False only when no socket anywhere can be watching (in-memory layer, none here)."""
    layer = get_channel_layer()
    if layer is None:
        return False
    if isinstance(layer, InMemoryChannelLayer):
        return str(table_id) in _local
    return True


def anyone_listening() -> bool:
    layer = get_channel_layer()
    if layer is None:
        return False
    return bool(_local) or not isinstance(layer, InMemoryChannelLayer)


def send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {**message, "group": group})
    except (
        Exception
    ):  # the layer (Redis) is down: the write stands, pages catch up later
        log.exception("realtime: could not send to %s", group)


def record_id(key: list) -> str:
    return PK_SEPARATOR.join(str(v) for v in key)


def rows_changed(table, kind: str, keys: list, fields, origin: str) -> None:
    """The observer registered with bases.changes: one message per write."""
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
    """schema.changed / view.changed (from signals.py)."""
    if not listening(table_id):
        return
    send(
        table_group(table_id),
        {"type": "table.notice", "event": event, "table": str(table_id), **extra},
    )


def access_changed(base_id) -> None:
    if anyone_listening():
        send(access_group(base_id), {"type": "access.changed", "base": str(base_id)})
