"""CSV import into an existing table: upload (checked, previewed), start with a mapping, run.

All or nothing per job: the rows are inserted through records/writes.py in batches of BATCH,
all inside ONE transaction on the user database, so a refused row (or a crash) leaves the
table as it was; the job then says which line and why. Progress (rows done / total) is saved
in the meta DB after each batch — another connection, so it is visible while the import's
own transaction is still open. The runner is Celery when NOCO_WEBHOOKS_RUNNER is `celery`,
else a background thread of the web process (imports/tasks.py).
"""

from __future__ import annotations

import logging
import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit import log as audit
from bases.fieldtypes import field_type_for
from bases.models import Field, Table
from bases.sources import user_db
from bases.table_meta import TableMeta
from imports import csvfile, refused, uploads, upsert
from imports.models import ImportJob
from imports.recovery import CANCELLED, Pulse, alive
from nocoplatform.errors import Conflict, DomainError, InvalidInput, NotFound
from permissions.checks import Actor, can, require

log = logging.getLogger(__name__)
BATCH = 1000
MAX_ERRORS = refused.MAX_ERRORS


# The upload's files (imports/uploads.py), under the names the rest of the app uses.
_dir = uploads.imports_dir
_remove = uploads.remove
max_size = uploads.max_size


def target_fields(table: Table, actor: Actor) -> list[Field]:
    """The fields a CSV column may fill: visible, writable for the actor, stored, typed."""
    meta = TableMeta.of(table, actor=actor)
    out = []
    for f in meta.columns:
        ftype = field_type_for(f)
        if f.id in meta.read_only or f.is_system:
            continue
        if ftype.read_only and not ftype.auto_key:
            continue
        out.append(f)
    return out


def auto_mapping(header: list[str], fields: list[Field]) -> dict[str, str]:
    """Columns mapped by name (case and spaces ignored); the others skipped."""
    by_title = {f.title.strip().lower(): f for f in fields}
    out = {}
    for i, name in enumerate(header):
        f = by_title.get(name.strip().lower())
        if f is not None and f.id not in out.values():
            out[str(i)] = f.id
    return out


def job_create(
    *, actor: Actor, table: Table, upload, sheet: str | None = None
) -> ImportJob:
    """Save the uploaded file, check it and read its header (400 IMPORT_BAD_FILE). An
    Excel workbook (.xlsx) is read through a sheet (`sheet`, else the first one) and kept
    until the job starts, so `job_choose_sheet` can read another one."""
    may_import(actor, table)
    name, path = uploads.save(upload)
    file = uploads.read(path, name, sheet)
    return ImportJob.objects.create(
        table=table,
        user=actor.user,
        file_name=name,
        path=file.path,
        workbook_path=file.workbook_path,
        sheets=file.sheets,
        sheet=file.sheet,
        encoding=file.info.encoding,
        delimiter=file.info.delimiter,
        header=file.header,
        mapping=auto_mapping(file.header, target_fields(table, actor)),
    )


def job_choose_sheet(*, actor: Actor, job: ImportJob, sheet: str) -> ImportJob:
    """Read another sheet of the uploaded workbook: its header, preview and mapping (by
    name again; the key column is chosen again)."""
    may_import(actor, job.table)
    info, header = uploads.switch_sheet(job, sheet)
    job.encoding, job.delimiter, job.header = info.encoding, info.delimiter, header
    job.mapping = auto_mapping(header, target_fields(job.table, actor))
    job.key_column = None
    job.save()
    return job


def job_discard(job: ImportJob) -> None:
    """Forget an upload the API could not start (a bad mapping): its files and its job."""
    uploads.discard(job)
    job.delete()


def may_import(actor: Actor, table: Table) -> None:
    """Who may upload and follow an import into this table: editors and up (an editor's
    import may only update rows by key: job_start), else 403 / 404 as for any table."""
    require(actor, "records.update", table)


def job_get(*, actor: Actor, table: Table, job_id) -> ImportJob:
    may_import(actor, table)
    try:
        job = ImportJob.objects.filter(pk=job_id, table=table, user=actor.user).first()
    except (ValueError, ValidationError):  # not a UUID
        job = None
    if job is None:
        raise NotFound("Import not found.", code="IMPORT_NOT_FOUND")
    return job


def job_cancel(*, actor: Actor, job: ImportJob) -> ImportJob:
    """Cancel a job: at once when it has not started; a running one stops at its next batch
    and rolls back (the runner sees `cancel_requested`). A finished job: 409."""
    may_import(actor, job.table)
    if cancel_job(job):
        _audit(job, CANCELLED)
    return job


def cancel_job(job) -> bool:
    """The cancel of both imports (ImportJob, NewTableJob): a job not started yet is
    cancelled at once (its files removed; True, the caller logs it); a running one gets
    `cancel_requested`, which its runner re-reads between batches (`check_cancel`) and
    then rolls back. 409 IMPORT_FINISHED when it has finished."""
    model, Status, now = type(job), ImportJob.Status, timezone.now()
    if model.objects.filter(pk=job.pk, status__in=[Status.NEW, Status.PENDING]).update(
        status=Status.CANCELLED, error=CANCELLED, finished_at=now
    ):
        uploads.discard(job)
        job.status, job.error, job.finished_at = Status.CANCELLED, CANCELLED, now
        return True
    model.objects.filter(pk=job.pk, status=Status.RUNNING).update(cancel_requested=True)
    current = model.objects.filter(pk=job.pk).values_list("status", flat=True).first()
    if current is None:  # pruned meanwhile
        raise NotFound("Import not found.", code="IMPORT_NOT_FOUND")
    job.refresh_from_db()
    if job.status != Status.RUNNING:
        raise Conflict(
            f"This import has finished ({job.get_status_display()}): there is nothing "
            "to cancel.",
            code="IMPORT_FINISHED",
        )
    return False


def claim_start(job, fields: list[str]) -> None:
    """Save a job's start (status pending and `fields`) only while it is still uploaded,
    in one UPDATE: the prune (imports/prune.py) may have deleted it, or its file, since
    the page was read (404), or another start won (400)."""
    uploads.require_file(job)
    model = type(job)
    values = {name: getattr(job, name) for name in fields}
    if model.objects.filter(pk=job.pk, status=ImportJob.Status.NEW).update(
        status=ImportJob.Status.PENDING, heartbeat_at=timezone.now(), **values
    ):
        job.status = ImportJob.Status.PENDING
        return
    if model.objects.filter(pk=job.pk).exists():
        raise InvalidInput("This import has started already.", code="IMPORT_STARTED")
    raise NotFound(uploads.GONE, code="IMPORT_NOT_FOUND")


def preview(job: ImportJob) -> dict:
    """The first rows and, per column, the detected type and the mapped field."""
    uploads.require_file(job)
    info = csvfile.CsvInfo(job.encoding, job.delimiter)
    header, rows = csvfile.header_and_preview(job.path, info)
    types = [
        csvfile.detect_type([r[i] if i < len(r) else "" for r in rows])
        for i in range(len(header))
    ]
    return {"header": header, "rows": rows, "types": types}


def key_fields(fields: list[Field]) -> list[Field]:
    """The fields an upsert may match rows by: stored scalar columns (text, numbers, dates…)."""
    from records.bulk import scalar_column

    return [f for f in fields if f.column_name and scalar_column(f)]


def _key_column(job: ImportJob, key_column) -> int | None:
    """The key column as its index: given as an index or as the column's name."""
    if key_column is None or key_column == "":
        return None
    text = str(key_column)
    if re.fullmatch(r"\d+", text) and int(text) < len(job.header):
        return int(text)
    if text in job.header:
        return job.header.index(text)
    raise InvalidInput(f"Unknown key column '{text[:100]}'.", code="INVALID_MAPPING")


def job_start(
    *, actor: Actor, job: ImportJob, mapping: dict, key_column=None
) -> ImportJob:
    """Check the mapping ({column index: field id or ""}) and queue the job. `key_column`
    (a column's index or name) makes it an upsert: rows whose key matches are updated, the
    others inserted. Inserting needs `records.create` (creators); an editor's import must
    name a key and may only update."""
    table = job.table
    key = _key_column(job, key_column)
    if key is None:
        require(actor, "records.create", table)
    else:
        require(actor, "records.update", table)
    if job.status != ImportJob.Status.NEW:
        raise InvalidInput("This import has started already.", code="IMPORT_STARTED")
    fields = {f.id: f for f in target_fields(table, actor)}
    clean: dict[str, str] = {}
    for column, field_id in (mapping or {}).items():
        if not field_id:
            continue
        if not re.fullmatch(r"\d+", str(column)) or int(column) >= len(job.header):
            raise InvalidInput(f"Unknown column {column}.", code="INVALID_MAPPING")
        if not isinstance(field_id, str) or field_id not in fields:
            raise InvalidInput(
                f"Column '{job.header[int(column)]}' is mapped to a field you cannot "
                "fill.",
                code="INVALID_MAPPING",
            )
        if field_id in clean.values():
            raise InvalidInput(
                f"'{fields[field_id].title}' is mapped twice.", code="INVALID_MAPPING"
            )
        clean[str(column)] = field_id
    if not clean:
        raise InvalidInput(
            "Map at least one column to a field.", code="INVALID_MAPPING"
        )
    if key is not None:
        name = job.header[key]
        if str(key) not in clean:
            raise InvalidInput(
                f"The key column '{name}' must be mapped to a field.",
                code="INVALID_MAPPING",
            )
        key_field = fields[clean[str(key)]]
        if key_field not in key_fields([key_field]):
            raise InvalidInput(
                f"'{key_field.title}' cannot match rows (choose a text, number or "
                "date field).",
                code="INVALID_MAPPING",
            )
        if not TableMeta.of(table, actor=actor).pk:
            raise InvalidInput(
                f"'{table.title}' has no primary key: its rows cannot be updated.",
                code="INVALID_MAPPING",
            )
    job.mapping = clean
    job.key_column = key
    claim_start(job, ["mapping", "key_column"])
    uploads.forget_workbook(job)  # the sheet is chosen
    from imports import tasks

    transaction.on_commit(lambda: tasks.start(str(job.pk)))
    return job


_ROW = re.compile(r"^row (\d+): ")


class Cancelled(Exception):
    """The job was cancelled: leave its transaction (rolled back)."""


def run_import(job_id: str) -> None:
    """Run a queued job to its end (the runner's entry point)."""
    # Claimed atomically: a cancel of the pending job and the runner cannot both win.
    claimed = ImportJob.objects.filter(
        pk=job_id, status=ImportJob.Status.PENDING
    ).update(status=ImportJob.Status.RUNNING, heartbeat_at=timezone.now())
    job = ImportJob.objects.filter(pk=job_id).first()
    if not claimed or job is None:
        return
    with alive(job):  # the heartbeat, through the final COMMIT (imports/recovery.py)
        try:
            _run(job)
        except Cancelled:
            _finish(job, ImportJob.Status.CANCELLED, CANCELLED)
        except DomainError as exc:
            _finish(job, ImportJob.Status.FAILED, exc.message)
        except Exception as exc:  # reported on the job, and logged with its traceback
            log.exception("import %s failed", job.pk)
            _finish(job, ImportJob.Status.FAILED, f"The import failed: {exc}")
        else:
            _finish(job, ImportJob.Status.DONE, "")
        finally:
            _remove(job.path)


def _finish(job: ImportJob, status: str, error: str) -> None:
    if status != ImportJob.Status.DONE:  # rolled back: nothing was written
        job.done = job.inserted = job.updated = 0
    job.status, job.error, job.finished_at = status, error[:2000], timezone.now()
    job.save(
        update_fields=[
            "status",
            "error",
            "errors",
            "refused",
            "finished_at",
            "done",
            "total",
            "inserted",
            "updated",
        ]
    )
    _audit(job, error)


def _audit(job: ImportJob, error: str) -> None:
    table = job.table
    action = {
        ImportJob.Status.DONE: "import.done",
        ImportJob.Status.CANCELLED: "import.cancelled",
    }.get(job.status, "import.failed")
    audit.record(
        Actor(user=job.user),
        table.base_id,
        action,
        target=f"{table.title} ← {job.file_name}",
        target_id=job.pk,
        rows=job.done,
        inserted=job.inserted,
        updated=job.updated,
        error=error[:300],
    )


def check_cancel(job) -> None:
    """Between batches (either import): leave with `Cancelled` when a cancel was asked."""
    if type(job).objects.filter(pk=job.pk, cancel_requested=True).exists():
        raise Cancelled


class _Plan:
    """What a run writes: the mapped columns, the upsert's key, whether it may insert."""

    def __init__(self, job: ImportJob, table: Table, actor: Actor):
        upserting = job.key_column is not None
        require(actor, "records.update" if upserting else "records.create", table)
        fields = {
            f.id: f for f in target_fields(table, actor)
        }  # the role may have changed
        self.columns = [
            (int(c), fields[fid]) for c, fid in job.mapping.items() if fid in fields
        ]
        if not self.columns:
            raise InvalidInput("None of the mapped fields can be filled any more.")
        self.key: Field | None = None
        self.key_index = job.key_column
        if upserting:
            self.key = fields.get(job.mapping.get(str(job.key_column), ""))
            if self.key is None:
                raise InvalidInput("The key column's field cannot be filled any more.")
        self.may_insert = not upserting or can(actor, "records.create", table)

    def key_cell(self, cells: list[str]) -> str:
        i = self.key_index
        return cells[i] if i is not None and i < len(cells) else ""


def _run(job: ImportJob) -> None:
    actor = Actor(user=job.user)
    table = Table.objects.select_related("source", "base").get(pk=job.table_id)
    plan = _Plan(job, table, actor)
    info = csvfile.CsvInfo(job.encoding, job.delimiter)
    refusals = refused.Refusals(job)
    pulse = job.pulse = Pulse(job)  # the heartbeat (imports/recovery.py)
    try:
        _check_rows(job, table, actor, plan, info, refusals)
        job.started_at = timezone.now()
        pulse(total=job.total, started_at=job.started_at, checked=job.checked)
        _write_rows(job, table, actor, plan, info, refusals)
    finally:
        refusals.close()


def _write_rows(job, table, actor, plan: _Plan, info, refusals) -> None:
    rows = csvfile.read_rows(job.path, info)
    next(rows, None)  # the header
    meta = TableMeta.of(table, actor=actor)
    with user_db(table.source) as conn, transaction.atomic(using=conn.alias):
        batch: list[tuple[int, list[str]]] = []
        for line, cells in rows:
            job.pulse()
            if not any(c.strip() for c in cells) or line in refusals.lines:
                continue
            batch.append((line, cells))
            if len(batch) >= BATCH:
                check_cancel(job)
                _write_batch(conn, meta, table, actor, plan, batch, job, refusals)
                batch = []
        if batch:
            check_cancel(job)
            _write_batch(conn, meta, table, actor, plan, batch, job, refusals)
        if refusals:
            _refused_error(job)
        check_cancel(job)  # the last chance before the commit


def _row(cells: list[str], columns) -> dict:
    return {
        f.title: (cells[i] if i < len(cells) and cells[i] != "" else None)
        for i, f in columns
    }


def _refused_error(job: ImportJob) -> None:
    job.errors.sort(key=lambda e: e["line"])  # the check's refusals, then the matches'
    n = job.refused
    first = job.errors[0]
    more = f" (the first {MAX_ERRORS} are listed)" if n > MAX_ERRORS else ""
    raise InvalidInput(
        f"{n} row{'s' if n != 1 else ''} refused{more}: "
        f"line {first['line']}: {first['message']} Nothing was imported.",
        code="IMPORT_ROWS_REFUSED",
    )


def _check_rows(
    job: ImportJob, table, actor: Actor, plan: _Plan, info, refusals
) -> None:
    """First pass, before any write: every row parsed by its fields' types (the file read
    to its end once); for an upsert, keys seen twice in the file (and, for an editor, rows
    without a key) refused. Refused rows fail the job with their lines."""
    from records import inputs

    meta = TableMeta.of(table, actor=actor)
    cache: dict = {}
    total = 0
    keys: dict = {}
    rows = csvfile.read_rows(job.path, info)
    next(rows, None)
    for line, cells in rows:
        job.pulse()
        if not any(c.strip() for c in cells):
            continue
        total += 1
        if total % BATCH == 0:
            check_cancel(job)
            job.pulse(checked=total)
        try:
            values = inputs.values(
                meta, _row(cells, plan.columns), None, for_update=False, columns=cache
            )
        except DomainError as exc:
            refusals.add(line, exc.message, cells)
            continue
        if plan.key is None:
            continue
        value = values.get(plan.key)
        if value is None:
            if not plan.may_insert:
                refusals.add(
                    line,
                    f"the key '{plan.key.title}' is empty: you may update rows, not "
                    "add them.",
                    cells,
                )
            continue
        seen = keys.setdefault(value, line)
        if seen != line:
            refusals.add(
                line, f"the key '{plan.key_cell(cells)}' is on line {seen} too.", cells
            )
    job.total = job.checked = total
    if refusals and plan.key is None:
        _refused_error(job)
    # An upsert goes on to match its keys (writing nothing after a refusal): every line
    # that cannot be written is listed at once, those without a row too.


def _write_batch(conn, meta, table, actor, plan: _Plan, batch, job, refusals) -> None:
    """Write one batch (insert, or match keys then update and insert). After a refused
    row nothing more is written: the rest is only matched, to list every refusal."""
    from records.writes import insert_rows, update_rows

    if plan.key is None:
        inserts, updates = batch, []
    else:
        inserts, updates = _match_batch(conn, meta, table, plan, batch, refusals)
    if refusals:
        return
    if updates:
        _write(
            update_rows,
            table,
            [row for _, _, row in updates],
            [(line, cells) for line, cells, _ in updates],
            actor,
            refusals,
        )
        job.updated += len(updates)
    if inserts:
        _write(
            insert_rows,
            table,
            [_row(cells, plan.columns) for _, cells in inserts],
            inserts,
            actor,
            refusals,
        )
        job.inserted += len(inserts)
    job.done += len(batch)
    job.pulse(
        done=job.done, total=job.total, inserted=job.inserted, updated=job.updated
    )


def _match_batch(conn, meta, table, plan: _Plan, batch, refusals):
    """Split a batch into rows to insert and rows to update ({title: value} with the
    matched row's primary key), one SELECT for the batch's keys."""
    from records import inputs

    field, parse = inputs.column_for(meta, plan.key.title, "", False)
    keyed = []
    for line, cells in batch:
        text = plan.key_cell(cells)
        keyed.append((line, cells, parse(text, field.options) if text != "" else None))
    wanted = [k for _, _, k in keyed if k is not None]
    found = upsert.match(conn, table, meta.pk, plan.key, wanted) if wanted else {}
    inserts, updates = [], []
    for line, cells, value in keyed:
        rows = found.get(value) if value is not None else None
        if not rows:
            if plan.may_insert:
                inserts.append((line, cells))
            else:
                refusals.add(
                    line,
                    f"no row has '{plan.key.title}' = '{plan.key_cell(cells)}': you may "
                    "update rows, not add them.",
                    cells,
                )
        elif len(rows) > 1:
            refusals.add(
                line,
                f"{len(rows)} rows have '{plan.key.title}' = "
                f"'{plan.key_cell(cells)}': the key must name one row.",
                cells,
            )
        else:
            row = _row(cells, plan.columns)
            if not plan.key.is_pk:
                row.pop(plan.key.title, None)  # matched on it: nothing to change
            for f, v in zip(meta.pk, rows[0], strict=True):
                row[f.title] = v
            updates.append((line, cells, row))
    return inserts, updates


def _write(writer, table, rows, lines_cells, actor, refusals) -> None:
    """Insert or update the rows; a row the database refuses fails the job with its line."""
    try:
        writer(table, rows, actor=actor, max_rows=None)
    except DomainError as exc:
        lines = [line for line, _ in lines_cells]
        match = _ROW.match(exc.message)
        if match and int(match.group(1)) < len(lines):
            line, cells = lines_cells[int(match.group(1))]
            message = exc.message[match.end() :]
            refusals.add(line, message, cells)
            raise type(exc)(
                f"Line {line}: {message} Nothing was imported.", code=exc.code
            )
        where = (
            f"Line {lines[0]}" if len(lines) == 1 else f"Lines {lines[0]}–{lines[-1]}"
        )
        raise type(exc)(f"{where}: {exc.message} Nothing was imported.", code=exc.code)
