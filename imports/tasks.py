"""Where an import runs: a Celery worker when NOCO_WEBHOOKS_RUNNER is `celery` (the
production profile), else a daemon thread of the web process (the embedded default), like
webhook deliveries (webhooks/publisher.py, webhooks/dispatcher.py)."""

from __future__ import annotations

import logging
import threading

from celery import shared_task
from django.conf import settings
from django.db import close_old_connections

log = logging.getLogger(__name__)


@shared_task(name="imports.tasks.run", ignore_result=True)
def run(job_id: str) -> None:
    from imports.services import run_import

    try:
        run_import(job_id)
    finally:
        close_old_connections()


def start(job_id: str) -> None:
    """Run the queued job in the background (called on commit of its start)."""
    if settings.NOCO_WEBHOOKS_RUNNER == "celery":
        try:
            run.delay(job_id)
            return
        except Exception:  # the broker is down: run it here rather than never
            log.exception("imports: could not queue %s; running it in-process", job_id)
    threading.Thread(
        target=run, args=(job_id,), name=f"import-{job_id}", daemon=True
    ).start()


@shared_task(name="imports.tasks.run_new_table", ignore_result=True)
def run_new_table(job_id: str) -> None:
    """An import into a new table (imports/newtable.py)."""
    from imports.newtable import run_new_table as run_job

    try:
        run_job(job_id)
    finally:
        close_old_connections()


def start_new_table(job_id: str) -> None:
    """Like `start`, for an import into a new table."""
    if settings.NOCO_WEBHOOKS_RUNNER == "celery":
        try:
            run_new_table.delay(job_id)
            return
        except Exception:  # the broker is down: run it here rather than never
            log.exception("imports: could not queue %s; running it in-process", job_id)
    threading.Thread(
        target=run_new_table, args=(job_id,), name=f"import-{job_id}", daemon=True
    ).start()


@shared_task(name="imports.tasks.run_export", ignore_result=True)
def run_export(job_id: str) -> None:
    """A view's export to a file (imports/exports.py)."""
    from imports.exports import run_export as run_job

    try:
        run_job(job_id)
    finally:
        close_old_connections()


def start_export(job_id: str) -> None:
    """Like `start`, for an export."""
    if settings.NOCO_WEBHOOKS_RUNNER == "celery":
        try:
            run_export.delay(job_id)
            return
        except Exception:  # the broker is down: run it here rather than never
            log.exception("exports: could not queue %s; running it in-process", job_id)
    threading.Thread(
        target=run_export, args=(job_id,), name=f"export-{job_id}", daemon=True
    ).start()


@shared_task(name="imports.tasks.recover", ignore_result=True, acks_late=False)
def recover() -> dict:
    """The beat's sweep of jobs whose process ended mid-run (imports/recovery.py)."""
    from imports.recovery import recover_jobs

    try:
        return recover_jobs()
    finally:
        close_old_connections()
