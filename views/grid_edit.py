"""Grid edits: one cell, a pasted range, add / delete rows, the expanded row, links, options.

Every write goes through bases/record_services.py in the `_save_*` / `_insert` / `_delete` /
`_link` helpers below (and schema_services for a new select option); when record services take
an `actor`, those are the places to pass it. Reads go through bases/records.py.

A value the field or the database refuses comes back with the reason and the typed text kept.
"""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST

from bases import record_services, records, schema_services
from bases.query.where import Condition
from nocoplatform.errors import DomainError, Forbidden, InvalidInput
from nocoplatform.limits import accepts_uploads
from permissions.checks import can
from views.grid import (
    _actor,
    cell_flag,
    current_view,
    grid_columns,
    grid_rows,
    grid_table,
    read_fields,
    render_rows,
    writable,
)
from views.grid_cells import (
    cell_td,
    display_html,
    files_url,
    grid_cell,
    is_editable,
    raw_text,
    typed_value,
)

MAX_PASTE_CELLS = 10_000


def _json_body(request: HttpRequest) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise InvalidInput("Send a JSON object.", code="INVALID_BODY")
    if not isinstance(body, dict):
        raise InvalidInput("Send a JSON object.", code="INVALID_BODY")
    return body


def _field(meta, field_id: str):
    field = meta.resolve.by_id.get(field_id)
    if field is None or field.is_system:
        raise Http404("Field not found.")
    return field


def _decimal_sep(request: HttpRequest) -> str:
    return "," if request.headers.get("X-Decimal-Separator") == "," else "."


def _save_rows(table, changes: list[dict], actor) -> None:
    """The one grid write of cell values: one bulk update, all or nothing."""
    body = changes[0] if len(changes) == 1 else changes
    record_services.update_rows(table, body, actor=actor, max_rows=None)


def _cell_message(message: str, field) -> str:
    for prefix in ("row 0: ", f"field '{field.title}': "):
        message = message.removeprefix(prefix)
    return message[:1].upper() + message[1:]


def _changes_by_row(meta, items: list[tuple]) -> tuple[list[dict], list]:
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


# --- one cell -----------------------------------------------------------------------------


@login_required
@accepts_uploads  # files dropped on an attachment cell (nocoplatform/limits.py)
def cell(
    request: HttpRequest, base_id: str, table_id: str, record_id: str, field_id: str
) -> HttpResponse:
    """A grid cell: GET its display (`?edit=1`: a server-rendered editor); POST saves it.

    With the header X-Grid-Editor (static/js/grid), a POST answers the cell's <td> on success
    and 400 JSON {"error", "message"} on a refused value (the editor keeps the typed text).
    Without it (plain htmx), a refusal re-renders the editor with the reason and the text.
    """
    table = grid_table(request, base_id, table_id)
    meta = records.TableMeta.of(table, actor=_actor(request))
    field = _field(meta, field_id)
    can_edit = writable(request, table)
    editable = is_editable(field, meta, table_writable=True)
    ctx = {"base_id": base_id, "table": table, "record_id": record_id, "field": field}
    from_grid = "X-Grid-Editor" in request.headers
    if request.method == "POST" and field.uidt == "Attachment":
        # Files dropped on the cell or added from its popup (multipart `files`).
        from views.attachment_pages import grid_cell_upload

        return grid_cell_upload(request, table, record_id, field)
    if request.method == "POST":
        grid_table(request, base_id, table_id, operation="records.update")
        if not editable or field.uidt == "LinkToAnotherRecord":
            raise Forbidden(f"'{field.title}' is read-only.", code="READ_ONLY_FIELD")
        typed = request.POST.get("value", "")
        try:
            value = typed_value(field, typed, _decimal_sep(request))
            rows, _ = _changes_by_row(meta, [(record_id, field, value)])
            _save_rows(table, rows, _actor(request))
        except DomainError as exc:
            if from_grid:
                # The cell names the field already: "field 'x': " would only repeat it.
                body = exc.as_dict()
                body["message"] = _cell_message(exc.message, field)
                return JsonResponse(body, status=exc.status)
            return render(
                request,
                "views/partials/cell_edit.html",
                {**ctx, "value": typed, "error": exc.message},
            )
    row = records.get_record(
        table, record_id, {"fields": field.id}, actor=_actor(request)
    )
    value = row.get(field.title)
    if from_grid:
        c = grid_cell(
            field,
            value,
            editable=cell_flag(field, meta, table_writable=can_edit),
            file_url=files_url(table, record_id, field),
        )
        return HttpResponse(cell_td(c))
    if request.GET.get("edit") and editable:
        grid_table(request, base_id, table_id, operation="records.update")
        return render(
            request,
            "views/partials/cell_edit.html",
            {**ctx, "value": raw_text(field, value)},
        )
    return render(
        request,
        "views/partials/cell.html",
        {
            **ctx,
            "display": display_html(field, value),
            "raw": raw_text(field, value),
            "can_edit": can_edit and editable,
        },
    )


# --- a range (paste, undo/redo of a range, clear) -----------------------------------------------


@login_required
@require_POST
def cells_save(request: HttpRequest, base_id: str, table_id: str) -> JsonResponse:
    """Save many cells at once: {"changes": [{"id", "field", "value"}…]} as one bulk update.

    Every value is checked first and every refused cell is named ({"errors": [{"id", "field",
    "message"}]}, nothing saved); then one atomic update. On success the changed rows come back
    as {"rows": {record id: "<tr>…"}} so the grid shows what the database holds.
    """
    table = grid_table(request, base_id, table_id, operation="records.update")
    meta = records.TableMeta.of(table, actor=_actor(request))
    body = _json_body(request)
    changes = body.get("changes")
    if not isinstance(changes, list) or not changes:
        raise InvalidInput("Send `changes`: a list of {id, field, value}.")
    if len(changes) > MAX_PASTE_CELLS:
        raise InvalidInput(f"At most {MAX_PASTE_CELLS:,} cells at once.")
    from bases import fieldtypes as ft

    sep = _decimal_sep(request)
    items, errors, parsers = [], [], {}
    for change in changes:
        if not isinstance(change, dict) or "id" not in change or "field" not in change:
            raise InvalidInput("Each change is {id, field, value}.")
        field = _field(meta, str(change["field"]))
        value = change.get("value")
        if not is_editable(field, meta, table_writable=True) or field.is_virtual:
            errors.append(_error(change, f"'{field.title}' is read-only."))
            continue
        value = typed_value(field, value if value is None else str(value), sep)
        parse = parsers.get(field)
        if parse is None:
            # Bounded as the write will be (bases/value_limits.py), so that the cell that is
            # too long is the one named.
            parse = parsers[field] = ft.get(field.uidt).value_parser(
                field, db=table.source.kind
            )
        try:
            parsed = parse(value, field.options)
            if parsed is None and not field.is_nullable and not field.is_auto:
                raise InvalidInput(f"'{field.title}' is required")
        except InvalidInput as exc:
            errors.append(_error(change, exc.message))
            continue
        items.append((change["id"], field, value))
    if errors:
        return JsonResponse({"errors": errors}, status=400)
    rows, ids = _changes_by_row(meta, items)
    try:
        _save_rows(table, rows, _actor(request))
    except DomainError as exc:
        return JsonResponse(
            {"errors": [_row_error(exc, rows, changes)], "message": exc.message},
            status=exc.status,
        )
    return JsonResponse({"rows": _rendered_rows(request, table, meta, ids)})


def _error(change: dict, message: str) -> dict:
    return {"id": change.get("id"), "field": change.get("field"), "message": message}


def _row_error(exc: DomainError, rows: list[dict], changes: list) -> dict:
    """A database refusal names its row ("row 3: …"): point at that row's first cell."""
    import re

    match = re.match(r"row (\d+): ", exc.message)
    if match and int(match.group(1)) < len(rows):
        pk_value = next(iter(rows[int(match.group(1))].values()))
        first = next(
            (c for c in changes if str(c.get("id")) == str(pk_value)), changes[0]
        )
        return _error(first, exc.message.split(": ", 1)[1])
    return _error(changes[0], exc.message)


def _rendered_rows(request, table, meta, ids: list) -> dict:
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
            actor=_actor(request),
            where=Condition(pk.id, "in", tuple(str(i) for i in chunk)),
        )
        found.extend(page.rows)
    rendered = grid_rows(meta, columns, found, editable=writable(request, table))
    return {str(r.id): render_rows(request, [r]) for r in rendered}


# --- rows ---------------------------------------------------------------------------------------


@login_required
@require_POST
def row_add(request: HttpRequest, base_id: str, table_id: str) -> HttpResponse:
    """Append a blank row (the database fills defaults); answers its <tr> and id."""
    table = grid_table(request, base_id, table_id, operation="records.create")
    meta = records.TableMeta.of(table, actor=_actor(request))
    try:
        ids = record_services.insert_rows(table, {}, actor=_actor(request))
    except DomainError as exc:
        if request.headers.get("X-Grid-Editor"):
            return JsonResponse(exc.as_dict(), status=exc.status)
        return render(request, "views/error_partial.html", {"error": exc})
    if not request.headers.get("X-Grid-Editor"):
        from django_htmx.http import HttpResponseClientRefresh

        return HttpResponseClientRefresh()
    record_id = meta.record_id(ids[0]) if meta.pk else None
    rows = _rendered_rows(request, table, meta, [record_id]) if record_id else {}
    return JsonResponse({"id": record_id, "row": rows.get(str(record_id), "")})


@login_required
@require_POST
def rows_delete(request: HttpRequest, base_id: str, table_id: str) -> JsonResponse:
    """Delete rows {"ids": [...]} (the grid confirms first); all or none."""
    table = grid_table(request, base_id, table_id, operation="records.delete")
    meta = records.TableMeta.of(table, actor=_actor(request))
    ids = _json_body(request).get("ids")
    if not isinstance(ids, list) or not ids:
        raise InvalidInput("Send `ids`: the records to delete.")
    pk_title = meta.require_pk()[0].title
    try:
        record_services.delete_rows(
            table, [{pk_title: i} for i in ids], actor=_actor(request), max_rows=1000
        )
    except DomainError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    return JsonResponse({"deleted": len(ids)})


@login_required
@require_POST
def row_delete(
    request: HttpRequest, base_id: str, table_id: str, record_id: str
) -> HttpResponse:
    """htmx: delete one row; a refused delete says why above the grid and keeps the row."""
    table = grid_table(request, base_id, table_id, operation="records.delete")
    meta = records.TableMeta.of(table, actor=_actor(request))
    try:
        record_services.delete_rows(
            table, {meta.require_pk()[0].title: record_id}, actor=_actor(request)
        )
    except DomainError as exc:
        from django_htmx.http import reswap, retarget

        response = render(request, "views/error_partial.html", {"error": exc})
        return reswap(retarget(response, "#row-error"), "innerHTML")
    return HttpResponse("")


# --- the expanded row ------------------------------------------------------------------------


@login_required
def row_expand(
    request: HttpRequest, base_id: str, table_id: str, record_id: str
) -> HttpResponse:
    """The row as a form with every field of the view; POST saves the changed ones together."""
    table = grid_table(request, base_id, table_id)
    meta = records.TableMeta.of(table, actor=_actor(request))
    view = current_view(request, table)
    columns = grid_columns(meta, view)
    can_edit = writable(request, table)
    row = records.get_record(
        table, record_id, {"fields": read_fields(meta, columns)}, actor=_actor(request)
    )
    typed: dict = {}
    error, errors, saved = None, {}, False
    if request.method == "POST":
        grid_table(request, base_id, table_id, operation="records.update")
        items = []
        for f in columns:
            if not is_editable(f, meta, table_writable=True) or f.is_virtual:
                continue
            key = f"f_{f.id}"
            if f.uidt == "Checkbox":
                text = "true" if request.POST.get(key) else "false"
            elif f.uidt == "MultiSelect":
                text = ",".join(request.POST.getlist(key))
            elif key in request.POST:
                text = request.POST.get(key)
            else:
                continue
            typed[f.id] = text
            if text == _form_text(f, row.get(f.title)):
                continue  # unchanged: not written
            try:
                from bases import fieldtypes as ft

                value = typed_value(f, text, _decimal_sep(request))
                # Bounded as the write is, so a value too long is marked on its field.
                ft.get(f.uidt).value_parser(f, db=table.source.kind)(value, f.options)
                items.append((record_id, f, value))
            except InvalidInput as exc:
                errors[f.id] = exc.message
        if not errors and items:
            try:
                rows, _ = _changes_by_row(meta, items)
                _save_rows(table, rows, _actor(request))
                saved = True
            except DomainError as exc:
                error = exc.message
        elif not errors:
            saved = True
        if saved:
            typed = {}
            row = records.get_record(
                table,
                record_id,
                {"fields": read_fields(meta, columns)},
                actor=_actor(request),
            )
    fields = []
    for f in columns:
        value = row.get(f.title)
        fields.append(
            {
                "field": f,
                "raw": typed.get(f.id, raw_text(f, value)),
                "html": display_html(f, value),
                "editable": can_edit and is_editable(f, meta, table_writable=True),
                "error": errors.get(f.id),
                "selected": typed.get(f.id, raw_text(f, value)).split(","),
            }
        )
    response = render(
        request,
        "views/partials/grid_expand.html",
        {
            "base_id": base_id,
            "table": table,
            "view": view,
            "record_id": record_id,
            "title": _row_title(meta, columns, row, record_id),
            "fields": fields,
            "can_edit": can_edit,
            "can_send": can(_actor(request), "webhooks.manage", table),
            "error": error,
            "saved": saved and request.method == "POST",
        },
    )
    if saved and request.method == "POST":
        response["HX-Trigger"] = json.dumps({"grid:row-saved": {"id": str(record_id)}})
    return response


def _form_text(field, value) -> str:
    """A value as the expanded row's input holds it (to tell what the user changed)."""
    text = raw_text(field, value)
    if field.uidt == "Checkbox":
        return text or "false"
    if field.uidt == "DateTime":
        return text[:16]  # datetime-local has no offset; values are shown in UTC
    return text


def _row_title(meta, columns, row: dict, record_id) -> str:
    pv = meta.pv
    if pv is not None and row.get(pv.title):
        return str(row.get(pv.title))
    return f"Record {record_id}"


# --- links and select options ---------------------------------------------------------------


@login_required
def link_picker(
    request: HttpRequest, base_id: str, table_id: str, record_id: str, field_id: str
) -> HttpResponse:
    """The link picker: linked records as chips (× unlinks) and a search of the linked table.

    POST {action: link|unlink, target: record id} changes one link through
    record_services.link_records, then answers the picker again.
    """
    table = grid_table(request, base_id, table_id)
    meta = records.TableMeta.of(table, actor=_actor(request))
    link = _field(meta, field_id)
    if link.uidt != "LinkToAnotherRecord" or link.related_table is None:
        raise Http404("Not a link field.")
    related = link.related_table
    rel_meta = records.TableMeta.of(related, actor=_actor(request))
    error = None
    if request.method == "POST":
        grid_table(request, base_id, table_id, operation="records.update")
        action = request.POST.get("action")
        target = request.POST.get("target", "")
        if action not in ("link", "unlink") or not target:
            raise InvalidInput("Send action=link|unlink and target=<record id>.")
        try:
            record_services.link_records(
                table,
                link,
                record_id,
                [target],
                actor=_actor(request),
                unlink=action == "unlink",
            )
        except DomainError as exc:
            error = exc.message
    linked = records.list_linked(
        table, link, record_id, {"limit": "50"}, actor=_actor(request)
    )
    q = (request.GET.get("q") or request.POST.get("q") or "").strip()
    pv = rel_meta.pv
    where = None
    if q and pv is not None:
        where = Condition(pv.id, "like", q)
    elif q and rel_meta.pk:
        where = Condition(rel_meta.pk[0].id, "eq", q)
    try:
        found = records.list_records(
            related, {"limit": "20"}, actor=_actor(request), where=where
        )
    except DomainError as exc:
        found, error = [], error or exc.message
    linked_ids = {str(_rid(rel_meta, r)) for r in linked}
    ctx = {
        "base_id": base_id,
        "table": table,
        "record_id": record_id,
        "link": link,
        "related": related,
        "linked": [_choice(rel_meta, r) for r in linked],
        "found": [
            {**_choice(rel_meta, r), "is_linked": str(_rid(rel_meta, r)) in linked_ids}
            for r in found
        ],
        "q": q,
        "error": error,
        "can_edit": writable(request, table),
        "single": link.options.get("relation") == "bt",
    }
    return render(request, "views/partials/grid_links.html", ctx)


def _rid(meta, row):
    return meta.record_id([row.get(f.title) for f in meta.pk]) if meta.pk else None


def _choice(meta, row) -> dict:
    pv = meta.pv
    label = row.get(pv.title) if pv is not None else None
    record_id = _rid(meta, row)
    return {
        "id": record_id,
        "label": label if label not in (None, "") else f"#{record_id}",
    }


@login_required
@require_POST
def option_add(
    request: HttpRequest, base_id: str, table_id: str, field_id: str
) -> JsonResponse:
    """A creator adds a select option from the cell's dropdown; answers the new choices."""
    table = grid_table(request, base_id, table_id, operation="fields.update")
    meta = records.TableMeta.of(table, actor=_actor(request))
    field = _field(meta, field_id)
    if field.uidt not in ("SingleSelect", "MultiSelect"):
        raise InvalidInput("Only select fields have options.")
    title = str(_json_body(request).get("title") or "").strip()
    if not title or "," in title:
        raise InvalidInput("An option needs a title without commas.")
    choices = list((field.options or {}).get("choices", []))
    if title not in [c.get("title") for c in choices if isinstance(c, dict)]:
        choices.append({"title": title})
    from bases.models import Field

    updated = schema_services.field_update(
        actor=_actor(request),
        field=Field.objects.get(pk=field.pk),
        data={"options": {**(field.options or {}), "choices": choices}},
    )
    return JsonResponse({"choices": updated.options.get("choices", [])})


def rows_html(request, table, meta, view, page_rows, start: int) -> str:
    """For callers outside the grid body (group-by): rows rendered like the grid's."""
    columns = grid_columns(meta, view)
    rows = grid_rows(
        meta, columns, page_rows, start=start, editable=writable(request, table)
    )
    return render_to_string(
        "views/partials/grid_rows.html", {"rows": rows}, request=request
    )
