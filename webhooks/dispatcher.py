"""The embedded runner (`make run`, no Redis): a background thread in the web process.

The outbox in the meta DB is the queue, so nothing is lost on a restart: the thread starts with
the server (nocoplatform/asgi.py) or with the first event, delivers whatever is due, then sleeps
until woken by a new event or the next retry. A few worker threads send concurrently so one slow
receiver does not hold up the others. Several web processes may each run one: the claim in
webhooks.delivery lets exactly one of them make each attempt.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections

log = logging.getLogger(__name__)
WORKERS = 4
IDLE_POLL = 5.0  # seconds between looks at the outbox when nothing woke the thread

_wake = threading.Event()
_started = threading.Lock()
_thread: threading.Thread | None = None


def start() -> bool:
    """Start the dispatcher once per process when the embedded runner is configured."""
    global _thread
    if settings.NOCO_WEBHOOKS_RUNNER != "embedded":
        return False
    with _started:
        if _thread is not None and _thread.is_alive():
            return True
        _thread = threading.Thread(
            target=_loop, name="webhooks-dispatcher", daemon=True
        )
        _thread.start()
    return True


def wake() -> None:
    start()
    _wake.set()


def _loop() -> None:
    from webhooks import delivery

    pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="webhooks-send")
    last_prune = last_recover = 0.0
    while True:
        _wake.clear()
        try:
            close_old_connections()
            ids = delivery.due_events(WORKERS * 8)
            list(pool.map(_deliver, ids))
            if time.monotonic() - last_prune > 3600:
                last_prune = time.monotonic()
                delivery.prune_logs()
                prune_history()
                prune_imports()
            if time.monotonic() - last_recover > recover_interval():
                last_recover = time.monotonic()
                recover_jobs()
            wait = IDLE_POLL if not ids else 0.0
            if not ids:
                wait = min(wait, _seconds_to_next())
        except Exception:
            log.exception("webhooks dispatcher: pass failed")
            wait = IDLE_POLL
        finally:
            close_old_connections()
        if wait > 0:
            _wake.wait(wait)


def prune_history() -> None:
    """The record history's retention (NOCO_HISTORY_DAYS) rides on this hourly pass."""
    from history.services import prune_history as prune

    try:
        prune()
    except Exception:
        log.exception("record history: pruning failed")


def prune_imports() -> None:
    """Import jobs and their files (NOCO_IMPORT_KEEP_DAYS) ride on the same hourly pass."""
    from imports.prune import prune_imports as prune

    try:
        prune()
    except Exception:
        log.exception("imports: pruning failed")


def recover_interval() -> float:
    from imports.recovery import recover_interval as interval

    return interval()


def recover_jobs() -> None:
    """Imports and exports whose process ended mid-run (imports/recovery.py): this
    process's loop is where the embedded runner's jobs are looked after, at its start
    (the first pass) and every few seconds after."""
    from imports.recovery import recover_jobs as recover

    try:
        recover()
    except Exception:
        log.exception("imports: recovering jobs failed")


def _deliver(event_id) -> None:
    from webhooks import delivery

    try:
        delivery.deliver_event(event_id)
    except Exception:
        log.exception("webhooks: delivering %s failed", event_id)
    finally:
        close_old_connections()


def _seconds_to_next() -> float:
    from django.utils import timezone

    from webhooks.models import WebhookEvent

    nxt = (
        WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", "locked_until")
        .first()
    )
    if nxt is None:
        return IDLE_POLL
    due = max(nxt[0], nxt[1] or nxt[0])
    return max(0.05, (due - timezone.now()).total_seconds())
