"""A large view's export as a background job with progress (docs/import-export.md, "Export of
a view"): the view menu's download of a view of more than NOCO_EXPORT_JOB_ROWS rows.

The file is written by the same code as the direct download (bases/export.py: `view_rows`,
`csv_chunks`, `xlsx_file`) as the member who asked (their permissions when the job runs,
which is when it starts: a field hidden from them is never read), page by page into
VAR_DIR/imports/<job id>.export.<csv|xlsx>: memory stays flat in the server and in the
browser, which downloads a finished file. The job runs where imports run (imports/tasks.py),
is cancelled between pages, and is pruned with imports (imports/prune.py).

A job made through the API (imports/export_api.py) with an API token runs through that
token (`ExportJob.api_token_id`): the run's Actor is the request's — its user narrowed to the
token's base and to reads — rebuilt from the token as it is when the job runs. A token revoked
(or deleted) before the file is complete fails the job (TOKEN_REVOKED), checked at every
page, and a file whose token was revoked before it was finished is never served.
"""

from __future__ import annotations

import logging
import os
import shutil

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse
from django.utils import timezone

from bases import export, records
from bases.models import Table
from imports import uploads
from imports.models import ExportJob, ImportJob
from imports.recovery import Pulse, alive
from nocoplatform.errors import Conflict, DomainError, Forbidden, NotFound
from permissions.checks import Actor, require

log = logging.getLogger(__name__)
Status = ImportJob.Status


class Cancelled(Exception):
    pass


TOKEN_REVOKED = (
    "The API token this export was started with was revoked before it finished; "
    "start it again with a valid token."
)


def run_actor(job: ExportJob) -> Actor:
    """The Actor the job reads as: its user, through its API token when it was made with one
    (the same narrowing as the request: base, read-only). Raises TOKEN_REVOKED when that
    token was revoked or deleted."""
    from permissions.models import ApiToken

    if job.api_token_id is None:
        return Actor(user=job.user)
    token = ApiToken.objects.filter(
        pk=job.api_token_id, user_id=job.user_id, revoked_at__isnull=True
    ).first()
    if token is None:
        raise Forbidden(TOKEN_REVOKED, code="TOKEN_REVOKED")
    if not job.user.is_active:  # as the token's authentication would refuse it
        raise Forbidden("The account that started this export is deactivated.")
    return Actor(user=job.user, token=token)


def _token_alive(job: ExportJob) -> None:
    if job.api_token_id is not None and token_revoked_before(job, None):
        raise Forbidden(TOKEN_REVOKED, code="TOKEN_REVOKED")


def view_count(table: Table, *, actor: Actor, view, search: str = "") -> int:
    """The view's row count as the grid shows it: exact up to NOCO_EXACT_COUNT_LIMIT, an
    estimate past it (bases/record_counts.py) — cheap on a huge table."""
    page = records.list_records(
        table,
        {"limit": "1"},
        actor=actor,
        view=view,
        search=search or None,
        count=True,
    )
    return int(page.page_info.get("totalRows") or 0)


def needs_job(count: int) -> bool:
    return count > settings.NOCO_EXPORT_JOB_ROWS


def export_path(job: ExportJob) -> str:
    # The job id first: imports/prune.py ties a file to its job by the name's first part.
    return os.path.join(uploads.imports_dir(), f"{job.pk}.export.{job.format}")


def job_start(
    *, actor: Actor, table: Table, view, fmt: str, search: str = "", total: int
) -> ExportJob:
    """Queue the export of `view` (None: the whole table, as the direct API export without
    `viewId`) as `actor` sees it (run on commit; through `actor.token` when it has one)."""
    from imports import tasks

    require(actor, "records.read", table)
    fmt = export.export_format(fmt)
    names = [table.title] + ([view.title] if view is not None else [])
    job = ExportJob.objects.create(
        table=table,
        view_id=view.pk if view is not None else "",
        user=actor.user,
        api_token_id=actor.token.pk if actor.token is not None else None,
        format=fmt,
        search=search[:200],
        file_name=export.file_name(*names, ext=fmt),
        total=total,
        heartbeat_at=timezone.now(),
    )
    transaction.on_commit(lambda: tasks.start_export(str(job.pk)))
    return job


def job_get(*, actor: Actor, job_id) -> ExportJob:
    """The job, for the user who made it only (anyone else: 404, as if it did not exist)."""
    try:
        job = ExportJob.objects.filter(pk=job_id, user=actor.user).first()
    except (ValueError, ValidationError):  # not a UUID
        job = None
    if job is None:
        raise NotFound("Export not found.", code="EXPORT_NOT_FOUND")
    return job


def job_cancel(job: ExportJob) -> ExportJob:
    """Not started: cancelled at once; running: stops at its next page (its file deleted).
    409 EXPORT_FINISHED when it has finished."""
    now = timezone.now()
    if ExportJob.objects.filter(pk=job.pk, status=Status.PENDING).update(
        status=Status.CANCELLED,
        cancel_requested=True,
        error="Export cancelled.",
        finished_at=now,
    ):
        pass
    elif not ExportJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
        cancel_requested=True
    ):
        job.refresh_from_db()
        raise Conflict("The export has finished.", code="EXPORT_FINISHED")
    job.refresh_from_db()
    return job


def token_revoked_before(job: ExportJob, moment) -> bool:
    """The job was made with an API token that is gone or was revoked before `moment`
    (None: at all)."""
    from permissions.models import ApiToken

    if job.api_token_id is None:
        return False
    found = list(
        ApiToken.objects.filter(pk=job.api_token_id).values_list(
            "revoked_at", flat=True
        )
    )
    if not found:
        return True  # deleted: when is unknown
    revoked_at = found[0]
    return revoked_at is not None and (moment is None or revoked_at <= moment)


def file_response(job: ExportJob) -> FileResponse:
    if job.status != Status.DONE or not job.path or not os.path.exists(job.path):
        raise NotFound("The export's file is not there.", code="EXPORT_NOT_FOUND")
    if token_revoked_before(job, job.finished_at):
        raise NotFound(TOKEN_REVOKED, code="EXPORT_NOT_FOUND")
    out = FileResponse(open(job.path, "rb"), content_type=export.FORMATS[job.format])
    out["Content-Disposition"] = export.content_disposition(job.file_name)
    out["X-Content-Type-Options"] = "nosniff"
    out["Cache-Control"] = "no-store"
    return out


# --------------------------------------------------------------------------------------------
# The runner


def _counted(job: ExportJob, pages):
    """The pages, each counted into the job's progress; stops when the job is cancelled."""
    for page in pages:
        yield page
        job.done += len(page)
        job.pulse(done=job.done)  # with the heartbeat (imports/recovery.py)
        if ExportJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
            raise Cancelled
        _token_alive(job)  # revoked meanwhile: no more pages read through it


def run_export(job_id: str) -> None:
    """Write the job's file (called by imports/tasks.py)."""
    claimed = ExportJob.objects.filter(pk=job_id, status=Status.PENDING).update(
        status=Status.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now()
    )
    if not claimed:
        return  # cancelled before it started, or run already
    job = ExportJob.objects.select_related("table", "user").get(pk=job_id)
    with alive(job):  # the heartbeat, through the XLSX packing (imports/recovery.py)
        _run(job)


def _run(job: ExportJob) -> None:
    from views.models import View

    job_id = str(job.pk)
    job.pulse = Pulse(job)
    path = export_path(job)
    partial = path + ".part"
    try:
        view = None
        if job.view_id:  # blank: the whole table (an API job without viewId)
            view = View.objects.filter(pk=job.view_id, table=job.table).first()
            if view is None:
                raise NotFound("The view was deleted.", code="VIEW_NOT_FOUND")
            view.table = job.table
        rows = export.view_rows(
            job.table, actor=run_actor(job), view=view, search=job.search
        )
        rows.pages = _counted(job, rows.pages)
        if job.format == "xlsx":
            # The sheet's name as the direct export's (bases/export.response): the view's,
            # else the table's.
            sheet = view.title if view is not None else job.table.title
            with (
                export.xlsx_file(rows, sheet=sheet) as tmp,
                open(partial, "wb") as out,
            ):
                shutil.copyfileobj(tmp, out)
        else:
            with open(partial, "wb") as out:
                for chunk in export.csv_chunks(rows):
                    out.write(chunk.encode("utf-8"))
        _token_alive(job)  # revoked while the last page was written
        os.replace(partial, path)
    except Cancelled:
        uploads.remove(partial)
        ExportJob.objects.filter(pk=job.pk).update(
            status=Status.CANCELLED,
            error="Export cancelled.",
            finished_at=timezone.now(),
        )
        return
    except DomainError as exc:
        uploads.remove(partial)
        _fail(job, exc.message)
        return
    except Exception:
        log.exception("exports: %s failed", job_id)
        uploads.remove(partial)
        _fail(job, "The export failed; try again.")
        return
    ExportJob.objects.filter(pk=job.pk).update(
        status=Status.DONE, path=path, finished_at=timezone.now(), total=job.done
    )


def _fail(job: ExportJob, message: str) -> None:
    ExportJob.objects.filter(pk=job.pk).update(
        status=Status.FAILED, error=message, finished_at=timezone.now()
    )
