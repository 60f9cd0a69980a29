"""The uploaded file of an import, the same for both flows (into an existing table:
imports/services.py; into a new table: imports/newtable.py).

`save` writes the upload under VAR_DIR/imports/ (at most NOCO_IMPORT_MAX_SIZE bytes); `read`
checks it and finds the CSV the job will read. An Excel workbook is kept next to that CSV
until the job starts, with its sheet names, so the preview page can read another sheet
(`switch_sheet`) without a new upload; `job_start` then removes it (`forget_workbook`).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field

from django.conf import settings

from imports import csvfile, xlsxfile
from nocoplatform.errors import DomainError, InvalidInput, NotFound

CHUNK = 64 * 1024
GONE = (
    "This upload is no longer here (uploads that were not started are deleted after a "
    "while): upload the file again."
)


def imports_dir() -> str:
    path = os.path.join(str(settings.VAR_DIR), "imports")
    os.makedirs(path, exist_ok=True)
    return path


def max_size() -> int:
    return settings.NOCO_IMPORT_MAX_SIZE


def remove(path: str) -> None:
    if not path:
        return
    try:
        os.remove(path)
    except OSError:
        pass


def save(upload) -> tuple[str, str]:
    """The upload saved under VAR_DIR/imports/, at most max_size() bytes: (name, path)."""
    if upload is None:
        raise InvalidInput(
            "Choose a CSV or Excel file to import.", code="IMPORT_BAD_FILE"
        )
    name = os.path.basename(str(upload.name or "import.csv"))[:255]
    too_big = f"The file is larger than {max_size() // (1024 * 1024)} MB."
    if upload.size is not None and upload.size > max_size():
        raise csvfile.bad_file(too_big)
    path = os.path.join(imports_dir(), f"{uuid.uuid4().hex}.upload")
    size = 0
    try:
        with open(path, "wb") as out:
            for chunk in upload.chunks(CHUNK):
                size += len(chunk)
                if size > max_size():
                    raise csvfile.bad_file(too_big)
                out.write(chunk)
    except DomainError:
        remove(path)
        raise
    return name, path


@dataclass
class Upload:
    """A checked upload: the CSV to read, its encoding and delimiter, its header; for an
    Excel workbook, the workbook (kept), its sheets and the one read."""

    path: str
    info: csvfile.CsvInfo
    header: list[str]
    workbook_path: str = ""
    sheets: list[str] = field(default_factory=list)
    sheet: str = ""


def read_sheet(workbook: str, sheet: str) -> tuple[str, csvfile.CsvInfo, list[str]]:
    """The sheet as CSV next to the workbook: (path, info, header)."""
    path = f"{workbook}.{uuid.uuid4().hex[:8]}.csv"
    try:
        xlsxfile.to_csv(workbook, path, sheet=sheet or None)
        info = csvfile.sniff(path)
        header, _ = csvfile.header_and_preview(path, info)
    except DomainError:
        remove(path)
        raise
    return path, info, header


def read(path: str, name: str, sheet: str | None = None) -> Upload:
    """Check the saved upload (400 IMPORT_BAD_FILE; then nothing is kept): a CSV as it is,
    an Excel workbook (.xlsx) through its sheet — `sheet`, else the first one that reads."""
    try:
        if name.lower().endswith(".xlsx") or xlsxfile.is_xlsx(path):
            sheets = xlsxfile.sheet_names(path)
            chosen = (sheet or "").strip()
            if chosen and chosen not in sheets:
                raise csvfile.bad_file(f"There is no sheet called '{chosen[:100]}'.")
            if chosen:
                csv_path, info, header = read_sheet(path, chosen)
                return Upload(csv_path, info, header, path, sheets, chosen)
            return _first_readable(path, sheets)
        info = csvfile.sniff(path)
        header, _ = csvfile.header_and_preview(path, info)
        return Upload(path, info, header)
    except DomainError:
        remove(path)
        raise


def _first_readable(workbook: str, sheets: list[str]) -> Upload:
    """The first sheet that reads (a blank cover sheet is skipped: the picker still lists
    it); when none does, the first sheet's reason."""
    first: DomainError | None = None
    for sheet in sheets or [""]:
        try:
            path, info, header = read_sheet(workbook, sheet)
        except DomainError as exc:
            first = first or exc
            continue
        return Upload(path, info, header, workbook, sheets, sheet)
    raise first


def switch_sheet(job, sheet: str) -> tuple[csvfile.CsvInfo, list[str]]:
    """Read another sheet of a job's workbook (a job not started yet): the job's `path`
    and `sheet` set (not saved), the previous sheet's CSV removed; (info, header)."""
    from imports.models import ImportJob

    if job.status != ImportJob.Status.NEW:
        raise InvalidInput("This import has started already.", code="IMPORT_STARTED")
    if not job.workbook_path:
        raise InvalidInput("Only an Excel file has sheets.", code="IMPORT_BAD_FILE")
    if sheet not in job.sheets:
        raise InvalidInput(
            f"There is no sheet called '{sheet[:100]}'.", code="IMPORT_BAD_FILE"
        )
    if not os.path.isfile(job.workbook_path):
        raise NotFound(GONE, code="IMPORT_NOT_FOUND")
    path, info, header = read_sheet(job.workbook_path, sheet)
    remove(job.path)
    job.path, job.sheet = path, sheet
    return info, header


def requested_sheet(data) -> str:
    """The sheet a `PATCH …/import/{jobId}` body names (both imports' APIs)."""
    sheet = data.get("sheet") if isinstance(data, dict) else None
    if not isinstance(sheet, str) or not sheet:
        raise InvalidInput("`sheet` names one of the workbook's sheets.")
    return sheet


def require_file(job) -> None:
    """404 IMPORT_NOT_FOUND when the job's file was removed (the prune, imports/prune.py)."""
    if not job.path or not os.path.isfile(job.path):
        raise NotFound(GONE, code="IMPORT_NOT_FOUND")


def forget_workbook(job) -> None:
    """The sheet is chosen (the job starts): the workbook is not needed any more."""
    if job.workbook_path:
        remove(job.workbook_path)


def discard(job) -> None:
    """Every file of a job that will never run: its CSV and its workbook."""
    remove(job.path)
    remove(job.workbook_path)
