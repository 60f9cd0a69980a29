"""The expanded row (every field of the view as a form) and the link picker of a link cell."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django_htmx.http import trigger_client_event

from bases import records, user_cells
from bases.fieldtypes import field_type_for
from bases.query.where import Condition
from nocoplatform.errors import DomainError, InvalidInput
from permissions.checks import can
from permissions.middleware import HtmxHttpRequest
from records.links import link_records
from views.grid.cells import (
    display_html,
    is_editable,
    raw_text,
    typed_value,
)
from views.grid.common import (
    changes_by_row,
    current_view,
    date_order,
    decimal_sep,
    field_of,
    grid_columns,
    grid_table,
    read_fields,
    save_rows,
    writable,
)


@login_required
def row_expand(
    request: HtmxHttpRequest, base_id: str, table_id: str, record_id: str
) -> HttpResponse:
    """The row as a form with every field of the view; POST saves the changed ones together."""
    table = grid_table(request, base_id, table_id)
    meta = records.TableMeta.of(table, actor=request.actor)
    view = current_view(request, table)
    columns = grid_columns(meta, view)
    can_edit = writable(request, table)
    row = records.get_record(
        table, record_id, {"fields": read_fields(meta, columns)}, actor=request.actor
    )
    typed: dict = {}
    error, errors, saved = None, {}, False
    if request.method == "POST":
        grid_table(request, base_id, table_id, operation="records.update")
        items = []
        for f in columns:
            if not is_editable(f, meta, table_writable=True) or f.is_virtual:
                continue
            ftype = field_type_for(f)
            text = ftype.posted_text(request.POST, f"f_{f.id}")
            if text is None:
                continue
            typed[f.id] = text
            if text == _form_text(f, row.get(f.title)):
                continue  # unchanged: not written
            try:
                value = typed_value(f, text, decimal_sep(request), date_order(request))
                # Bounded as the write is, so a value too long is marked on its field.
                ftype.value_parser(f, db=table.source.kind)(value, f.options)
                items.append((record_id, f, value))
            except InvalidInput as exc:
                errors[f.id] = exc.message
        if not errors and items:
            try:
                rows, _ = changes_by_row(meta, items)
                save_rows(table, rows, request.actor)
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
                actor=request.actor,
            )
    fields, people = [], None
    for f in columns:
        value = row.get(f.title)
        editable = can_edit and is_editable(f, meta, table_writable=True)
        if editable and field_type_for(f).holds_users and people is None:
            # The User fields' choices: the base's members, picked by email (or id).
            people = [
                {"key": p["email"] or str(p["id"]), "name": p["display_name"]}
                for p in user_cells.members(table.base_id)
            ]
        fields.append(
            {
                "field": f,
                "raw": typed.get(f.id, raw_text(f, value)),
                "html": display_html(f, value),
                "editable": editable,
                "error": errors.get(f.id),
                "selected": typed.get(f.id, raw_text(f, value)).split(","),
                "people": people,
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
            "can_send": can(request.actor, "webhooks.manage", table),
            "error": error,
            "saved": saved and request.method == "POST",
        },
    )
    if saved and request.method == "POST":
        trigger_client_event(response, "grid:row-saved", {"id": str(record_id)})
    return response


def _form_text(field, value) -> str:
    """A value as the expanded row's input holds it (to tell what the user changed)."""
    return field_type_for(field).form_text(field, value)


def _row_title(meta, columns, row: dict, record_id) -> str:
    pv = meta.pv
    if pv is not None and row.get(pv.title):
        return str(row.get(pv.title))
    return f"Record {record_id}"


@login_required
def link_picker(
    request: HtmxHttpRequest, base_id: str, table_id: str, record_id: str, field_id: str
) -> HttpResponse:
    """The link picker: linked records as chips (× unlinks) and a search of the linked table.

    POST {action: link|unlink, target: record id} changes one link through
    records.links.link_records, then answers the picker again.
    """
    table = grid_table(request, base_id, table_id)
    meta = records.TableMeta.of(table, actor=request.actor)
    link = field_of(meta, field_id)
    if not field_type_for(link).is_link or link.related_table is None:
        raise Http404("Not a link field.")
    related = link.related_table
    rel_meta = records.TableMeta.of(related, actor=request.actor)
    error = None
    if request.method == "POST":
        grid_table(request, base_id, table_id, operation="records.update")
        action = request.POST.get("action")
        target = request.POST.get("target", "")
        if action not in ("link", "unlink") or not target:
            raise InvalidInput("Send action=link|unlink and target=<record id>.")
        try:
            link_records(
                table,
                link,
                record_id,
                [target],
                actor=request.actor,
                unlink=action == "unlink",
            )
        except DomainError as exc:
            error = exc.message
    linked = records.list_linked(
        table, link, record_id, {"limit": "50"}, actor=request.actor
    )
    q = (request.GET.get("q") or request.POST.get("q") or "").strip()
    where = None
    pv = rel_meta.pv
    if q and pv is not None:
        where = Condition(pv.id, "like", q)
    elif q and rel_meta.pk:
        where = Condition(rel_meta.pk[0].id, "eq", q)
    try:
        found = records.list_records(
            related, {"limit": "20"}, actor=request.actor, where=where
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
