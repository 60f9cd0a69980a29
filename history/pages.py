"""The expanded row's History panel (htmx partial): the record's changes, newest first; and
the table's "Deleted rows" page (history/trash.py)."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from bases import selectors
from history import trash
from history.display import cell_text
from history.selectors import history_page, parse_page_params
from nocoplatform.errors import DomainError, InvalidInput
from permissions.checks import require
from permissions.middleware import HtmxHttpRequest

PAGE = 20


@login_required
@require_GET
def record_history(
    request: HtmxHttpRequest, base_id: str, table_id: str, record_id: str
) -> HttpResponse:
    """htmx: a page of the row's history; `?cursor=` gives the older entries that follow."""
    actor = request.actor
    table = selectors.table_get(
        actor=actor, table_id=table_id, operation="records.read"
    )
    if table.base_id != base_id:
        raise Http404("Table not found.")
    _, before = parse_page_params(None, request.GET.get("cursor"))
    page = history_page(
        actor=actor, table=table, record_id=record_id, limit=PAGE, before=before
    )
    entries = [
        {
            "change": e.change,
            "author": e.author,
            "fields": [
                {
                    "field": f,
                    "old": cell_text(f, old),
                    "new": cell_text(f, new),
                }
                for f, old, new in e.fields
            ],
        }
        for e in page.entries
    ]
    return render(
        request,
        "history/partials/history.html",
        {
            "table": table,
            "record_id": record_id,
            "entries": entries,
            "next": page.next,
            "more_only": before is not None,
        },
    )


def _trash_table(request, base_id: str, table_id: str):
    table = selectors.table_get(
        actor=request.actor, table_id=table_id, operation="records.read"
    )
    if table.base_id != base_id:
        raise Http404("Table not found.")
    require(request.actor, "records.restore", table)
    return table


@login_required
def table_trash(request: HtmxHttpRequest, base_id: str, table_id: str) -> HttpResponse:
    """The table's "Deleted rows" panel (creators and up); POST restores the ticked ones."""
    table = _trash_table(request, base_id, table_id)
    if request.method == "POST":
        try:
            result = trash.trash_restore(
                actor=request.actor, table=table, ids=request.POST.getlist("ids")
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            n = len(result["restored"])
            text = f"Restored {n} row{'s' if n != 1 else ''}."
            if result["linksSkipped"]:
                text += (
                    f" {result['linksSkipped']} link(s) could not be restored: the "
                    "other rows are gone or linked elsewhere."
                )
            messages.success(request, text)
        return redirect("table_trash", base_id=base_id, table_id=table.pk)
    _, before = parse_page_params(None, request.GET.get("cursor"))
    page = trash.trash_list(actor=request.actor, table=table, before=before)
    return render(
        request,
        "history/trash.html",
        {
            "base": table.base,
            "table": table,
            "entries": page.entries,
            "next": page.next,
            "days": settings.NOCO_TRASH_DAYS,
        },
    )


@login_required
@require_POST
def trash_restore(request: HtmxHttpRequest, base_id: str, table_id: str):
    """The grid's undo of a delete: {"records": [record ids]} back from the trash."""
    table = _trash_table(request, base_id, table_id)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise InvalidInput("Send a JSON object.", code="INVALID_BODY")
    try:
        result = trash.trash_restore(
            actor=request.actor, table=table, record_ids=body.get("records")
        )
    except DomainError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    return JsonResponse(result)
