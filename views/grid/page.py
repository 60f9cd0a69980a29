"""The grid page: the table as a spreadsheet, and the windows of rows it loads.

The page renders the header and the first window of rows; static/js/grid/ then loads further
windows of WINDOW rows as they scroll into view (keyset cursors: each window's `next` cursor
fetches the following one; a jump far away uses one offset query, then cursors again) and keeps
only the rows near the viewport in the DOM. Edits live in views/grid/edit.py and expand.py.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from bases import records, schema_services
from bases.fieldtypes import field_type_for
from bases.pages import base_context
from nocoplatform.errors import DomainError, InvalidInput
from permissions.checks import can, require
from permissions.middleware import HtmxHttpRequest
from views.forms import ColumnForm
from views.grid.common import (
    MAX_WIDTH,
    MIN_WIDTH,
    ROW_HEIGHTS,
    WINDOW,
    cell_flag,
    current_view,
    grid_columns,
    grid_layout,
    grid_rows,
    grid_table,
    read_window,
    render_rows,
    search_text,
    writable,
)
from views.models import View
from views.services import view_update
from views.toolbar import group_by_of


def column_json(field, editable: bool) -> dict:
    o = field.options or {}
    ftype = field_type_for(field)
    out = {"id": field.id, "title": field.title, "uidt": field.uidt, "edit": editable}
    if ftype.holds_files:
        # Files are dropped or added from the cell's popup, never typed, pasted or cleared.
        out["edit"], out["files"] = False, editable
    if ftype.has_choices:
        out["choices"] = [
            {"title": c.get("title"), "color": c.get("color", "#eeeeee")}
            for c in o.get("choices", [])
            if isinstance(c, dict)
        ]
    if ftype.is_link:
        out["relation"] = o.get("relation")
        out["related"] = field.related_table.title if field.related_table else ""
    if ftype.computed:  # the grid says why typing does nothing
        out["computed"] = ftype.label.lower()
    elif not field.is_nullable and not field.is_auto:
        out["required"] = True
    return out


@login_required
def table_page(
    request: HtmxHttpRequest, base_id: str, table_id: str, view_id: str | None = None
) -> HttpResponse:
    ctx = base_context(request, base_id)
    table = grid_table(request, base_id, table_id)
    if request.method == "POST":
        # The page's POST is the add-field form: 403 for anyone who may not add fields.
        require(request.actor, "fields.create", table)
    column_form = ColumnForm(request.POST or None)
    if request.method == "POST" and column_form.is_valid():
        response = _add_field(request, table, column_form)
        if response is not None:
            return response
    view = current_view(request, table, view_id)
    meta = records.TableMeta.of(table, actor=request.actor)
    columns = grid_columns(meta, view)
    can_edit = writable(request, table)
    q = search_text(request)
    rows, page_info, error = [], {"totalRows": 0}, None
    try:
        page = read_window(table, meta, view, columns, actor=request.actor, q=q)
        rows = grid_rows(meta, columns, page.rows, editable=can_edit)
        page_info = page.page_info
    except DomainError as exc:
        error = exc
    layout = grid_layout(view, columns)
    flags = [cell_flag(f, meta, table_writable=can_edit) for f in columns]
    header = [
        {
            "field": f,
            "width": layout["widths"][f.id],
            "editable": ok,
            "icon": field_type_for(f).icon,
        }
        for f, ok in zip(columns, flags, strict=True)
    ]
    # Field changes on this table (a table override may lower or raise the base role).
    can_schema = (
        can(request.actor, "fields.create", table) and not table.read_only_reason
    )
    grid_config = {
        "rowsUrl": f"/bases/{base_id}/tables/{table.pk}/grid/rows",
        "base": f"/bases/{base_id}/tables/{table.pk}/",
        "view": view.pk,
        "window": WINDOW,
        "total": page_info.get("totalRows") or 0,
        "estimated": bool(page_info.get("totalRowsEstimated")),
        # Without a planner estimate (SQLite) the total is only a lower bound: the grid asks
        # for the exact count after it has shown the first rows.
        "exactCount": bool(page_info.get("totalRowsEstimated"))
        and page_info.get("totalRows") == settings.NOCO_EXACT_COUNT_LIMIT + 1,
        "next": page_info.get("next"),
        "last": bool(page_info.get("isLastPage", True)),
        "rowHeight": layout["row_height"],
        "rowHeights": ROW_HEIGHTS,
        "columns": [column_json(f, ok) for f, ok in zip(columns, flags, strict=True)],
        "canEdit": can_edit,
        "canAdd": writable(request, table, "records.create"),
        "canDelete": writable(request, table, "records.delete"),
        "canLayout": can(request.actor, "views.update", table),
        "canAddOption": can(request.actor, "fields.update", table)
        and not table.read_only_reason,
        "hasPk": bool(meta.pk),
        "q": q,
        # The browser refuses a file over the size limit before sending it; the server
        # checks every limit again (bases/attachments.check_limits).
        "fileMaxSize": settings.NOCO_ATTACHMENT_MAX_SIZE,
    }
    group_by = group_by_of(view, meta)
    ctx.update(
        {
            "table": table,
            "view": view,
            "fields": meta.fields,
            "columns": columns,
            "header": header,
            "rows": rows,
            "rows_error": error,
            "layout": layout,
            "grid_config": grid_config,
            "group_by": group_by,
            "column_form": column_form,
            "can_schema": can_schema,
            "can_edit": can_edit,
            "can_add": grid_config["canAdd"],
            "can_delete": grid_config["canDelete"],
            "can_webhooks": can(request.actor, "webhooks.read", table),
            # static/js/realtime.js: the table's socket and the view shown (views/realtime/).
            "realtime_config": {"ws": f"/ws/tables/{table.pk}/", "view": view.pk},
        }
    )
    return render(request, "views/table.html", ctx)


def _add_field(request, table, form) -> HttpResponse | None:
    data = {"title": form.cleaned_data["title"], "uidt": form.cleaned_data["uidt"]}
    if form.cleaned_data["choices"]:
        data["choices"] = [
            c.strip() for c in form.cleaned_data["choices"].split(",") if c.strip()
        ]
    if form.cleaned_data.get("formula_raw"):
        data["formula_raw"] = form.cleaned_data["formula_raw"]
    try:
        schema_services.field_create(actor=request.actor, table=table, data=data)
    except DomainError as exc:
        form.add_error(None, exc.message)
        return None
    messages.success(request, f"Field '{data['title']}' added.")
    return redirect("table", base_id=table.base_id, table_id=table.pk)


@login_required
@require_GET
def rows_window(request: HtmxHttpRequest, base_id: str, table_id: str) -> HttpResponse:
    """A window of rows as <tr> HTML; where it sits and what follows in X-Grid-* headers.

    `cursor` (the previous window's `next`) or `offset` (for a jump), `limit` ≤ 500.
    """
    table = grid_table(request, base_id, table_id)
    view = current_view(request, table)
    meta = records.TableMeta.of(table, actor=request.actor)
    columns = grid_columns(meta, view)
    try:
        offset = int(request.GET.get("offset") or 0)
        limit = int(request.GET.get("limit") or WINDOW)
        start = int(request.GET.get("start") or offset)
    except ValueError:
        raise InvalidInput("`offset`, `limit` and `start` must be whole numbers.")
    if offset < 0 or start < 0 or not 1 <= limit <= 500:
        raise InvalidInput("`offset` and `start` must be ≥ 0, `limit` from 1 to 500.")
    page = read_window(
        table,
        meta,
        view,
        columns,
        actor=request.actor,
        cursor=request.GET.get("cursor") or None,
        offset=offset,
        limit=limit,
        q=search_text(request),
    )
    rows = grid_rows(
        meta, columns, page.rows, start=start, editable=writable(request, table)
    )
    response = HttpResponse(render_rows(request, rows))
    info = page.page_info
    response["X-Grid-Count"] = str(len(rows))
    response["X-Grid-Last"] = "1" if info.get("isLastPage") else "0"
    response["X-Grid-Total"] = str(info.get("totalRows") or 0)
    if info.get("totalRowsEstimated"):
        response["X-Grid-Estimated"] = "1"
    if info.get("next"):
        response["X-Grid-Next"] = info["next"]
    return response


@login_required
@require_GET
def rows_count(request: HtmxHttpRequest, base_id: str, table_id: str) -> JsonResponse:
    """The exact row count of the view (with the search), asked for after the first rows."""
    table = grid_table(request, base_id, table_id)
    view = current_view(request, table)
    q = search_text(request)
    kwargs = {"search": q} if q else {}
    count = records.count_records(table, {}, view=view, actor=request.actor, **kwargs)
    return JsonResponse({"count": count})


@login_required
@require_POST
def layout_save(request: HtmxHttpRequest, base_id: str, table_id: str) -> JsonResponse:
    """Column widths, row height and column order of a view (JSON body; any subset)."""
    table = grid_table(request, base_id, table_id)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise InvalidInput("Send a JSON object.")
    if not isinstance(body, dict):
        raise InvalidInput("Send a JSON object.")
    with transaction.atomic():
        # Read the view under a row lock: a width saved meanwhile is kept, not overwritten.
        view = current_view(request, table, body.get("view"))
        view = View.objects.select_for_update().get(pk=view.pk)
        _save_layout(request, table, view, body)
    return JsonResponse({"ok": True})


def _save_layout(request, table, view: View, body: dict) -> None:
    options = dict(view.options or {})
    data: dict = {}
    if "widths" in body:
        widths = body["widths"]
        if not isinstance(widths, dict):
            raise InvalidInput("`widths` must map field ids to pixels.")
        known = {f.id for f in table.fields.all()}
        merged = dict(options.get("column_widths") or {})
        for fid, px in widths.items():
            if fid not in known:
                raise InvalidInput(
                    f"No field '{fid}' in this table.", code="FIELD_NOT_FOUND"
                )
            if not isinstance(px, (int, float)) or not MIN_WIDTH <= px <= MAX_WIDTH:
                raise InvalidInput(
                    f"A column is {MIN_WIDTH} to {MAX_WIDTH} pixels wide."
                )
            merged[fid] = int(px)
        options["column_widths"] = merged
        data["options"] = options
    if "row_height" in body:
        if body["row_height"] not in ROW_HEIGHTS:
            raise InvalidInput(f"Row height is one of {', '.join(ROW_HEIGHTS)}.")
        options["row_height"] = body["row_height"]
        data["options"] = options
    if "field_order" in body:
        order = body["field_order"]
        if not isinstance(order, list):
            raise InvalidInput("`field_order` must be a list of field ids.")
        # Fields not named (hidden ones) keep their place after the named ones.
        rest = [f for f in (view.field_order or []) if f not in order]
        data["field_order"] = [*order, *rest]
    view_update(actor=request.actor, view=view, data=data)
