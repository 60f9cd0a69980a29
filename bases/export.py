"""Exporting a view's rows to CSV or XLSX, as the reader sees them (docs/import-export.md).

One implementation for members (the grid's view menu, `GET /api/v2/tables/{id}/export`) and
shared-view visitors (views/share_pages.py): an export is column fields plus an iterator of
pages of rows, read through bases/records.py with keyset cursors (PAGE rows a statement, each
under the source's statement timeout like any read), so the table is never held in memory.

- CSV streams: the first page is read before the response starts (a bad filter is a 4xx),
  then one chunk per page.
- XLSX is written with openpyxl's write-only mode into a temporary file (rows go to disk as
  they come: memory stays flat), then streamed from that file. It is bounded by Excel's
  1,048,576 rows; a bigger view is refused before anything is sent (export it as CSV).

Text that a spreadsheet would run as a formula (starting with = + - @, tab or CR) gets a
leading apostrophe, in the header row too. Numbers, booleans and dates are not text and are
written as they are.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse

from bases import records
from bases.fieldtypes import field_type_for
from bases.models import Field, Table
from bases.query.params import view_fields
from bases.table_meta import TableMeta
from nocoplatform.errors import InvalidInput
from permissions.checks import Actor, require

PAGE = 1000
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
XLSX_MAX_ROWS = 1_048_575  # Excel's limit, less the header row
XLSX_MAX_TEXT = 32_767  # characters a cell holds in Excel
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 cannot carry (openpyxl refuses them): dropped from XLSX cells.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass
class Rows:
    """What an export writes: its columns and the pages of rows ({title: value}) to come."""

    fields: list[Field]
    pages: Iterator[list[dict]]


def safe_text(text: str) -> str:
    """Spreadsheet formula injection: text starting like a formula gets a leading quote."""
    return "'" + text if text[:1] in FORMULA_START else text


def _is_number(value) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def cell_text(field: Field, value) -> str:
    """A value as exported text: the field type's export text, made formula-safe (numbers
    are left alone: `-5` is a number, not a formula)."""
    text = field_type_for(field).export_text(field, value)
    return text if _is_number(value) else safe_text(text)


def _xlsx_value(field: Field, value):
    if value is None:
        return None
    if _is_number(value) or isinstance(value, bool):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:  # Excel has no time zones: written in UTC
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, dt.date):
        return value
    text = _ILLEGAL_XML.sub("", cell_text(field, value))
    return text[:XLSX_MAX_TEXT]


# --------------------------------------------------------------------------------------------
# Reading


def paged(read: Callable[..., records.RecordPage]) -> Iterator[list[dict]]:
    """Pages from `read(cursor=…, offset=…)`: keyset cursors; offsets only for a table
    without a primary key (it cannot have a cursor)."""
    page, offset = read(cursor=None, offset=0), 0
    while True:
        yield page.rows
        info = page.page_info
        if info.get("next"):
            page = read(cursor=info["next"], offset=0)
        elif not info.get("isLastPage", True) and page.rows:
            offset += len(page.rows)
            page = read(cursor=None, offset=offset)
        else:
            return


def started(pages: Iterator[list[dict]]) -> Iterator[list[dict]]:
    """Read the first page now (so its errors are the request's), the rest when asked."""
    first = next(pages, [])

    def rest():
        yield first
        yield from pages

    return rest()


def view_rows(
    table: Table,
    *,
    actor: Actor,
    view=None,
    search: str = "",
    page_size: int | None = None,
) -> Rows:
    """The rows of `view` (or, without one, of the table) as `actor` sees them: the view's
    filter, sort, shown fields in order, less the fields hidden from the actor."""
    require(actor, "records.read", table)
    meta = TableMeta.of(table, actor=actor)
    if view is not None:
        columns = view_fields(view, meta.fields)
    else:
        columns = [f for f in meta.fields if not f.is_system]
    if not columns:
        return Rows([], iter(()))
    params = {
        "fields": ",".join(f.id for f in columns),
        "limit": str(page_size or PAGE),
    }

    def read(*, cursor, offset):
        p = dict(params)
        if cursor:
            p["cursor"] = cursor
        elif offset:
            p["offset"] = str(offset)
        return records.list_records(
            table, p, actor=actor, view=view, search=search or None, count=False
        )

    return Rows(columns, started(paged(read)))


# --------------------------------------------------------------------------------------------
# Writing


def csv_chunks(rows: Rows) -> Iterator[str]:
    """The CSV text, one chunk per page; a BOM first so that Excel reads it as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_text(f.title) for f in rows.fields])
    yield "\ufeff" + buffer.getvalue()
    for page in rows.pages:
        buffer.seek(0)
        buffer.truncate()
        for row in page:
            writer.writerow([cell_text(f, row.get(f.title)) for f in rows.fields])
        yield buffer.getvalue()


def _sheet_title(title: str) -> str:
    cleaned = re.sub(r"[\[\]:*?/\\]", " ", title).strip("' ")[:31]
    return cleaned or "Sheet1"


def xlsx_file(rows: Rows, *, sheet: str = "Sheet1"):
    """The workbook in a temporary file (rewound), written row by row (write-only mode)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    ws = workbook.create_sheet(title=_sheet_title(sheet))
    ws.append([_ILLEGAL_XML.sub("", safe_text(f.title)) for f in rows.fields])
    count = 0
    for page in rows.pages:
        count += len(page)
        if count > XLSX_MAX_ROWS:
            # Finish the sheet's temporary file and delete it (the workbook is never saved).
            ws.close()
            with contextlib.suppress(OSError, AttributeError):
                os.remove(ws._writer.out)
            raise InvalidInput(
                f"This view has more than {XLSX_MAX_ROWS:,} rows, more than an Excel sheet "
                "holds: export it as CSV.",
                code="EXPORT_TOO_LARGE",
            )
        for row in page:
            ws.append([_xlsx_value(f, row.get(f.title)) for f in rows.fields])
    out = tempfile.TemporaryFile()
    workbook.save(out)
    out.seek(0)
    return out


# --------------------------------------------------------------------------------------------
# HTTP


def file_name(*parts: str, ext: str) -> str:
    name = " - ".join(p.strip() for p in parts if p and p.strip())
    name = "".join(c for c in name if c.isprintable() and c not in '/\\"')[:120]
    return f"{name.strip() or 'export'}.{ext}"


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII fallback name and the real one in RFC 5987 form."""
    fallback = "".join(
        c if c.isascii() and (c.isalnum() or c in " -_.()") else "_" for c in name
    )
    return (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
    )


class _Streaming(StreamingHttpResponse):
    """A streaming response that stays streamed under ASGI too: Django would read a
    synchronous iterator to its end before sending (the whole export in memory); here each
    chunk is pulled on the request's thread (thread_sensitive: its database connection)."""

    async def __aiter__(self):
        chunks = iter(self.streaming_content)
        end = object()
        step = sync_to_async(next, thread_sensitive=True)
        while True:
            chunk = await step(chunks, end)
            if chunk is end:
                return
            yield chunk


def _file_chunks(file, size: int = 64 * 1024) -> Iterator[bytes]:
    try:
        while chunk := file.read(size):
            yield chunk
    finally:
        file.close()


def response(rows: Rows, fmt: str, *name: str) -> StreamingHttpResponse:
    """The export as an HTTP response, named from `name` (the table's and view's titles)."""
    fmt = export_format(fmt)
    filename = file_name(*name, ext=fmt)
    if fmt == "xlsx":
        file = xlsx_file(rows, sheet=name[-1] if name else "Sheet1")
        size = file.seek(0, io.SEEK_END)
        file.seek(0)
        out = _Streaming(_file_chunks(file), content_type=FORMATS[fmt])
        out["Content-Length"] = str(size)
    else:
        out = _Streaming(csv_chunks(rows), content_type=FORMATS[fmt])
    out["Content-Disposition"] = content_disposition(filename)
    out["X-Content-Type-Options"] = "nosniff"
    out["Cache-Control"] = "no-store"
    return out


def export_format(value: str | None) -> str:
    fmt = (value or "csv").strip().lower()
    if fmt == "excel":  # NocoDB's name for it
        fmt = "xlsx"
    if fmt not in FORMATS:
        raise InvalidInput("`format` must be csv or xlsx.", code="INVALID_FORMAT")
    return fmt
