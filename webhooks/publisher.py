"""Handing outbox events to the Celery broker without a write ever waiting on Redis.

`publish_soon(ids)` runs on commit in the request: it only puts the ids on a bounded in-process
queue. One daemon thread per process sends them (`send`), with the broker's short socket
timeouts and a one-retry publish policy (settings, CELERY_*). When Redis is down or hung the
thread gives up on the batch after one timeout and marks its events unpublished
(`queued_at` = NULL); the sweeper queues them once Redis answers again. The outbox row exists
before any of this, so a lost id (the process dies, the queue is full) is only a delay: the
sweeper finds the event either way (webhooks.delivery.lost_events).
"""

from __future__ import annotations

import logging
import os
import queue
import threading

from django.db import close_old_connections

log = logging.getLogger(__name__)
QUEUE_SIZE = 10_000
BATCH = 500

_lock = threading.Lock()
_queue: queue.Queue = queue.Queue(QUEUE_SIZE)
# The pid of the process whose thread drains _queue (a forked child starts its own).
_owner = 0


def publish_soon(event_ids: list) -> None:
    """Queue these events' messages for the publisher thread; never blocks."""
    _ensure_thread()
    overflow = []
    for event_id in event_ids:
        try:
            _queue.put_nowait(str(event_id))
        except queue.Full:
            overflow.append(event_id)
    if overflow:
        # Redis has been unreachable for a while: the sweeper sends these later.
        log.warning("webhooks: publish queue full; %s events left", len(overflow))
        _mark_unpublished(overflow)


def send(event_ids: list) -> list:
    """Publish one message per event, in order; the ids that could not be sent (marked so).

    The first failure ends the batch: the broker is down or hung, and trying the others would
    only wait out the same timeout again for each."""
    from nocoplatform.celery import app
    from webhooks.tasks import deliver

    failed: list = []
    try:
        with app.producer_or_acquire() as producer:
            for n, event_id in enumerate(event_ids):
                failed = event_ids[n:]
                deliver.apply_async((str(event_id),), producer=producer)
            failed = []
    except Exception as exc:
        failed = failed or list(event_ids)
        log.warning(
            "webhooks: could not queue %s events (%s: %s); the sweeper will",
            len(failed),
            type(exc).__name__,
            exc,
        )
        _mark_unpublished(failed)
    return failed


def _mark_unpublished(event_ids: list) -> None:
    from webhooks.models import WebhookEvent

    WebhookEvent.objects.filter(
        pk__in=list(event_ids), status=WebhookEvent.Status.PENDING
    ).update(queued_at=None)


def _ensure_thread() -> None:
    global _owner, _queue
    if _owner == os.getpid():
        return
    with _lock:
        if _owner == os.getpid():
            return
        if _owner:  # forked: the parent's thread did not come along, nor should its ids
            _queue = queue.Queue(QUEUE_SIZE)
        threading.Thread(
            target=_loop, args=(_queue,), name="webhooks-publisher", daemon=True
        ).start()
        _owner = os.getpid()


def _loop(pending: queue.Queue) -> None:
    while True:
        batch = [pending.get()]
        while len(batch) < BATCH:
            try:
                batch.append(pending.get_nowait())
            except queue.Empty:
                break
        try:
            send(batch)
        except Exception:  # the meta DB failed too: the sweeper still finds the events
            log.exception("webhooks: publishing %s events failed", len(batch))
        finally:
            close_old_connections()
