"""Downloading a view as CSV or XLSX from its ⋯ menu (bases/export.py does the work).

A view of up to NOCO_EXPORT_JOB_ROWS rows downloads at once (streamed); a larger one becomes
a background job (imports/exports.py) whose page shows its progress, downloads the file by
itself when it is written, and can cancel it (docs/import-export.md, "Export of a view")."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from bases import export
from imports import exports
from nocoplatform.errors import DomainError
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
    search = search_text(request)[:200]
    # The count first (bounded: an estimate past NOCO_EXACT_COUNT_LIMIT); a bad filter or a
    # missing permission is the request's 4xx either way.
    count = exports.view_count(table, actor=request.actor, view=view, search=search)
    if exports.needs_job(count):
        job = exports.job_start(
            actor=request.actor,
            table=table,
            view=view,
            fmt=fmt,
            search=search,
            total=count,
        )
        return redirect("view_export_job", base_id, view.pk, job.pk)
    rows = export.view_rows(table, actor=request.actor, view=view, search=search)
    return export.response(rows, fmt, table.title, view.title)


def _job(request, base_id: str, view_id: str, job_id: str):
    base, table, view = load_view(request, base_id, view_id)
    job = exports.job_get(actor=request.actor, job_id=job_id)
    if job.view_id != view.pk:
        raise Http404("Export not found.")
    return base, table, view, job


def _render(request, base, table, view, job, *, partial: bool) -> HttpResponse:
    ctx = {
        "base": base,
        "table": table,
        "view": view,
        "job": job,
        "rate": job.rate(),
        "seconds_left": job.seconds_left(),
        "keep_days": settings.NOCO_IMPORT_KEEP_DAYS,
    }
    template = "views/export_job.html" + ("#progress" if partial else "")
    return render(request, template, ctx)


@login_required
@require_GET
def export_job(
    request: HtmxHttpRequest, base_id: str, view_id: str, job_id: str
) -> HttpResponse:
    """The export's progress (its #progress part polled by htmx while it runs)."""
    base, table, view, job = _job(request, base_id, view_id, job_id)
    return _render(request, base, table, view, job, partial=bool(request.htmx))


@login_required
@require_GET
def export_job_file(request: HtmxHttpRequest, base_id: str, view_id: str, job_id: str):
    """The finished file, for the member who made it only (404 for anyone else)."""
    _, _, _, job = _job(request, base_id, view_id, job_id)
    return exports.file_response(job)


@login_required
def export_job_cancel(
    request: HtmxHttpRequest, base_id: str, view_id: str, job_id: str
) -> HttpResponse:
    """POST: cancel the export (a running one stops at its next page)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    base, table, view, job = _job(request, base_id, view_id, job_id)
    try:
        job = exports.job_cancel(job)
    except DomainError:  # finished meanwhile: its page says how
        pass
    if request.htmx:
        return _render(request, base, table, view, job, partial=True)
    return redirect("view_export_job", base_id, view.pk, job.pk)
