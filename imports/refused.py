"""The rows an import refused: the first MAX_ERRORS on the job (`errors`, shown on its page and
in the API), every one in a CSV next to the upload — line, reason and the row's own cells, so
the file can be fixed and imported again — downloadable from the page and the API.

The CSV is written formula-safe like an export (bases/export.safe_text): a cell of the
uploaded file starting with `=`, `+`, `-`, `@` … gets a leading `'`, so opening the download in
a spreadsheet runs nothing.
"""

from __future__ import annotations

import csv
import io
import os

from bases.export import safe_text
from imports.models import ImportJob

MAX_ERRORS = 100


def path(job: ImportJob) -> str:
    from imports.services import _dir

    return os.path.join(_dir(), f"{job.pk}.refused.csv")


class Refusals:
    """Collects a run's refused rows: on the job (the first MAX_ERRORS) and in its CSV."""

    def __init__(self, job: ImportJob):
        self.job = job
        self.job.errors = []
        self.job.refused = 0
        self.lines: set[int] = set()
        self._file = None
        self._writer = None

    def add(self, line: int, message: str, cells: list[str] | None) -> None:
        job = self.job
        job.refused += 1
        self.lines.add(line)
        if len(job.errors) < MAX_ERRORS:
            job.errors.append({"line": line, "message": message})
        if self._writer is None:
            self._file = open(path(job), "w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._file)
            self._writer.writerow(
                ["Line", "Reason", *(safe_text(str(h)) for h in job.header)]
            )
        self._writer.writerow(
            [line, safe_text(message), *(safe_text(c) for c in (cells or []))]
        )

    def __bool__(self) -> bool:
        return self.job.refused > 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def csv_chunks(job: ImportJob):
    """The refused rows' CSV, with a BOM (Excel reads it as UTF-8): the file the run wrote,
    else (a job from before the file was kept) the listed lines and reasons."""
    yield "\ufeff"
    try:
        with open(path(job), encoding="utf-8", newline="") as f:
            while chunk := f.read(64 * 1024):
                yield chunk
        return
    except FileNotFoundError:
        pass
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Line", "Reason"])
    for e in job.errors:
        writer.writerow([e.get("line", ""), safe_text(str(e.get("message", "")))])
    yield buffer.getvalue()


def remove(job: ImportJob) -> None:
    try:
        os.remove(path(job))
    except OSError:
        pass
