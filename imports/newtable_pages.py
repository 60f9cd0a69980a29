"""The base's "Import a file as a new table" pages: upload, preview with the table's name, a
type per column and the Excel sheet picker, then the progress (imports/newtable.py)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render

from bases import selectors
from imports import coltypes, newtable, services
from imports.models import ImportJob, NewTableJob
from nocoplatform.errors import DomainError
from nocoplatform.limits import accepts_uploads
from permissions.checks import require
from permissions.middleware import HtmxHttpRequest


def _base(request, base_id: str):
    base = selectors.base_get(actor=request.actor, base_id=base_id)
    require(request.actor, "table.create", base)
    return base


@accepts_uploads
@login_required
def base_import(request: HtmxHttpRequest, base_id: str) -> HttpResponse:
    """GET: the upload form; POST: the file, checked and saved → its preview."""
    base = _base(request, base_id)
    error = ""
    if request.method == "POST":
        try:
            job = newtable.job_create(
                actor=request.actor,
                base=base,
                upload=request.FILES.get("file"),
                sheet=request.POST.get("sheet"),
            )
        except DomainError as exc:
            error = exc.message
        else:
            return redirect("base_import_job", base.pk, job.pk)
    return render(
        request,
        "imports/new_table_upload.html",
        {
            "base": base,
            "error": error,
            "max_mb": services.max_size() // (1024 * 1024),
        },
        status=400 if error else 200,
    )


def _posted_columns(request, job) -> list[dict]:
    out = []
    for i, old in enumerate(job.columns):
        col = {
            "title": request.POST.get(f"title-{i}", old.get("title", "")),
            "type": request.POST.get(f"type-{i}", old.get("type", "")),
        }
        for key in ("dateOrder", "decimalSep"):
            value = request.POST.get(f"{key}-{i}")
            if value:
                col[key] = value
        out.append(col)
    return out


@login_required
def base_import_job(
    request: HtmxHttpRequest, base_id: str, job_id: str
) -> HttpResponse:
    """A job: its preview (POST `sheet` reads another sheet; POST starts it), then its
    progress, polled by htmx while it runs."""
    base = _base(request, base_id)
    job = newtable.job_get(actor=request.actor, base=base, job_id=job_id)
    error, status = "", 200
    title, posted = job.title, None
    if request.method == "POST":
        try:
            if request.POST.get("action") == "sheet":
                newtable.job_choose_sheet(
                    actor=request.actor, job=job, sheet=request.POST.get("sheet", "")
                )
            else:
                title = request.POST.get("table_title", job.title)
                posted = _posted_columns(request, job)
                newtable.job_start(
                    actor=request.actor, job=job, title=title, columns=posted
                )
        except DomainError as exc:  # 404 when the prune took the upload meanwhile
            error, status = exc.message, exc.status
        else:
            return redirect("base_import_job", base.pk, job.pk)
    ctx = {
        "base": base,
        "job": job,
        "error": error,
        "types": [(t.name, t.label) for t in coltypes.TYPES.values()],
    }
    if job.status == ImportJob.Status.NEW:
        try:
            rows = newtable.preview(job)["rows"]
        except DomainError as exc:  # the upload is gone (pruned): say so, 404
            ctx["error"], rows, ctx["gone"] = exc.message, [], True
            status = max(status, exc.status)
        ctx["rows"] = rows
        # A refused start shows what the person chose, not the guesses again.
        ctx["title"] = title
        ctx["columns"] = [
            {
                "index": i,
                "name": name,
                **job.columns[i],
                **(posted[i] if posted else {}),
            }
            for i, name in enumerate(job.header)
        ]
    else:
        ctx["table"] = _table(base, job)
    template = (
        "imports/new_table_job.html#progress"
        if request.htmx and job.status != ImportJob.Status.NEW
        else "imports/new_table_job.html"
    )
    return render(request, template, ctx, status=status)


def _table(base, job):
    return base.tables.filter(pk=job.table_id).first() if job.table_id else None


@login_required
def base_import_job_cancel(
    request: HtmxHttpRequest, base_id: str, job_id: str
) -> HttpResponse:
    """POST: cancel the job (a running one stops at its next chunk, rolls back and
    deletes the table it created); htmx swaps the progress in place."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    base = _base(request, base_id)
    job = newtable.job_get(actor=request.actor, base=base, job_id=job_id)
    try:
        job = newtable.job_cancel(actor=request.actor, job=job)
    except DomainError:  # finished (or pruned) meanwhile: its page says how
        pass
    if request.htmx:
        job = NewTableJob.objects.filter(pk=job.pk).first() or job
        ctx = {"base": base, "job": job, "table": _table(base, job)}
        return render(request, "imports/new_table_job.html#progress", ctx)
    return redirect("base_import_job", base.pk, job.pk)
