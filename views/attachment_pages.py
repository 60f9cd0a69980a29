"""Attachment cells over HTTP: a cell's files panel (list, thumbnails, upload, remove), the
grid cell's upload (files dropped on it), and the download of one file or its thumbnail.
Logic and checks are in bases/attachments.py: every upload goes through `attachments_add`.

Files are served with `X-Content-Type-Options: nosniff`, a content type the server decided
from the bytes, and `Content-Disposition: attachment` except for safe raster images (PNG,
JPEG, GIF, WebP), which may show inline. `?thumb=1` serves an image's WebP thumbnail
(bases/thumbnails.py) instead, after the same checks; a file without one is served as itself.
SVG and HTML are always downloads. A file of a row, field or table the caller cannot see
answers 404.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from bases import attachments, selectors
from bases.fieldtypes import field_type_for
from bases.table_meta import TableMeta
from nocoplatform.errors import DomainError, NotFound
from nocoplatform.limits import accepts_uploads
from permissions.checks import can
from permissions.middleware import HtmxHttpRequest


def _table(request, base_id: str, table_id: str):
    table = selectors.table_get(
        actor=request.actor, table_id=table_id, operation="records.read"
    )
    if table.base_id != base_id:
        raise NotFound("Table not found.", code="TABLE_NOT_FOUND")
    return table


def _ext(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext[:4].upper() if dot and stem else "FILE"


def _changed(response: HttpResponse) -> HttpResponse:
    """After an upload or removal, the grid behind the expanded row reloads its rows."""
    return trigger_client_event(response, "grid:reload", {})


def _panel(request, table, record_id, field_id, *, error="", status=200):
    actor = request.actor
    meta = TableMeta.of(table, actor=actor)
    field = meta.resolve.by_id.get(field_id)
    if field is None or not field_type_for(field).holds_files:
        raise NotFound("Field not found.", code="FIELD_NOT_FOUND")
    files = attachments.cell_files(table, record_id, field, actor)
    template = (
        "views/attachments.html#panel" if request.htmx else "views/attachments.html"
    )
    return render(
        request,
        template,
        {
            "table": table,
            "field": field,
            "record_id": record_id,
            "files": [
                {
                    **f,
                    # An image whose thumbnail could not be made shows as a file.
                    "image": f.get("mime") in attachments.INLINE_TYPES
                    and f.get("thumb") is not False,
                    "ext": _ext(f.get("name") or ""),
                }
                for f in files
            ],
            "can_edit": can(actor, "records.update", field)
            and field.id not in meta.read_only,
            "error": error,
        },
        status=status,
    )


@login_required
@accepts_uploads  # (nocoplatform/limits.py)
def attachments_panel(
    request: HtmxHttpRequest, base_id: str, table_id: str, record_id: str, field_id: str
) -> HttpResponse:
    """GET: the cell's files. POST `files` (one or more): upload them into the cell."""
    table = _table(request, base_id, table_id)
    if request.method == "POST":
        try:
            attachments.attachments_add(
                actor=request.actor,
                table=table,
                record_id=record_id,
                field_id=field_id,
                files=request.FILES.getlist("files"),
            )
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            return _panel(
                request, table, record_id, field_id, error=exc.message, status=400
            )
        return _changed(_panel(request, table, record_id, field_id))
    return _panel(request, table, record_id, field_id)


def grid_cell_upload(
    request: HtmxHttpRequest, table, record_id: str, field
) -> HttpResponse:
    """Files dropped on a grid cell, or added from its popup: POST `files` to the cell
    endpoint (views/grid/edit.cell routes attachment cells here).

    The same service as the files panel, so the same permission and limit checks. Answers the
    cell's new <td>; a refusal answers {"error", "message"} with its status (400 a limit,
    403 no right to edit, 404 a row or field the caller cannot see), and nothing is stored.
    """
    from bases.fieldtypes.attachment import files_url
    from views.grid.cells import cell_td, grid_cell
    from views.grid.common import cell_flag, writable

    actor = request.actor
    try:
        files = attachments.attachments_add(
            actor=actor,
            table=table,
            record_id=record_id,
            field_id=field.id,
            files=request.FILES.getlist("files"),
        )
    except DomainError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    meta = TableMeta.of(table, actor=actor)
    cell = grid_cell(
        field,
        files,
        editable=cell_flag(field, meta, table_writable=writable(request, table)),
        file_url=files_url(table, record_id, field),
    )
    return HttpResponse(cell_td(cell))


@login_required
@require_POST
def attachment_delete(
    request: HtmxHttpRequest,
    base_id: str,
    table_id: str,
    record_id: str,
    field_id: str,
    file_id: str,
) -> HttpResponse:
    table = _table(request, base_id, table_id)
    attachments.attachment_remove(
        actor=request.actor,
        table=table,
        record_id=record_id,
        field_id=field_id,
        file_id=file_id,
    )
    return _changed(_panel(request, table, record_id, field_id))


@login_required
def attachment_file(
    request: HtmxHttpRequest,
    base_id: str,
    table_id: str,
    record_id: str,
    field_id: str,
    file_id: str,
) -> HttpResponse:
    table = _table(request, base_id, table_id)
    served = attachments.attachment_open(
        actor=request.actor,
        table=table,
        record_id=record_id,
        field_id=field_id,
        file_id=file_id,
        thumb=request.GET.get("thumb") == "1",
    )
    return file_response(served)


def file_response(served: attachments.Served) -> FileResponse:
    """A stored file (or thumbnail) with the headers every attachment download carries."""
    response = FileResponse(
        served.file,
        as_attachment=not served.inline,
        filename=served.entry["name"],
        content_type=served.entry["mime"],
    )
    response["X-Content-Type-Options"] = "nosniff"
    # Even a file opened directly cannot run scripts or load anything.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=300"
    return response
