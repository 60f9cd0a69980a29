"""Downloading a view as CSV or XLSX from its ⋯ menu (bases/export.py does the work)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.views.decorators.http import require_GET

from bases import export
from permissions.middleware import HtmxHttpRequest
from views.grid.common import search_text
from views.models import View
from views.toolbar import load_view


@login_required
@require_GET
def view_export(request: HtmxHttpRequest, base_id: str, view_id: str):
    """The view as the member sees it (and the toolbar's search, `?q=`, when given)."""
    _, table, view = load_view(request, base_id, view_id)
    if view.type == View.Type.FORM:
        raise Http404("A form view has no rows to export.")
    fmt = export.export_format(request.GET.get("format"))
    rows = export.view_rows(
        table, actor=request.actor, view=view, search=search_text(request)[:200]
    )
    return export.response(rows, fmt, table.title, view.title)
