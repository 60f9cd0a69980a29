"""Jobs whose process ended mid-run (docs/import-export.md, "When the process running a job ends").

While an import or export runs, a daemon thread of the process running it refreshes its
`heartbeat_at` every few seconds (`alive`, nocoplatform/heartbeat.py), whatever the job is
doing: the heartbeat means "the process running it is alive". The job's own loops write its
progress (`Pulse`: the check pass, each batch, each COPY chunk, each export page), with a
heartbeat too, but those stop during one long step — the COMMIT of a million-row
transaction, an index build, a slow statement, packing an XLSX file — which alone would make
a live job look dead. When the process is killed or restarted the thread dies with it:
`recover_jobs` finds running jobs whose heartbeat is older than NOCO_JOB_STALE_SECONDS and
takes each over with one conditional UPDATE (a fresh heartbeat, `recoveries` + 1), so of two
sweepers only one wins, and the old run's thread (it beats only while `recoveries` is what
it was) no longer keeps it alive. The winner cleans up what the dead run left, as a cancel
would:

- ImportJob: nothing (its rows were written in ONE transaction on the user database, which
  the database rolled back when the connection died);
- NewTableJob: the table it created is deleted through the schema service
  (imports/newtable.py::_drop), and its COPY spool removed. The table's DDL commits on the
  user database before its metadata commits on the meta DB: the run notes the physical
  name (and data source) on the job just before the DDL, so a table whose metadata never
  committed is found by that name and dropped from the user database (when no metadata
  lists it and it holds no row);
- ExportJob: its `.part` file removed.

Then the job is queued again once, if its file is still there (all three are safe to run
again: nothing of the first run is left). A second stall, a missing file, or a table that
could not be removed fails it with a plain message; a job whose cancel was asked is cancelled.
Why only once: a job that itself kills its process (memory) would otherwise loop forever.

Jobs queued (pending) for longer than NOCO_JOB_STALE_SECONDS are started again: the embedded
runner's thread dies with its web process, and a Celery message can be lost. Starting one
twice is harmless: the PENDING → RUNNING claim lets one run through.

The sweep runs on the Celery beat (imports.tasks.recover) and in the embedded runner's
dispatcher thread (webhooks/dispatcher.py) every RECOVER_INTERVAL seconds, and by
`manage.py recover_jobs`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db.models import F, Q
from django.utils import timezone

from imports import uploads
from imports.models import ExportJob, ImportJob, NewTableJob
from nocoplatform.heartbeat import beating, stale_seconds
from nocoplatform.heartbeat import interval as heartbeat_interval

log = logging.getLogger(__name__)
Status = ImportJob.Status
STOPPED = (
    "The import stopped because the process running it ended (a restart or crash). "
    "Nothing was written. Start it again."
)
STOPPED_EXPORT = (
    "The export stopped because the process running it ended (a restart or crash). "
    "Start it again."
)
MAX_REQUEUES = 1
CANCELLED = "Cancelled: nothing was imported."  # imports/services.py's


def recover_interval() -> float:
    """How often the embedded runner sweeps."""
    return max(1.0, min(30.0, stale_seconds() / 4))


@contextmanager
def alive(job) -> Iterator[None]:
    """While the block runs, a thread of this process refreshes the running job's heartbeat
    (nocoplatform/heartbeat.py), whatever the job is doing: a long COMMIT or XLSX packing
    does not make it look dead. Only while it is RUNNING and this run's: a run the sweep took
    over (`recoveries` moved on) is not kept alive by its old process."""
    model, pk, recoveries = type(job), job.pk, job.recoveries

    def beat() -> None:
        model.objects.filter(
            pk=pk, status=Status.RUNNING, recoveries=recoveries
        ).update(heartbeat_at=timezone.now())

    with beating(beat, name=f"heartbeat-{model.__name__}-{pk}"):
        yield


class Pulse:
    """A running job's progress: `pulse()` writes the heartbeat when the interval has passed
    (cheap to call per row), `pulse(done=…)` writes progress with a fresh heartbeat at once.
    Liveness itself is `alive`'s thread; these writes carry the progress."""

    def __init__(self, job):
        self.model, self.pk = type(job), job.pk
        self.last = time.monotonic()

    def __call__(self, **fields) -> None:
        now = time.monotonic()
        if not fields and now - self.last < heartbeat_interval():
            return
        self.last = now
        self.model.objects.filter(pk=self.pk).update(
            heartbeat_at=timezone.now(), **fields
        )


def _start(model, job_id: str) -> None:
    from imports import tasks

    {
        ImportJob: tasks.start,
        NewTableJob: tasks.start_new_table,
        ExportJob: tasks.start_export,
    }[model](job_id)


def recover_jobs(*, dispatch: bool = True) -> dict[str, int]:
    """Take over the running jobs that lost their process, and start again the queued ones
    no runner took. `dispatch=False` (`manage.py recover_jobs` with the embedded runner,
    whose threads would die with the command) leaves queued jobs for the web process's
    sweep. The counts of each outcome."""
    counts = {"requeued": 0, "failed": 0, "cancelled": 0, "restarted": 0}
    cutoff = timezone.now() - timedelta(seconds=stale_seconds())
    for model in (ImportJob, NewTableJob, ExportJob):
        stale = model.objects.filter(status=Status.RUNNING, heartbeat_at__lt=cutoff)
        for pk in list(stale.values_list("pk", flat=True)):
            try:
                outcome = take_over(model, pk, cutoff, dispatch=dispatch)
            except Exception:  # the next sweep tries again (its heartbeat is fresh now)
                log.exception("imports: recovering %s %s failed", model.__name__, pk)
                continue
            if outcome:
                counts[outcome] += 1
    if dispatch:
        lost = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at=None)
        for model in (ImportJob, NewTableJob, ExportJob):
            queued = model.objects.filter(lost, status=Status.PENDING)
            for pk in list(queued.values_list("pk", flat=True)):
                if model.objects.filter(lost, pk=pk, status=Status.PENDING).update(
                    heartbeat_at=timezone.now()
                ):
                    log.warning("imports: starting queued %s %s again", model, pk)
                    _start(model, str(pk))
                    counts["restarted"] += 1
    # A kept field's fill from the record history is a background job too (history/backfill.py).
    from history.backfill import resume_stalled

    counts["fills continued"] = resume_stalled(dispatch=dispatch)
    return counts


def take_over(model, pk, cutoff, *, dispatch: bool = True) -> str | None:
    """Recover one stale running job, if this caller wins it: "requeued", "failed",
    "cancelled", or None (another sweeper won, or its runner beat meanwhile)."""
    now = timezone.now()
    won = model.objects.filter(
        pk=pk, status=Status.RUNNING, heartbeat_at__lt=cutoff
    ).update(heartbeat_at=now, recoveries=F("recoveries") + 1)
    if not won:
        return None
    job = model.objects.get(pk=pk)
    log.warning(
        "imports: %s %s stopped with its process (no heartbeat since before %s)",
        model.__name__,
        pk,
        cutoff.isoformat(),
    )
    if model is ExportJob:
        return _export(job, dispatch)
    error = _drop_table(job) if model is NewTableJob else ""
    if job.cancel_requested:
        return _end(job, Status.CANCELLED, CANCELLED)
    if (
        not error
        and job.recoveries <= MAX_REQUEUES
        and job.path
        and os.path.exists(job.path)
    ):
        reset = {"done": 0, "total": None, "errors": [], "error": ""}
        if model is ImportJob:
            reset.update(checked=0, inserted=0, updated=0, refused=0, started_at=None)
        else:
            reset.update(table_id="", table_name="", source_id="")
        if _requeue(job, reset, dispatch):
            return "requeued"
        return _end(job, Status.CANCELLED, CANCELLED)
    return _end(job, Status.FAILED, error or STOPPED)


def _requeue(job, reset: dict, dispatch: bool) -> bool:
    """Queued again, unless a cancel came meanwhile (False). Without `dispatch` the
    heartbeat is cleared: the web process's next sweep starts it."""
    model = type(job)
    queued = model.objects.filter(
        pk=job.pk, status=Status.RUNNING, cancel_requested=False
    ).update(
        status=Status.PENDING,
        heartbeat_at=timezone.now() if dispatch else None,
        **reset,
    )
    if queued and dispatch:
        _start(model, str(job.pk))
    return bool(queued)


def _drop_table(job: NewTableJob) -> str:
    """The table a killed new-table import created, deleted as a cancel does; the job's
    error when that failed (the table stays, named).

    Found by `table_id` once the job noted it; else by the physical name the run noted just
    before the DDL: the process may have died after the metadata committed (a Table names
    it: deleted through the schema service) or before (only the user database has it:
    dropped there, if it is empty as such a table is)."""
    from bases.models import Table
    from imports.newtable import _drop
    from permissions.checks import Actor

    uploads.remove(f"{job.path}.copy")
    table = Table.objects.filter(pk=job.table_id).first() if job.table_id else None
    if table is None and job.table_name:
        # While the physical table exists no other can take its name: a Table naming it,
        # made since the job, is the one the dead run created.
        table = Table.objects.filter(
            source_id=job.source_id,
            table_name=job.table_name,
            created_at__gte=job.created_at,
        ).first()
        if table is None:
            return _drop_unlisted(job)
    if table is None:
        return ""
    if not _drop(Actor(user=job.user), table):
        return (
            "The import stopped because the process running it ended (a restart or "
            f"crash), and the new table “{table.title}” could not be removed: delete "
            "it from the base page."
        )
    NewTableJob.objects.filter(pk=job.pk).update(table_id="")
    job.table_id = ""
    return ""


def _drop_unlisted(job: NewTableJob) -> str:
    """The physical table of a run killed before its metadata committed, dropped from the
    user database (bases/schema_services.py::table_drop_unlisted); the job's error when
    that failed."""
    from bases.models import DataSource
    from bases.schema_services import table_drop_unlisted

    source = DataSource.objects.filter(pk=job.source_id).first()
    if source is not None:
        try:
            dropped = table_drop_unlisted(source=source, table_name=job.table_name)
        except Exception:
            log.exception("imports: could not drop the table %r", job.table_name)
            return (
                "The import stopped because the process running it ended (a restart or "
                f"crash), and the table it had begun to create (“{job.table_name}” in "
                "the database) could not be removed: drop it there."
            )
        if not dropped:  # rows or metadata: not the leftover it looked for
            log.warning("imports: left the table %r alone (in use)", job.table_name)
    NewTableJob.objects.filter(pk=job.pk).update(table_name="", source_id="")
    job.table_name = job.source_id = ""
    return ""


def _end(job, status: str, error: str) -> str:
    """Failed or cancelled for good: its files removed, logged like a run's end."""
    model = type(job)
    now = timezone.now()
    fields = {"status": status, "error": error, "finished_at": now, "done": 0}
    if model is ImportJob:
        fields.update(inserted=0, updated=0)
    model.objects.filter(pk=job.pk, status=Status.RUNNING).update(**fields)
    for name, value in fields.items():
        setattr(job, name, value)
    uploads.discard(job)
    uploads.remove(f"{job.path}.copy")
    if model is ImportJob:
        from imports.services import _audit
    else:
        from imports.newtable import _audit
    _audit(job, error)
    return "cancelled" if status == Status.CANCELLED else "failed"


def _export(job: ExportJob, dispatch: bool) -> str:
    from imports.exports import export_path

    uploads.remove(export_path(job) + ".part")
    if job.cancel_requested:
        error, status = "Export cancelled.", Status.CANCELLED
    elif job.recoveries <= MAX_REQUEUES:
        reset = {"done": 0, "started_at": None, "path": "", "error": ""}
        if _requeue(job, reset, dispatch):
            return "requeued"
        error, status = "Export cancelled.", Status.CANCELLED
    else:
        error, status = STOPPED_EXPORT, Status.FAILED
    ExportJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
        status=status, error=error, finished_at=timezone.now()
    )
    return "cancelled" if status == Status.CANCELLED else "failed"
