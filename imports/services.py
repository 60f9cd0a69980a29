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
import os
import re
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit import log as audit
from bases.fieldtypes import field_type_for
from bases.models import Field, Table
from bases.sources import user_db
from bases.table_meta import TableMeta
from imports import csvfile, xlsxfile
from imports.models import ImportJob
from nocoplatform.errors import DomainError, InvalidInput, NotFound
from permissions.checks import Actor, require

log = logging.getLogger(__name__)
BATCH = 1000
MAX_ERRORS = 100
CHUNK = 64 * 1024


def _dir() -> str:
    path = os.path.join(str(settings.VAR_DIR), "imports")
    os.makedirs(path, exist_ok=True)
    return path


def max_size() -> int:
    return settings.NOCO_IMPORT_MAX_SIZE


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
    """Save the uploaded file, check it and read its header (400 IMPORT_BAD_FILE).
    An Excel workbook (.xlsx) becomes CSV first (imports/xlsxfile.py; `sheet`, else the
    first one)."""
    require(actor, "records.create", table)
    if upload is None:
        raise InvalidInput("Choose a CSV file to import.", code="IMPORT_BAD_FILE")
    name = os.path.basename(str(upload.name or "import.csv"))[:255]
    if upload.size is not None and upload.size > max_size():
        raise csvfile.bad_file(
            f"The file is larger than {max_size() // (1024 * 1024)} MB."
        )
    path = os.path.join(_dir(), f"{uuid.uuid4().hex}.csv")
    size = 0
    try:
        with open(path, "wb") as out:
            for chunk in upload.chunks(CHUNK):
                size += len(chunk)
                if size > max_size():
                    raise csvfile.bad_file(
                        f"The file is larger than {max_size() // (1024 * 1024)} MB."
                    )
                out.write(chunk)
        if name.lower().endswith(".xlsx") or xlsxfile.is_xlsx(path):
            converted = path[: -len(".csv")] + ".sheet.csv"
            try:
                xlsxfile.to_csv(path, converted, sheet=(sheet or "").strip() or None)
            except DomainError:
                _remove(converted)
                raise
            _remove(path)
            path = converted
        info = csvfile.sniff(path)
        header, _ = csvfile.header_and_preview(path, info)
    except DomainError:
        _remove(path)
        raise
    fields = target_fields(table, actor)
    return ImportJob.objects.create(
        table=table,
        user=actor.user,
        file_name=name,
        path=path,
        encoding=info.encoding,
        delimiter=info.delimiter,
        header=header,
        mapping=auto_mapping(header, fields),
    )


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def job_get(*, actor: Actor, table: Table, job_id) -> ImportJob:
    require(actor, "records.create", table)
    try:
        job = ImportJob.objects.filter(pk=job_id, table=table, user=actor.user).first()
    except (ValueError, ValidationError):  # not a UUID
        job = None
    if job is None:
        raise NotFound("Import not found.", code="IMPORT_NOT_FOUND")
    return job


def preview(job: ImportJob) -> dict:
    """The first rows and, per column, the detected type and the mapped field."""
    info = csvfile.CsvInfo(job.encoding, job.delimiter)
    header, rows = csvfile.header_and_preview(job.path, info)
    types = [
        csvfile.detect_type([r[i] if i < len(r) else "" for r in rows])
        for i in range(len(header))
    ]
    return {"header": header, "rows": rows, "types": types}


def job_start(*, actor: Actor, job: ImportJob, mapping: dict) -> ImportJob:
    """Check the mapping ({column index: field id or ""}) and queue the job."""
    require(actor, "records.create", job.table)
    if job.status != ImportJob.Status.NEW:
        raise InvalidInput("This import has started already.", code="IMPORT_STARTED")
    fields = {f.id: f for f in target_fields(job.table, actor)}
    clean: dict[str, str] = {}
    for column, field_id in (mapping or {}).items():
        if not field_id:
            continue
        if not re.fullmatch(r"\d+", str(column)) or int(column) >= len(job.header):
            raise InvalidInput(f"Unknown column {column}.", code="INVALID_MAPPING")
        if field_id not in fields:
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
    job.mapping = clean
    job.status = ImportJob.Status.PENDING
    job.save(update_fields=["mapping", "status"])
    from imports import tasks

    transaction.on_commit(lambda: tasks.start(str(job.pk)))
    return job


_ROW = re.compile(r"^row (\d+): ")


def run_import(job_id: str) -> None:
    """Run a queued job to its end (the runner's entry point)."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.status != ImportJob.Status.PENDING:
        return
    job.status = ImportJob.Status.RUNNING
    job.save(update_fields=["status"])
    try:
        _run(job)
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
    job.status, job.error, job.finished_at = status, error[:2000], timezone.now()
    job.save(
        update_fields=["status", "error", "errors", "finished_at", "done", "total"]
    )
    table = job.table
    audit.record(
        Actor(user=job.user),
        table.base_id,
        "import.done" if status == ImportJob.Status.DONE else "import.failed",
        target=f"{table.title} ← {job.file_name}",
        target_id=job.pk,
        rows=job.done,
        error=error[:300],
    )


def _run(job: ImportJob) -> None:
    from records.writes import insert_rows

    actor = Actor(user=job.user)
    table = Table.objects.select_related("source", "base").get(pk=job.table_id)
    require(actor, "records.create", table)  # the role may have changed since
    fields = {f.id: f for f in target_fields(table, actor)}
    columns = [(int(c), fields[fid]) for c, fid in job.mapping.items() if fid in fields]
    if not columns:
        raise InvalidInput("None of the mapped fields can be filled any more.")
    info = csvfile.CsvInfo(job.encoding, job.delimiter)
    _check_rows(job, table, actor, columns, info)
    job.save(update_fields=["total"])
    rows = csvfile.read_rows(job.path, info)
    next(rows, None)  # the header
    with user_db(table.source) as conn, transaction.atomic(using=conn.alias):
        batch: list[dict] = []
        lines: list[int] = []
        for line, cells in rows:
            if not any(c.strip() for c in cells):
                continue
            batch.append(_row(cells, columns))
            lines.append(line)
            if len(batch) >= BATCH:
                _insert(insert_rows, table, batch, lines, actor, job)
                batch, lines = [], []
        if batch:
            _insert(insert_rows, table, batch, lines, actor, job)


def _row(cells: list[str], columns) -> dict:
    return {
        f.title: (cells[i] if i < len(cells) and cells[i] != "" else None)
        for i, f in columns
    }


def _check_rows(job: ImportJob, table, actor: Actor, columns, info) -> None:
    """First pass, before any write: every row parsed by its fields' types (the file read
    to its end once). Refused rows, up to MAX_ERRORS, fail the job with their lines."""
    from records import inputs

    meta = TableMeta.of(table, actor=actor)
    cache: dict = {}
    total, errors = 0, []
    rows = csvfile.read_rows(job.path, info)
    next(rows, None)
    for line, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        total += 1
        if len(errors) < MAX_ERRORS:
            try:
                inputs.values(
                    meta, _row(cells, columns), None, for_update=False, columns=cache
                )
            except DomainError as exc:
                errors.append({"line": line, "message": exc.message})
    job.total = total
    if errors:
        job.errors = errors
        more = " (the first 100 are listed)" if len(errors) >= MAX_ERRORS else ""
        raise InvalidInput(
            f"{len(errors)} row{'s' if len(errors) != 1 else ''} refused{more}: "
            f"line {errors[0]['line']}: {errors[0]['message']} Nothing was imported.",
            code="IMPORT_ROWS_REFUSED",
        )


def _insert(insert_rows, table, batch, lines, actor, job) -> None:
    try:
        insert_rows(table, batch, actor=actor, max_rows=None)
    except DomainError as exc:
        match = _ROW.match(exc.message)
        if match and int(match.group(1)) < len(lines):
            line = lines[int(match.group(1))]
            raise type(exc)(
                f"Line {line}: {exc.message[match.end() :]} Nothing was imported.",
                code=exc.code,
            )
        where = (
            f"Line {lines[0]}" if len(lines) == 1 else f"Lines {lines[0]}–{lines[-1]}"
        )
        raise type(exc)(f"{where}: {exc.message} Nothing was imported.", code=exc.code)
    job.done += len(batch)
    ImportJob.objects.filter(pk=job.pk).update(done=job.done, total=job.total)
