"""Where a kept field's fill from the record history continues (history/backfill.py): a
Celery worker when NOCO_WEBHOOKS_RUNNER is `celery` (the production profile), else a daemon
thread of the web process (the embedded default), like imports (imports/tasks.py). With the
`manual` runner (tests) nothing is started: the caller runs `backfill.run` itself."""

from __future__ import annotations

import logging
import threading

from celery import shared_task
from django.conf import settings
from django.db import close_old_connections, connections

log = logging.getLogger(__name__)


@shared_task(name="history.tasks.fill_kept_field", ignore_result=True)
def fill_kept_field(field_id: str, after: str | None = None) -> None:
    from history.backfill import run

    try:
        run(field_id, after)
    except Exception:
        # Nothing is lost: what was filled stays; `manage.py fill_kept_field` continues.
        log.exception(
            "history: filling field %s from the record history failed", field_id
        )
    finally:
        close_old_connections()


def _in_thread(field_id: str, after: str | None) -> None:
    try:
        fill_kept_field(field_id, after)  # logs its own failure
    finally:
        connections.close_all()  # this thread's own connections


def start_fill(field_id: str, after: str | None) -> None:
    """Continue filling `field_id` after record id `after`, in the background."""
    runner = settings.NOCO_WEBHOOKS_RUNNER
    if runner == "manual":
        return
    if runner == "celery":
        try:
            fill_kept_field.delay(field_id, after)
            return
        except Exception:  # the broker is down: run it here rather than never
            log.exception("history: could not queue the fill of field %s", field_id)
    threading.Thread(
        target=_in_thread,
        args=(field_id, after),
        name=f"fill-{field_id}",
        daemon=True,
    ).start()
