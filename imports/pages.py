"""The table's "Import CSV" pages: upload, preview with the column mapping, progress."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render

from bases import selectors
from imports import services
from imports.models import ImportJob
from nocoplatform.errors import DomainError
from nocoplatform.limits import accepts_uploads
from permissions.checks import can
from permissions.middleware import HtmxHttpRequest


def _table(request, base_id: str, table_id: str):
    table = selectors.table_get(
        actor=request.actor, table_id=table_id, operation="records.read"
    )
    if table.base_id != base_id:
        raise Http404("Table not found.")
    services.may_import(request.actor, table)
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
            "may_insert": can(request.actor, "records.create", table),
        },
        status=400 if error else 200,
    )


@login_required
def import_job(
    request: HtmxHttpRequest, base_id: str, table_id: str, job_id: str
) -> HttpResponse:
    """A job: its preview and mapping (POST `sheet` reads another Excel sheet; POST starts
    it), then its progress (polled)."""
    table = _table(request, base_id, table_id)
    job = services.job_get(actor=request.actor, table=table, job_id=job_id)
    error, status = "", 200
    mapping = (
        job.mapping
    )  # a refused start shows the person's mapping, not the stored one
    if request.method == "POST":
        mapping = {
            str(i): request.POST.get(f"col-{i}", "") for i in range(len(job.header))
        }
        key = request.POST.get("key_column", "") if request.POST.get("upsert") else ""
        try:
            if request.POST.get("action") == "sheet":
                services.job_choose_sheet(
                    actor=request.actor, job=job, sheet=request.POST.get("sheet", "")
                )
            else:
                services.job_start(
                    actor=request.actor, job=job, mapping=mapping, key_column=key
                )
        except DomainError as exc:
            error, status = exc.message, exc.status
        else:
            return redirect("import_job", base_id, table.pk, job.pk)
    may_insert = can(request.actor, "records.create", table)
    ctx = {
        "base": table.base,
        "table": table,
        "job": job,
        "error": error,
        "may_insert": may_insert,
        "rate": job.rate(),
        "seconds_left": job.seconds_left(),
    }
    if job.status == ImportJob.Status.NEW:
        try:
            ctx["preview"] = services.preview(job)
        except DomainError as exc:  # the upload is gone (pruned): 404 and why
            ctx["error"], ctx["gone"] = exc.message, True
            ctx["preview"] = None
            status = max(status, exc.status)
        fields = services.target_fields(table, request.actor)
        ctx["fields"] = fields
        ctx["key_fields"] = {f.id for f in services.key_fields(fields)}
        ctx["upsert"] = bool(request.POST.get("upsert")) or not may_insert
        ctx["key_column"] = request.POST.get("key_column", "")
        header = job.header
        p = ctx.get("preview") or {"types": [""] * len(header), "rows": []}
        ctx["columns"] = [
            {
                "index": i,
                "name": name,
                "type": p["types"][i] if i < len(p["types"]) else "",
                "field": mapping.get(str(i), ""),
            }
            for i, name in enumerate(header)
        ]
        ctx["rows"] = p["rows"]
    template = (
        "imports/job.html#progress"
        if request.htmx and job.status != ImportJob.Status.NEW
        else "imports/job.html"
    )
    return render(request, template, ctx, status=status)


@login_required
def import_job_cancel(
    request: HtmxHttpRequest, base_id: str, table_id: str, job_id: str
) -> HttpResponse:
    """POST: cancel the job (a running one stops at its next batch and rolls back)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    table = _table(request, base_id, table_id)
    job = services.job_get(actor=request.actor, table=table, job_id=job_id)
    try:
        job = services.job_cancel(actor=request.actor, job=job)
    except DomainError:  # finished meanwhile: its page says how
        pass
    if request.htmx:
        job.refresh_from_db()
        ctx = {
            "base": table.base,
            "table": table,
            "job": job,
            "rate": job.rate(),
            "seconds_left": job.seconds_left(),
        }
        return render(request, "imports/job.html#progress", ctx)
    return redirect("import_job", base_id, table.pk, job.pk)


@login_required
def import_job_refused(
    request: HtmxHttpRequest, base_id: str, table_id: str, job_id: str
) -> HttpResponse:
    """The job's refused rows as a CSV download (imports/refused.py)."""
    from imports.api import refused_response

    table = _table(request, base_id, table_id)
    job = services.job_get(actor=request.actor, table=table, job_id=job_id)
    return refused_response(job, table.title)
