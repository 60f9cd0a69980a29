"""The expanded row's History panel (htmx partial): the record's changes, newest first."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from bases import selectors
from history.display import cell_text
from history.selectors import history_page, parse_page_params
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
