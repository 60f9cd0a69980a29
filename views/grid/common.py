"""What the grid's pages and edits share: the table and view of a request, the columns
shown, the windows of rows read and rendered, and the one write of cell values.

User data is read only through bases/records.py (`read_window`, `rendered_rows`) and written
only through records/writes.py (`save_rows`).
"""

from __future__ import annotations

import json

from django.http import Http404

from bases import records, selectors
from bases.fieldtypes import field_type_for
from bases.fieldtypes.attachment import files_url
from bases.fieldtypes.link import LinkedRecords
from bases.query.params import view_fields
from bases.query.where import Condition
from nocoplatform.errors import Forbidden, InvalidInput
from permissions.checks import can
from permissions.comments import comment_counts
from permissions.middleware import HtmxHttpRequest
from records.writes import update_rows
from views.grid.cells import GridRow, can_upload, grid_cell, is_editable
from views.models import View
from views.toolbar import current_view as toolbar_view

WINDOW = 100  # rows per window (one request)
ROW_HEIGHTS = {"short": 32, "medium": 56, "tall": 96}
# Column widths; a type may ask a first width of its own (FieldType.column_width).
DEFAULT_WIDTH, MIN_WIDTH, MAX_WIDTH = 180, 60, 800


def grid_table(
    request: HtmxHttpRequest, base_id: str, table_id: str, operation="table.read"
):
    table = selectors.table_get(
        actor=request.actor, table_id=table_id, operation=operation
    )
    if table.base_id != base_id:
        raise Http404("Table not found.")
    return table


def current_view(request: HtmxHttpRequest, table, view_id: str | None = None) -> View:
    """The view shown: the URL's (path or ?view=), else the table's first (made on demand)."""
    view_id = (
        view_id
        or request.GET.get("view")
        or request.POST.get("view")
        or request.headers.get("X-Grid-View")  # the grid's own requests
    )
    if view_id:
        view = table.views.filter(pk=view_id).first()
        if view is None:
            raise Http404("View not found.")
        return view
    return toolbar_view(request, table)  # the toolbar's rule


def search_text(request: HtmxHttpRequest) -> str:
    """The toolbar's temporary search (?q=), never saved on the view."""
    return (request.GET.get("q") or request.POST.get("q") or "").strip()


def grid_columns(meta, view) -> list:
    """The view's fields in its order, less hidden ones (what records.list_records returns)."""
    if view is None:
        return [f for f in meta.fields if not f.is_system]
    return view_fields(view, meta.fields)


def writable(
    request: HtmxHttpRequest, table, operation: str = "records.update"
) -> bool:
    return (
        can(request.actor, operation, table)
        and not table.read_only_reason
        and table.source.allow_data_edit
    )


def grid_rows(
    meta, columns, rows, *, start: int = 0, editable: bool, actor=None
) -> list[GridRow]:
    """Rows for views/partials/grid_row.html; `start` is the 0-based position of rows[0].

    With the `actor`, has-many / many-to-many link cells show the display values of their
    first records as chips (one more query per such column for the whole window)."""
    pk = meta.pk
    if actor is not None:
        rows = with_link_labels(meta, columns, rows, actor)
    flags = [cell_flag(f, meta, table_writable=editable) for f in columns]
    files = [field_type_for(f).holds_files for f in columns]
    ids = [
        meta.record_id([row.get(f.title) for f in pk]) if pk else None for row in rows
    ]
    counts = comment_counts(table=meta.table, record_ids=ids)  # one query per window
    out = []
    for i, (row, record_id) in enumerate(zip(rows, ids, strict=True)):
        cells = [
            grid_cell(
                f,
                row.get(f.title),
                editable=ok,
                file_url=files_url(meta.table, record_id, f) if is_file else None,
            )
            for f, ok, is_file in zip(columns, flags, files, strict=True)
        ]
        out.append(
            GridRow(record_id, start + i + 1, cells, counts.get(str(record_id), 0))
        )
    return out


def with_link_labels(meta, columns, rows, actor) -> list:
    """`rows` with each has-many / many-to-many count made a LinkedRecords (count + labels)."""
    links = [f for f in columns if field_type_for(f).is_link]
    labels = records.link_labels(meta.table, links, rows, actor=actor) if links else {}
    if not labels:
        return rows
    out = []
    for i, row in enumerate(rows):
        row = dict(row)
        for link, per_row in labels.items():
            row[link.title] = LinkedRecords(int(row.get(link.title) or 0), per_row[i])
        out.append(row)
    return out


def cell_flag(field, meta, *, table_writable: bool) -> bool:
    """Whether a column's cells take the user's changes: typed values, or dropped files."""
    return is_editable(field, meta, table_writable=table_writable) or can_upload(
        field, meta, table_writable=table_writable
    )


def read_fields(meta, columns) -> str:
    """The fields to read: the shown ones, plus the key (a row's id) even when it is hidden."""
    return ",".join(
        [f.id for f in columns] + [f.id for f in meta.pk if f not in columns]
    )


def read_window(
    table, meta, view, columns, *, actor, cursor=None, offset=0, limit=WINDOW, q=""
) -> records.RecordPage:
    """One window of the view's rows (its filter and sort; the toolbar's search)."""
    params = {"limit": str(limit), "fields": read_fields(meta, columns)}
    if cursor:
        params["cursor"] = cursor
    elif offset:
        params["offset"] = str(offset)
    kwargs = {"search": q} if q else {}
    return records.list_records(table, params, view=view, actor=actor, **kwargs)


def render_rows(request, rows: list[GridRow]) -> str:
    """The rows' HTML, as views/partials/grid_rows.html renders it (without the engine)."""
    return "".join(row.html for row in rows)


def grid_layout(view: View, columns) -> dict:
    options = view.options or {}
    widths = options.get("column_widths") or {}
    height = options.get("row_height") or "short"
    if height not in ROW_HEIGHTS:
        height = "short"
    return {
        "widths": {
            f.id: int(
                widths.get(f.id) or field_type_for(f).column_width or DEFAULT_WIDTH
            )
            for f in columns
        },
        "row_height": height,
        "row_px": ROW_HEIGHTS[height],
    }


def json_body(request: HtmxHttpRequest) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise InvalidInput("Send a JSON object.", code="INVALID_BODY")
    if not isinstance(body, dict):
        raise InvalidInput("Send a JSON object.", code="INVALID_BODY")
    return body


def field_of(meta, field_id: str):
    field = meta.resolve.by_id.get(field_id)
    if field is None or field.is_system:
        raise Http404("Field not found.")
    return field


def decimal_sep(request: HtmxHttpRequest) -> str:
    return "," if request.headers.get("X-Decimal-Separator") == "," else "."


def date_order(request: HtmxHttpRequest) -> str:
    """How the user's browser locale orders a typed date ("24/12/2026": dmy, "12/24/2026":
    mdy), sent by the grid's script (static/js/grid/main.js); ISO dates need none."""
    order = request.headers.get("X-Date-Order", "")
    return order if order in ("dmy", "mdy", "ymd") else "dmy"


def save_rows(table, changes: list[dict], actor) -> None:
    """The one grid write of cell values: one bulk update, all or nothing."""
    body = changes[0] if len(changes) == 1 else changes
    update_rows(table, body, actor=actor, max_rows=None)


def changes_by_row(meta, items: list[tuple]) -> tuple[list[dict], list]:
    """[(record_id, field, value)] → update_rows rows (one per record) and their record ids."""
    pk_title = meta.require_pk()[0].title if len(meta.pk) == 1 else None
    if pk_title is None:
        raise Forbidden(
            "Tables with a composite primary key are edited through the API.",
            code="TABLE_READ_ONLY",
        )
    rows: dict = {}
    for record_id, field, value in items:
        rows.setdefault(str(record_id), {pk_title: record_id})[field.title] = value
    return list(rows.values()), list(rows.keys())


def rendered_rows(request, table, meta, ids: list) -> dict:
    """The <tr> of each record, read back in one query per 500 (row numbers are the client's)."""
    view = current_view(request, table)
    columns = grid_columns(meta, view)
    fields = read_fields(meta, columns)
    pk = meta.require_pk()[0]
    found = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        page = records.list_records(
            table,
            {"fields": fields, "limit": str(len(chunk))},
            actor=request.actor,
            where=Condition(pk.id, "in", tuple(str(i) for i in chunk)),
        )
        found.extend(page.rows)
    rendered = grid_rows(
        meta, columns, found, editable=writable(request, table), actor=request.actor
    )
    return {str(r.id): render_rows(request, [r]) for r in rendered}
