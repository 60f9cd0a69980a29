"""Who hears of a record write, and when: the two phases of a RecordsChanged.

    # in an AppConfig.ready():
    dispatch.subscribe("history", history_entries, phase=dispatch.IN_TRANSACTION)
    dispatch.subscribe("realtime", publish_rows, phase=dispatch.AFTER_COMMIT)

    # in the records service, per write:
    prepared = dispatch.prepare(table, "update", keys)   # before the write
    ... write, inside its transaction on the user database ...
    dispatch.emit(RecordsChanged(..., prepared=prepared, using=conn.alias))

- IN_TRANSACTION subscribers run at once, inside the write's transaction (or right after its
  one autocommit statement), in registration order. They record what must exist exactly when
  the write exists — the record history, the webhook outbox — and tie it to that transaction:
  their rows go to the meta DB in `transaction.on_commit` of the user database's connection
  (`event.using`). The meta DB is another database (the user's server, or the built-in store's
  own connection), so this is the one place both commits meet without two-phase commit: a
  rolled-back write leaves no row, a committed one its rows, a process killed in the few
  milliseconds between the two commits loses them (never the write). An IN_TRANSACTION
  subscriber may also declare `prepare(table, op, keys)`, run before the write: what it
  returns is the event's `prepared[name]` (the webhooks read the rows' previous state there).
- AFTER_COMMIT subscribers run in `transaction.on_commit` of that connection, after the
  IN_TRANSACTION subscribers' rows are saved, in registration order: realtime. Never for a
  rolled-back write.

A subscriber that raises is logged and skipped: the write stands, the other subscribers run.
Nothing here costs more than a loop over an empty list when nobody subscribes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from records.events import RecordsChanged

log = logging.getLogger(__name__)

IN_TRANSACTION = "in-transaction"
AFTER_COMMIT = "after-commit"


@dataclass(frozen=True)
class Subscriber:
    name: str
    handle: Callable[[RecordsChanged], None]
    phase: str
    prepare: Callable | None = None


_subscribers: dict[str, Subscriber] = {}


def subscribe(
    name: str,
    handle: Callable[[RecordsChanged], None],
    *,
    phase: str,
    prepare: Callable | None = None,
) -> None:
    """Register (or replace) the subscriber `name`; call from AppConfig.ready()."""
    if phase not in (IN_TRANSACTION, AFTER_COMMIT):
        raise ValueError(f"unknown phase {phase!r}")
    if prepare is not None and phase != IN_TRANSACTION:
        raise ValueError("only in-transaction subscribers prepare")
    _subscribers[name] = Subscriber(name, handle, phase, prepare)


def unsubscribe(name: str) -> Subscriber | None:
    return _subscribers.pop(name, None)


def subscribers(phase: str) -> list[Subscriber]:
    return [s for s in _subscribers.values() if s.phase == phase]


def prepare(table, op: str, keys: list | None) -> dict:
    """Before a write: each preparing subscriber's state for it, by name (None is left out)."""
    out = {}
    for sub in _subscribers.values():
        if sub.prepare is None:
            continue
        try:
            state = sub.prepare(table, op, keys)
        except Exception:
            log.exception(
                "records: %s could not prepare %s of %s", sub.name, op, table.pk
            )
            continue
        if state is not None:
            out[sub.name] = state
    return out


def emit(event: RecordsChanged) -> None:
    """Hand one write's event to the subscribers (see the module's docstring)."""
    if not event.keys:
        return
    for sub in subscribers(IN_TRANSACTION):
        _run(sub, event)
    after = subscribers(AFTER_COMMIT)
    if after:
        transaction.on_commit(
            lambda: [_run(s, event) for s in after], using=event.using
        )


def _run(sub: Subscriber, event: RecordsChanged) -> None:
    try:
        sub.handle(event)
    except Exception:
        log.exception(
            "records: subscriber %s failed on %s of %s",
            sub.name,
            event.op,
            event.table.pk,
        )
