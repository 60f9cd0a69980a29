"""Import a CSV or Excel file into a NEW table: upload, preview with a type per column, run.

1. `job_create`: the file is saved and checked like any import (imports/csvfile.py,
   xlsxfile.py); an Excel workbook's sheets are listed (the first one read, another chosen
   with `job_choose_sheet`). Each column's type is guessed from the first rows
   (imports/coltypes.py) and the table's name defaults to the file's, unique in the base.
2. `job_start`: the user's name and types, checked; the job is queued (imports/tasks.py).
3. `run_new_table`, all or nothing: a CHECK pass reads the whole file and converts every cell
   with the type chosen for its column (the field type's own parser, bounded like the column
   that will exist). A refused row fails the job with its line and reason, and NO table is
   created. Else the table is created through the schema service (bases/schema_services.py
   `table_create`: DDL, metadata, cache versions, members' rights, activity log), then
   filled — on the PostgreSQL built-in store by COPY from the spool the check pass wrote
   (imports/copyload.py, each cell converted once), elsewhere through records/writes.py's
   insert path in batches, inside one transaction. Should the load still fail (the database
   goes away, a timeout), the new table is deleted again through `table_delete`: nothing is
   left behind either way.
4. `job_cancel` (imports/services.py::cancel_job, the same as an import into an existing
   table): a job not started is cancelled at once; a running one gets `cancel_requested`,
   re-read every BATCH rows of the check pass, between COPY's chunks (and once more before
   its commit) or the insert path's batches. The load's transaction rolls back and the
   table it created is deleted like a failed load's.

Why check first rather than create the table and drop it on a refused row: a refused row is
the common failure (a spreadsheet's typo); checking first means no table appears in the base
for a while and no create/delete pair lands in the activity log for it, and single-select
options must be known from the whole file before the field is created anyway.
"""

from __future__ import annotations

import logging
import os

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit import log as audit
from bases import schema_services
from bases.models import Base, Table
from bases.sources import user_db
from imports import coltypes, copyload, csvfile, uploads
from imports.models import ImportJob, NewTableJob
from imports.recovery import Pulse, alive
from imports.services import (
    BATCH,
    CANCELLED,
    MAX_ERRORS,
    Cancelled,
    _remove,
    cancel_job,
    check_cancel,
    claim_start,
)
from nocoplatform.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
)
from permissions.checks import SYSTEM, Actor, require

log = logging.getLogger(__name__)
Status = ImportJob.Status
RESERVED = ("id",)  # the new table's own key is titled Id


def _source(base: Base):
    source = base.sources.order_by("created_at").first()
    if source is None:
        raise Conflict("This base has no data source.")
    if not source.allow_schema_edit:
        raise Forbidden(
            "Schema editing is switched off for this data source (data source settings).",
            code="SCHEMA_EDIT_DISABLED",
        )
    return source


def uses_copy(source) -> bool:
    """COPY for the PostgreSQL built-in store; the insert path everywhere else."""
    return source.is_builtin and source.kind == "pg"


def _guess(job: NewTableJob, info: csvfile.CsvInfo, header: list[str]) -> None:
    """Each column's type from the first SAMPLE_ROWS rows, its title from the header."""
    sample: list[list[str]] = []
    rows = csvfile.read_rows(job.path, info)
    next(rows, None)
    for _, cells in rows:
        sample.append(cells)
        if len(sample) >= coltypes.SAMPLE_ROWS:
            break
    rows.close()
    titles = coltypes.unique_titles(header, RESERVED)
    job.encoding, job.delimiter, job.header = info.encoding, info.delimiter, header
    job.columns = []
    for i, title in enumerate(titles):
        guess = coltypes.detect([r[i] if i < len(r) else "" for r in sample])
        job.columns.append({**guess, "title": title, "detected": guess["type"]})


def default_title(base: Base, file_name: str) -> str:
    stem = os.path.splitext(file_name)[0].strip() or "Imported"
    stem = stem[:240]
    title, n = stem, 2
    while base.tables.filter(title__iexact=title).exists():
        title, n = f"{stem} {n}", n + 1
    return title


def job_create(
    *, actor: Actor, base: Base, upload, sheet: str | None = None
) -> NewTableJob:
    """Save and check the file (400 IMPORT_BAD_FILE), guess its columns' types."""
    require(actor, "table.create", base)
    _source(base)
    name, path = uploads.save(upload)
    file = uploads.read(path, name, sheet)
    job = NewTableJob(
        base=base,
        user=actor.user,
        file_name=name,
        path=file.path,
        workbook_path=file.workbook_path,
        sheets=file.sheets,
        sheet=file.sheet,
    )
    try:
        _guess(job, file.info, file.header)
    except DomainError:
        uploads.discard(job)
        raise
    job.title = default_title(base, name)
    job.save()
    return job


def job_get(*, actor: Actor, base: Base, job_id) -> NewTableJob:
    require(actor, "table.create", base)
    try:
        job = NewTableJob.objects.filter(pk=job_id, base=base, user=actor.user).first()
    except (ValueError, ValidationError):  # not a UUID
        job = None
    if job is None:
        raise NotFound("Import not found.", code="IMPORT_NOT_FOUND")
    return job


def job_choose_sheet(*, actor: Actor, job: NewTableJob, sheet: str) -> NewTableJob:
    """Read another sheet of the uploaded workbook (types guessed again)."""
    require(actor, "table.create", job.base)
    info, header = uploads.switch_sheet(job, sheet)
    _guess(job, info, header)
    job.save()
    return job


def preview(job: NewTableJob) -> dict:
    """The first rows as they are in the file."""
    uploads.require_file(job)
    _, rows = csvfile.header_and_preview(
        job.path, csvfile.CsvInfo(job.encoding, job.delimiter)
    )
    return {"header": job.header, "rows": rows}


def job_start(
    *, actor: Actor, job: NewTableJob, title: str | None = None, columns=None
) -> NewTableJob:
    """Check the table's name and the columns' types ({title, type, …} per file column,
    type "skip" to leave one out), then queue the job."""
    require(actor, "table.create", job.base)
    _source(job.base)
    if job.status != Status.NEW:
        raise InvalidInput("This import has started already.", code="IMPORT_STARTED")
    title = (job.title if title is None else str(title)).strip()
    if not title or len(title) > 255:
        raise InvalidInput(
            "The new table needs a name (at most 255 characters).",
            code="INVALID_COLUMNS",
        )
    if job.base.tables.filter(title__iexact=title).exists():
        raise Conflict(
            f"A table called '{title}' exists already.", code="DUPLICATE_TITLE"
        )
    if columns is None:
        columns = job.columns
    chosen = coltypes.check_columns(
        job.header, columns, lambda t: t.lower() in RESERVED
    )
    for old, new in zip(job.columns, chosen, strict=True):
        for key in ("dateOrder", "decimalSep", "precision"):
            if key not in new and key in old:
                new[key] = old[key]
        new["detected"] = old.get("detected", "")
    job.title, job.columns = title, chosen
    claim_start(job, ["title", "columns"])
    uploads.forget_workbook(job)  # the sheet is chosen
    from imports import tasks

    transaction.on_commit(lambda: tasks.start_new_table(str(job.pk)))
    return job


def job_cancel(*, actor: Actor, job: NewTableJob) -> NewTableJob:
    """Cancel the job: at once when not started; a running one stops at its next chunk,
    rolls back and deletes the table it created. A finished job: 409 IMPORT_FINISHED."""
    require(actor, "table.create", job.base)
    if cancel_job(job):
        _audit(job, CANCELLED)
    return job


# --- the run ---------------------------------------------------------------------------------


def run_new_table(job_id: str) -> None:
    """Run a queued job to its end (the runner's entry point)."""
    # Claimed atomically: a cancel of the pending job and the runner cannot both win.
    claimed = NewTableJob.objects.filter(pk=job_id, status=Status.PENDING).update(
        status=Status.RUNNING, heartbeat_at=timezone.now()
    )
    job = NewTableJob.objects.filter(pk=job_id).first()
    if not claimed or job is None:
        return
    spool = f"{job.path}.copy"
    with alive(job):  # the heartbeat, through DDL and COMMIT (imports/recovery.py)
        try:
            _run(job, spool)
        except Cancelled:
            _finish(job, Status.CANCELLED, CANCELLED)
        except DomainError as exc:
            _finish(job, Status.FAILED, exc.message)
        except Exception as exc:  # reported on the job, and logged with its traceback
            log.exception("import %s failed", job.pk)
            _finish(job, Status.FAILED, f"The import failed: {exc}")
        else:
            _finish(job, Status.DONE, "")
        finally:
            _remove(job.path)
            _remove(spool)


def _finish(job: NewTableJob, status: str, error: str) -> None:
    job.status, job.error, job.finished_at = status, error[:2000], timezone.now()
    job.save(
        update_fields=[
            "status",
            "error",
            "errors",
            "finished_at",
            "done",
            "total",
            "table_id",
        ]
    )
    _audit(job, error)


def _audit(job: NewTableJob, error: str) -> None:
    action = {
        Status.DONE: "import.done",
        Status.CANCELLED: "import.cancelled",
    }.get(job.status, "import.failed")
    audit.record(
        Actor(user=job.user),
        job.base_id,
        action,
        target=f"{job.title} (new table) ← {job.file_name}",
        target_id=job.table_id or job.pk,
        rows=job.done,
        error=error[:300],
    )


def _run(job: NewTableJob, spool: str) -> None:
    actor = Actor(user=job.user)
    base = Base.objects.get(pk=job.base_id)
    require(actor, "table.create", base)  # the role may have changed since
    source = _source(base)
    kept = [(i, c) for i, c in enumerate(job.columns) if c["type"] != coltypes.SKIP]
    copy = uses_copy(source)
    pulse = job.pulse = Pulse(job)  # the heartbeat (imports/recovery.py)
    choices = _check(job, source.kind, kept, spool if copy else None)
    specs = [coltypes.field_spec(c, choices.get(i)) for i, c in kept]
    pulse(total=job.total)

    def noted(where, name: str) -> None:
        # Committed before the DDL (which commits on the user database before the table's
        # metadata does on the meta DB): a process killed in between leaves a table that
        # only this names, and the recovery (imports/recovery.py) drops it.
        job.table_name, job.source_id = name, where.pk
        NewTableJob.objects.filter(pk=job.pk).update(
            table_name=name, source_id=where.pk
        )

    # The job's note of the table lands after the metadata: killed in between, the
    # recovery finds the table by the name noted above.
    table = schema_services.table_create(
        actor=actor, base=base, title=job.title, columns=specs, before_ddl=noted
    )
    job.table_id = table.pk
    pulse(table_id=table.pk, total=job.total)
    try:
        by_title = {f.title: f for f in table.fields.all()}
        fields = [by_title[c["title"]] for _, c in kept]
        if copy:
            copyload.load(
                table,
                fields,
                spool,
                lambda n: _progress(job, n),
                check=lambda: (pulse(), check_cancel(job)),
            )
        else:
            _insert(job, table, actor, kept)
    except BaseException as exc:
        job.done = 0  # the load's transaction rolled back
        if not _drop(actor, table):
            why = "was cancelled" if isinstance(exc, Cancelled) else f"failed ({exc})"
            raise InvalidInput(
                f"The import {why}, and the new table “{table.title}” could not "
                "be removed: delete it from the base page.",
                code="IMPORT_FAILED",
            ) from exc
        job.table_id = ""
        raise


def _progress(job: NewTableJob, done: int) -> None:
    job.done = done
    job.pulse(done=done)


def _drop(actor: Actor, table: Table) -> bool:
    """The table of a failed load, deleted through the schema service (logged); False when
    that failed too (the database is gone: the job says so)."""
    try:
        try:
            schema_services.table_delete(actor=actor, table=table)
        except (
            Forbidden
        ):  # the role changed meanwhile: the server cleans up after itself
            schema_services.table_delete(actor=SYSTEM, table=table)
    except Exception:
        log.exception("import: could not remove the new table %s", table.pk)
        return False
    return True


def _check(job: NewTableJob, db: str, kept, spool: str | None) -> dict[int, list]:
    """The check pass over the whole file: every cell converted by its column's type.
    Refused rows (≤ MAX_ERRORS) fail the job before anything is created. With `spool`, the
    converted rows are written there as COPY text. Returns each select column's options,
    in the order they first appear."""
    choices: dict[int, dict] = {i: {} for i, c in kept if c["type"] == "select"}
    planned = {
        i: coltypes.planned_field(c, db=db) for i, c in kept
    }  # selects without choices: any text, collected below
    converters = [(i, coltypes.converter(planned[i], c, db=db)) for i, c in kept]
    selects = [(n, choices[i]) for n, (i, _) in enumerate(converters) if i in choices]
    total, errors = 0, []
    out = open(spool, "w", encoding="utf-8", newline="") if spool else None
    try:
        rows = csvfile.read_rows(job.path, csvfile.CsvInfo(job.encoding, job.delimiter))
        next(rows, None)  # the header
        width = len(job.header)
        for line, cells in rows:
            job.pulse()
            if not any(c.strip() for c in cells):
                continue
            total += 1
            if total % BATCH == 0:
                check_cancel(job)
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            try:
                values = [convert(cells[i]) for i, convert in converters]
            except DomainError as exc:
                if len(errors) < MAX_ERRORS:
                    errors.append(
                        {"line": line, "message": _why(job, cells, converters, exc)}
                    )
                continue
            for n, seen in selects:
                value = values[n]
                if value and value not in seen:
                    if len(seen) >= coltypes.MAX_CHOICES:
                        raise InvalidInput(
                            f"Column '{planned[converters[n][0]].title}' has more than "
                            f"{coltypes.MAX_CHOICES} different values: import it as text. "
                            "Nothing was imported.",
                            code="IMPORT_TOO_MANY_OPTIONS",
                        )
                    seen[value] = None
            if out is not None and not errors:
                out.write(copyload.copy_line(values))
    finally:
        if out is not None:
            out.close()
    job.total = total
    if errors:
        job.errors = errors
        more = " (the first 100 are listed)" if len(errors) >= MAX_ERRORS else ""
        raise InvalidInput(
            f"{len(errors)} row{'s' if len(errors) != 1 else ''} refused{more}: "
            f"line {errors[0]['line']}: {errors[0]['message']} Nothing was imported.",
            code="IMPORT_ROWS_REFUSED",
        )
    return {i: list(seen) for i, seen in choices.items()}


def _why(job: NewTableJob, cells, converters, exc: DomainError) -> str:
    """The refused cell's column and the type's reason."""
    for i, convert in converters:
        try:
            convert(cells[i])
        except DomainError as cell_exc:
            return f"{job.columns[i]['title']}: {cell_exc.message}"
    return exc.message


def _insert(job: NewTableJob, table: Table, actor: Actor, kept) -> None:
    """Elsewhere than the PostgreSQL built-in store: the rows through the insert path
    (records/writes.py), BATCH at a time, all in one transaction."""
    from records.writes import insert_rows

    db = table.source.kind
    fields = {f.title: f for f in table.fields.all()}
    converters = [
        (i, c["title"], coltypes.converter(fields[c["title"]], c, db=db))
        for i, c in kept
    ]
    rows = csvfile.read_rows(job.path, csvfile.CsvInfo(job.encoding, job.delimiter))
    next(rows, None)
    width = len(job.header)
    with user_db(table.source) as conn, transaction.atomic(using=conn.alias):
        batch: list[dict] = []
        for _, cells in rows:
            if not any(c.strip() for c in cells):
                continue
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            batch.append({title: convert(cells[i]) for i, title, convert in converters})
            if len(batch) >= BATCH:
                check_cancel(job)
                insert_rows(table, batch, actor=actor, max_rows=None)
                _progress(job, job.done + len(batch))
                batch = []
        if batch:
            check_cancel(job)
            insert_rows(table, batch, actor=actor, max_rows=None)
            _progress(job, job.done + len(batch))
        check_cancel(job)  # the last chance before the commit
