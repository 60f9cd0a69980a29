"""The table's "Import CSV" pages: upload, preview with the column mapping, progress."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from bases import selectors
from imports import services
from imports.models import ImportJob
from nocoplatform.errors import DomainError
from nocoplatform.limits import accepts_uploads
from permissions.checks import require
from permissions.middleware import HtmxHttpRequest


def _table(request, base_id: str, table_id: str):
    table = selectors.table_get(
        actor=request.actor, table_id=table_id, operation="records.read"
    )
    if table.base_id != base_id:
        raise Http404("Table not found.")
    require(request.actor, "records.create", table)
    return table


@accepts_uploads
@login_required
def table_import(request: HtmxHttpRequest, base_id: str, table_id: str) -> HttpResponse:
    """GET: the upload form; POST: the file, checked and saved → its preview."""
    table = _table(request, base_id, table_id)
    error = ""
    if request.method == "POST":
        try:
            job = services.job_create(
                actor=request.actor,
                table=table,
                upload=request.FILES.get("file"),
                sheet=request.POST.get("sheet"),
            )
        except DomainError as exc:
            error = exc.message
        else:
            return redirect("import_job", base_id, table.pk, job.pk)
    return render(
        request,
        "imports/upload.html",
        {
            "base": table.base,
            "table": table,
            "error": error,
            "max_mb": services.max_size() // (1024 * 1024),
        },
        status=400 if error else 200,
    )


@login_required
def import_job(
    request: HtmxHttpRequest, base_id: str, table_id: str, job_id: str
) -> HttpResponse:
    """A job: its preview and mapping (POST starts it), then its progress (polled)."""
    table = _table(request, base_id, table_id)
    job = services.job_get(actor=request.actor, table=table, job_id=job_id)
    error = ""
    if request.method == "POST":
        mapping = {
            str(i): request.POST.get(f"col-{i}", "") for i in range(len(job.header))
        }
        try:
            services.job_start(actor=request.actor, job=job, mapping=mapping)
        except DomainError as exc:
            error = exc.message
        else:
            return redirect("import_job", base_id, table.pk, job.pk)
    ctx = {"base": table.base, "table": table, "job": job, "error": error}
    if job.status == ImportJob.Status.NEW:
        try:
            ctx["preview"] = services.preview(job)
        except DomainError as exc:
            ctx["error"] = exc.message
            ctx["preview"] = None
        fields = services.target_fields(table, request.actor)
        ctx["fields"] = fields
        header = job.header
        p = ctx.get("preview") or {"types": [""] * len(header), "rows": []}
        ctx["columns"] = [
            {
                "index": i,
                "name": name,
                "type": p["types"][i] if i < len(p["types"]) else "",
                "field": job.mapping.get(str(i), ""),
            }
            for i, name in enumerate(header)
        ]
        ctx["rows"] = p["rows"]
    template = (
        "imports/job.html#progress"
        if request.htmx and job.status != ImportJob.Status.NEW
        else "imports/job.html"
    )
    return render(request, template, ctx, status=400 if error else 200)
