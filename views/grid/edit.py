"""Grid edits: one cell, a pasted range, add and delete rows, a new select option.

Every write goes through records/writes.py (`save_rows` in common.py, and the row
services here; schema_services for a new select option). A value the field or the database
refuses comes back as 400 JSON naming the cell; the grid's editor keeps the typed text.
"""

from __future__ import annotations

import re

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh, reswap, retarget

from bases import fieldtypes, records, schema_services
from bases.fieldtypes import field_type_for
from bases.fieldtypes.attachment import files_url
from bases.models import Field
from nocoplatform.errors import DomainError, Forbidden, InvalidInput
from nocoplatform.limits import accepts_uploads
from permissions.middleware import HtmxHttpRequest
from records.writes import delete_rows, insert_rows
from views.attachment_pages import grid_cell_upload
from views.grid.cells import cell_td, grid_cell, is_editable, typed_value
from views.grid.common import (
    cell_flag,
    changes_by_row,
    date_order,
    decimal_sep,
    field_of,
    grid_table,
    json_body,
    read_fields,
    rendered_rows,
    save_rows,
    with_link_labels,
    writable,
)

MAX_PASTE_CELLS = 10_000
MAX_NEW_ROWS = 1000


@login_required
@accepts_uploads  # files dropped on an attachment cell (nocoplatform/limits.py)
def cell(
    request: HtmxHttpRequest, base_id: str, table_id: str, record_id: str, field_id: str
) -> HttpResponse:
    """A grid cell (static/js/grid): GET answers its <td>; POST saves the typed `value` and
    answers the <td>, or 400 JSON {"error", "message"} for a refused value (the grid's editor
    keeps the typed text). Files dropped on an attachment cell come here as multipart `files`.
    """
    table = grid_table(request, base_id, table_id)
    meta = records.TableMeta.of(table, actor=request.actor)
    field = field_of(meta, field_id)
    ftype = field_type_for(field)
    if request.method == "POST" and ftype.holds_files:
        return grid_cell_upload(request, table, record_id, field)
    if request.method == "POST":
        grid_table(request, base_id, table_id, operation="records.update")
        if not is_editable(field, meta, table_writable=True) or ftype.is_link:
            raise Forbidden(f"'{field.title}' is read-only.", code="READ_ONLY_FIELD")
        typed = request.POST.get("value", "")
        try:
            value = typed_value(field, typed, decimal_sep(request), date_order(request))
            rows, _ = changes_by_row(meta, [(record_id, field, value)])
            save_rows(table, rows, request.actor)
        except DomainError as exc:
            # The cell names the field already: "field 'x': " would only repeat it.
            body = exc.as_dict()
            body["message"] = _cell_message(exc.message, field)
            return JsonResponse(body, status=exc.status)
    row = records.get_record(
        table, record_id, {"fields": read_fields(meta, [field])}, actor=request.actor
    )
    if ftype.is_link:  # chips of the linked records' display values, as in the grid
        row = with_link_labels(meta, [field], [row], request.actor)[0]
    c = grid_cell(
        field,
        row.get(field.title),
        editable=cell_flag(field, meta, table_writable=writable(request, table)),
        file_url=files_url(table, record_id, field),
    )
    return HttpResponse(cell_td(c))


def _cell_message(message: str, field) -> str:
    for prefix in ("row 0: ", f"field '{field.title}': "):
        message = message.removeprefix(prefix)
    return message[:1].upper() + message[1:]


@login_required
@require_POST
def cells_save(request: HtmxHttpRequest, base_id: str, table_id: str) -> JsonResponse:
    """Save many cells at once: {"changes": [{"id", "field", "value"}…]} as one bulk update.

    Every value is checked first and every refused cell is named ({"errors": [{"id", "field",
    "message"}]}, nothing saved); then one atomic update. On success the changed rows come back
    as {"rows": {record id: "<tr>…"}} so the grid shows what the database holds.
    """
    table = grid_table(request, base_id, table_id, operation="records.update")
    meta = records.TableMeta.of(table, actor=request.actor)
    body = json_body(request)
    changes = body.get("changes")
    if not isinstance(changes, list) or not changes:
        raise InvalidInput("Send `changes`: a list of {id, field, value}.")
    if len(changes) > MAX_PASTE_CELLS:
        raise InvalidInput(f"At most {MAX_PASTE_CELLS:,} cells at once.")
    check = _cell_checker(request, table, meta)
    items, errors = [], []
    for change in changes:
        if not isinstance(change, dict) or "id" not in change or "field" not in change:
            raise InvalidInput("Each change is {id, field, value}.")
        field = field_of(meta, str(change["field"]))
        try:
            value = check(field, change.get("value"))
        except InvalidInput as exc:
            errors.append(_error(change, exc.message))
            continue
        items.append((change["id"], field, value))
    if errors:
        return JsonResponse({"errors": errors}, status=400)
    rows, ids = changes_by_row(meta, items)
    try:
        save_rows(table, rows, request.actor)
    except DomainError as exc:
        return JsonResponse(
            {"errors": [_row_error(exc, rows, changes)], "message": exc.message},
            status=exc.status,
        )
    return JsonResponse({"rows": rendered_rows(request, table, meta, ids)})


def _error(change: dict, message: str) -> dict:
    return {"id": change.get("id"), "field": change.get("field"), "message": message}


def _row_error(exc: DomainError, rows: list[dict], changes: list) -> dict:
    """A database refusal names its row ("row 3: …"): point at that row's first cell."""
    match = re.match(r"row (\d+): ", exc.message)
    if match and int(match.group(1)) < len(rows):
        pk_value = next(iter(rows[int(match.group(1))].values()))
        first = next(
            (c for c in changes if str(c.get("id")) == str(pk_value)), changes[0]
        )
        return _error(first, exc.message.split(": ", 1)[1])
    return _error(changes[0], exc.message)


def _cell_checker(request, table, meta):
    """check(field, text) → the value typed or pasted text stands for, checked as the write
    will check it (bounded by the column, bases/value_limits.py), so the cell refused is
    the one named; InvalidInput says why."""
    sep, order, parsers = decimal_sep(request), date_order(request), {}

    def check(field, text):
        if not is_editable(field, meta, table_writable=True) or field.is_virtual:
            raise InvalidInput(f"'{field.title}' is read-only.")
        value = typed_value(field, text if text is None else str(text), sep, order)
        parse = parsers.get(field)
        if parse is None:
            parse = parsers[field] = fieldtypes.get(field.uidt).value_parser(
                field, db=table.source.kind
            )
        parsed = parse(value, field.options)
        if parsed is None and not field.is_nullable and not field.is_auto:
            raise InvalidInput(f"'{field.title}' is required")
        return value

    return check


def _rows_add(request, table, meta, new_rows) -> JsonResponse:
    """Rows pasted below the last one: [{field id: text}] inserted in one bulk write (all or
    nothing); answers their ids and <tr>s, or 400 {"errors": [{"row", "field", "message"}]}
    naming each refused cell (rows numbered from 0, in the order sent)."""
    if (
        not isinstance(new_rows, list)
        or not new_rows
        or not all(isinstance(r, dict) for r in new_rows)
    ):
        raise InvalidInput("Send `rows`: a list of {field id: text}.")
    if len(new_rows) > MAX_NEW_ROWS:
        raise InvalidInput(f"At most {MAX_NEW_ROWS:,} new rows at once.")
    if sum(len(r) for r in new_rows) > MAX_PASTE_CELLS:
        raise InvalidInput(f"At most {MAX_PASTE_CELLS:,} cells at once.")
    check = _cell_checker(request, table, meta)
    body, errors = [], []
    for i, cells in enumerate(new_rows):
        row = {}
        for fid, text in cells.items():
            field = field_of(meta, str(fid))
            if text in (None, ""):
                continue  # an empty pasted cell: the column's default
            try:
                row[field.title] = check(field, text)
            except InvalidInput as exc:
                errors.append({"row": i, "field": field.id, "message": exc.message})
        body.append(row)
    if errors:
        first = errors[0]["message"]
        return JsonResponse({"errors": errors, "message": first}, status=400)
    try:
        keys = insert_rows(table, body, actor=request.actor, max_rows=MAX_NEW_ROWS)
    except DomainError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    ids = [meta.record_id(k) for k in keys] if meta.pk else []
    rows = rendered_rows(request, table, meta, ids) if ids else {}
    return JsonResponse({"ids": [str(i) for i in ids], "rows": rows})


@login_required
@require_POST
def row_add(request: HtmxHttpRequest, base_id: str, table_id: str) -> HttpResponse:
    """Append a blank row (the database fills defaults); answers its <tr> and id. With a
    JSON body {"rows": [{field id: text}…]}: rows pasted past the end, one bulk insert."""
    table = grid_table(request, base_id, table_id, operation="records.create")
    meta = records.TableMeta.of(table, actor=request.actor)
    if request.content_type == "application/json":
        return _rows_add(request, table, meta, json_body(request).get("rows"))
    try:
        ids = insert_rows(table, {}, actor=request.actor)
    except DomainError as exc:
        if request.headers.get("X-Grid-Editor"):
            return JsonResponse(exc.as_dict(), status=exc.status)
        return render(request, "views/error_partial.html", {"error": exc})
    if not request.headers.get("X-Grid-Editor"):
        return HttpResponseClientRefresh()
    record_id = meta.record_id(ids[0]) if meta.pk else None
    rows = rendered_rows(request, table, meta, [record_id]) if record_id else {}
    return JsonResponse({"id": record_id, "row": rows.get(str(record_id), "")})


@login_required
@require_POST
def rows_delete(request: HtmxHttpRequest, base_id: str, table_id: str) -> JsonResponse:
    """Delete rows {"ids": [...]} (the grid confirms first); all or none."""
    table = grid_table(request, base_id, table_id, operation="records.delete")
    meta = records.TableMeta.of(table, actor=request.actor)
    ids = json_body(request).get("ids")
    if not isinstance(ids, list) or not ids:
        raise InvalidInput("Send `ids`: the records to delete.")
    pk_title = meta.require_pk()[0].title
    try:
        delete_rows(
            table, [{pk_title: i} for i in ids], actor=request.actor, max_rows=1000
        )
    except DomainError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    return JsonResponse({"deleted": len(ids)})


@login_required
@require_POST
def row_delete(
    request: HtmxHttpRequest, base_id: str, table_id: str, record_id: str
) -> HttpResponse:
    """htmx: delete one row; a refused delete says why above the grid and keeps the row."""
    table = grid_table(request, base_id, table_id, operation="records.delete")
    meta = records.TableMeta.of(table, actor=request.actor)
    try:
        delete_rows(table, {meta.require_pk()[0].title: record_id}, actor=request.actor)
    except DomainError as exc:
        response = render(request, "views/error_partial.html", {"error": exc})
        return reswap(retarget(response, "#row-error"), "innerHTML")
    return HttpResponse("")


@login_required
@require_POST
def option_add(
    request: HtmxHttpRequest, base_id: str, table_id: str, field_id: str
) -> JsonResponse:
    """A creator adds a select option from the cell's dropdown; answers the new choices."""
    table = grid_table(request, base_id, table_id, operation="fields.update")
    meta = records.TableMeta.of(table, actor=request.actor)
    field = field_of(meta, field_id)
    if not field_type_for(field).has_choices:
        raise InvalidInput("Only select fields have options.")
    title = str(json_body(request).get("title") or "").strip()
    if not title or "," in title:
        raise InvalidInput("An option needs a title without commas.")
    choices = list((field.options or {}).get("choices", []))
    if title not in [c.get("title") for c in choices if isinstance(c, dict)]:
        choices.append({"title": title})
    updated = schema_services.field_update(
        actor=request.actor,
        field=Field.objects.get(pk=field.pk),
        data={"options": {**(field.options or {}), "choices": choices}},
    )
    return JsonResponse({"choices": updated.options.get("choices", [])})
