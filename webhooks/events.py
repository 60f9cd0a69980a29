"""From a committed data change to outbox rows: the webhooks' subscriber to RecordsChanged.

Registered in webhooks/apps.py with records.dispatch as an in-transaction subscriber with a
`prepare` step: `prepare` runs before the write, `records_changed` with the write's event.

When the table has no active webhook for that event `prepare` costs one dict look-up
(the active hooks are cached per process, keyed by the data source's `meta_version`, which every
webhook change bumps — the same version the request already read to get the table). Otherwise:
previous rows are read in one query before the write (only for updates and deletes), current rows
in one query after it, each hook's condition is evaluated in those same queries by the one
`where` compiler, and one outbox row per call to make is written. A failure here never undoes
the user's committed write: it is logged.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from bases.models import Table
from bases.query.where import compile_where, parse_where
from nocoplatform.api import OrjsonRenderer
from nocoplatform.errors import InvalidInput
from webhooks.models import EVENT_TYPES, Webhook, WebhookEvent

log = logging.getLogger(__name__)

_lock = threading.Lock()
_hooks: dict[str, tuple[int, list[Webhook]]] = {}
_render = OrjsonRenderer().render


def _load(table: Table) -> list[Webhook]:
    hooks = []
    resolve = None
    for hook in Webhook.objects.filter(table_id=table.pk, active=True).select_related(
        "created_by"
    ):
        hook.condition_node = None
        if hook.condition:
            # A condition naming a field deleted since is skipped (logged), so it cannot
            # break the events of the table's other webhooks.
            try:
                if resolve is None:
                    from bases.records import TableMeta

                    resolve = TableMeta.unrestricted(table).resolve
                hook.condition_node = parse_where(hook.condition)
                compile_where(
                    hook.condition_node,
                    resolve=resolve,
                    vendor="sqlite",
                )
            except InvalidInput as exc:
                log.warning("webhook %s skipped: condition %s", hook.pk, exc.message)
                continue
        hooks.append(hook)
    return hooks


def active_hooks(table: Table) -> list[Webhook]:
    """The table's active webhooks, cached until the source's meta_version moves."""
    version = table.source.meta_version
    entry = _hooks.get(table.pk)
    if entry is not None and entry[0] == version:
        return entry[1]
    hooks = _load(table)
    with _lock:
        if len(_hooks) > 10_000:
            _hooks.clear()
        _hooks[table.pk] = (version, hooks)
    return hooks


def forget() -> None:
    _hooks.clear()


def payload_fields(webhook: Webhook, meta) -> list:
    """The fields a webhook's payload may carry: the columns its creator may see now (hidden
    fields never leave in a payload; a creator who lost access to the table gets none)."""
    from bases.records import TableMeta
    from nocoplatform.errors import NotFound
    from permissions.checks import Actor

    if webhook.created_by_id is None:
        return []
    try:
        visible = TableMeta.of(meta.table, actor=Actor(user=webhook.created_by))
    except NotFound:
        return []
    ids = {f.id for f in visible.columns + visible.computed}
    return [f for f in meta.columns + meta.computed if f.id in ids]


@dataclass
class Change:
    table: Table
    kind: str
    meta: object
    hooks: list[Webhook]
    keys: list | None = None
    before: dict = field(default_factory=dict)

    def _matches(self) -> dict:
        return {h.pk: h.condition_node for h in self.hooks if h.condition_node}

    def _read(self, keys) -> dict:
        from bases.records import rows_by_key

        rows = rows_by_key(
            self.table, list(keys), matches=self._matches(), meta=self.meta
        )
        return {_k(key): (row, flags) for key, row, flags in rows}

    def capture_before(self) -> None:
        if self.keys:
            self.before = self._read(self.keys)

    def emit(self) -> list[uuid.UUID]:
        # A bulk write may name a row twice: one event for it, with its final state.
        keys = [list(k) for k in dict.fromkeys(tuple(k) for k in (self.keys or []))]
        if not keys:
            return []
        after = self._read(keys) if self.kind != "delete" else {}
        events = []
        for hook in self.hooks:
            watched = {str(i) for i in hook.watch_fields or ()}
            titles = [f.title for f in self.meta.fields if f.id in watched]
            chosen = [
                pair
                for k in keys
                if (
                    pair := _select(
                        hook,
                        self.kind,
                        self.before.get(_k(k)),
                        after.get(_k(k)),
                        titles,
                    )
                )
            ]
            if chosen:
                events += build_events(hook, self.table, self.meta, self.kind, chosen)
        return save_events(events)


def _k(key) -> tuple:
    return tuple(str(v) for v in key)


def _select(hook: Webhook, kind: str, prev, cur, watched: list[str]):
    """(previous row, row) if this hook fires for this row, else None.

    insert: the new row matches. update: a watched field changed (when fields are watched) and
    the row matches now — and, in "becomes true" mode, did not before. delete: the row matched.
    """
    cond = hook.condition_node is not None
    if kind == "insert":
        if cur is None or (cond and not cur[1][hook.pk]):
            return None
        return (None, cur[0])
    if kind == "delete":
        if prev is None or (cond and not prev[1][hook.pk]):
            return None
        return (prev[0], prev[0])
    if cur is None:
        return None
    if watched and prev is not None:
        if all(prev[0].get(t) == cur[0].get(t) for t in watched):
            return None
    if cond:
        now = cur[1][hook.pk]
        was = prev is not None and prev[1][hook.pk]
        if not now or (hook.condition_mode == Webhook.Mode.BECOMES_TRUE and was):
            return None
    return (prev[0] if prev else None, cur[0])


def build_events(
    hook: Webhook, table: Table, meta, kind: str, pairs: list[tuple]
) -> list[WebhookEvent]:
    """One event per row, or per batch of rows for a batching webhook."""
    from django.conf import settings

    titles = [f.title for f in payload_fields(hook, meta)]

    def shape(row):
        return {t: row[t] for t in titles if t in row} if row is not None else None

    size = max(1, min(hook.batch_size, settings.NOCO_WEBHOOKS_BATCH_LIMIT))
    now = timezone.now()
    events = []
    for start in range(0, len(pairs), size):
        chunk = pairs[start : start + size]
        event_id = uuid.uuid4()
        event_type = EVENT_TYPES[kind]
        data = {
            "table_id": table.pk,
            "table_name": table.title,
            "previous_rows": [shape(p) for p, _ in chunk if p is not None]
            if kind == "update"
            else [],
            "rows": [shape(r) for _, r in chunk],
        }
        body = {
            "type": event_type,
            "id": str(event_id),
            "base_id": table.base_id,
            "created_at": now.isoformat(),
            "data": data,
        }
        events.append(
            WebhookEvent(
                id=event_id,
                webhook=hook,
                type=event_type,
                body=_render(body).decode(),
                next_attempt_at=now,
                queued_at=now,
            )
        )
    return events


def save_events(events: list[WebhookEvent]) -> list[uuid.UUID]:
    if not events:
        return []
    WebhookEvent.objects.bulk_create(events)
    ids = [e.id for e in events]
    transaction.on_commit(lambda: dispatch(ids))
    return ids


def dispatch(event_ids: list) -> None:
    """Hand new events to whoever delivers (Celery, or the embedded dispatcher)."""
    from django.conf import settings

    runner = settings.NOCO_WEBHOOKS_RUNNER
    if runner == "celery":
        from webhooks import publisher

        # Off the request thread: a down or hung Redis never holds the write's answer.
        publisher.publish_soon(event_ids)
    elif runner == "embedded":
        from webhooks import dispatcher

        dispatcher.wake()


# A link or unlink changes the record as seen through its link field: an "after update" event.
_KINDS = {"link": "update", "unlink": "update"}


def prepare(table: Table, op: str, keys: list | None) -> Change | None:
    """Before a write (records.dispatch.prepare): None when no active webhook of the table
    listens to this kind of change (one dict look-up); else the change, holding the previous
    rows of an update or a delete."""
    kind = _KINDS.get(op, op)
    hooks = [h for h in active_hooks(table) if kind in h.events]
    if not hooks:
        return None
    # Rows are read with every field (not only those of the writer, who may not see them all);
    # each payload is then cut to what its webhook's creator may see (payload_fields).
    from bases.records import TableMeta

    change = Change(table, kind, TableMeta.unrestricted(table), hooks, keys=keys)
    try:
        if kind in ("update", "delete"):
            change.capture_before()
    except Exception:
        log.exception("webhooks: reading previous rows of %s failed", table.pk)
    return change


def records_changed(event) -> None:
    """The in-transaction subscriber (records/dispatch.py): the outbox rows of one write.

    The current rows are read, and the outbox rows written, once the write has committed
    (`on_commit` of the user database's connection; at once after an autocommit statement):
    a rolled-back change makes no event, and a failure here is logged, never undoing the
    user's write."""
    change = event.prepared.get("webhooks")
    if change is None:
        return
    change.keys = [list(k) for k in event.keys]

    def emit() -> None:
        try:
            change.emit()
        except Exception:
            log.exception(
                "webhooks: recording %s events of %s failed",
                change.kind,
                change.table.pk,
            )

    from django.db import connections

    if connections[event.using].in_atomic_block:
        transaction.on_commit(emit, using=event.using)
    else:
        emit()


def validate_condition(table: Table, meta, text: str) -> str:
    """Parse and compile a condition against the table's fields; its canonical text."""
    from bases.query.where import render_where

    text = (text or "").strip()
    if not text:
        return ""
    node = parse_where(text)
    compile_where(node, resolve=meta.resolve, vendor="sqlite")
    return render_where(node)
