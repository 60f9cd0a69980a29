"""A file into a NEW table through the API: upload (→ the job with its preview and guessed
types), optionally another Excel sheet, start with the table's name and types, poll."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bases import selectors
from imports import coltypes, newtable, uploads
from imports.models import ImportJob, NewTableJob
from nocoplatform.api import ERRORS
from nocoplatform.errors import DomainError, InvalidInput
from permissions.checks import require

TYPES_TEXT = ", ".join([*coltypes.TYPES, coltypes.SKIP])


def job_json(job: NewTableJob) -> dict:
    out = {
        "id": str(job.pk),
        "status": job.status,
        "fileName": job.file_name,
        "sheets": job.sheets,
        "sheet": job.sheet or None,
        "title": job.title,
        "header": job.header,
        "columns": job.columns,
        "total": job.total,
        "done": job.done,
        "error": job.error or None,
        "errors": job.errors,
        "tableId": job.table_id or None,
    }
    if job.status == ImportJob.Status.NEW:
        try:
            out["rows"] = newtable.preview(job)["rows"]
        except DomainError:
            out["rows"] = []
    return out


def _base(request, base_id: str):
    base = selectors.base_get(actor=request.actor, base_id=base_id)
    require(request.actor, "table.create", base)  # before a body is parsed
    return base


class NewTableImportApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Upload a CSV or Excel file to import into a new table",
        description=(
            "Multipart `file` (CSV: delimiter and encoding detected; or .xlsx, with an "
            "optional `sheet` name, else its first sheet). Answers 201 with the job: "
            "`header`, the first `rows`, per column a guessed `type` "
            f"({TYPES_TEXT}) and `title`, the table's proposed `title` (the file's name, "
            "unique in the base) and the workbook's `sheets`. Nothing is created until "
            "POST …/import/{jobId}/start. Creators and owners only."
        ),
        request={"multipart/form-data": dict},
        responses={201: dict, **ERRORS},
        tags=["Meta"],
    )
    def post(self, request: Request, base_id: str) -> Response:
        base = _base(request, base_id)
        job = newtable.job_create(
            actor=request.actor,
            base=base,
            upload=request.FILES.get("file"),
            sheet=request.data.get("sheet"),
        )
        return Response(job_json(job), status=201)


class NewTableImportJobApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="An import into a new table: its preview, then its progress",
        description=(
            "`status` new (the preview: `rows`, `columns`), pending, running, done "
            "(`tableId`: the new table), failed (`error`; `errors`: the refused rows' "
            "`line` and `message`, at most 100 — nothing was created) or cancelled "
            "(nothing was created). 404 IMPORT_NOT_FOUND once the job or its upload "
            "is gone (uploads not started are pruned after NOCO_IMPORT_KEEP_DAYS)."
        ),
        responses={200: dict, **ERRORS},
        tags=["Meta"],
    )
    def get(self, request: Request, base_id: str, job_id: str) -> Response:
        base = _base(request, base_id)
        job = newtable.job_get(actor=request.actor, base=base, job_id=job_id)
        if job.status == ImportJob.Status.NEW:  # its upload pruned: 404 as for the job
            uploads.require_file(job)
        return Response(job_json(job))

    @extend_schema(
        summary="Read another sheet of the uploaded Excel file",
        description='{"sheet": "<name>"}: the preview and the guessed types of that sheet.',
        request={"application/json": dict},
        responses={200: dict, **ERRORS},
        tags=["Meta"],
    )
    def patch(self, request: Request, base_id: str, job_id: str) -> Response:
        base = _base(request, base_id)
        job = newtable.job_get(actor=request.actor, base=base, job_id=job_id)
        sheet = uploads.requested_sheet(request.data)
        job = newtable.job_choose_sheet(actor=request.actor, job=job, sheet=sheet)
        return Response(job_json(job))


class NewTableImportStartApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Start an import into a new table (background job; all rows or none)",
        description=(
            '{"title": "<table name>", "columns": [{"title": "<field name>", "type": '
            f'"<{TYPES_TEXT}>"}}, …]}}, one entry per file column in order (optional: '
            "the job's own). Per column, `dateOrder` (dmy|mdy) and `decimalSep` (. or ,) "
            "say how dates and decimals are written. Answers 202; poll "
            "GET …/import/{jobId}. Every row is checked before the table is created: a "
            "refused row fails the job and nothing is created. 404 IMPORT_NOT_FOUND when "
            "the upload was pruned meanwhile; 400 IMPORT_STARTED when it has started; "
            "POST …/import/{jobId}/cancel cancels it."
        ),
        request={"application/json": dict},
        responses={202: dict, **ERRORS},
        tags=["Meta"],
    )
    def post(self, request: Request, base_id: str, job_id: str) -> Response:
        base = _base(request, base_id)
        job = newtable.job_get(actor=request.actor, base=base, job_id=job_id)
        data = request.data if isinstance(request.data, dict) else {}
        title = data.get("title")
        if title is not None and not isinstance(title, str):
            raise InvalidInput("`title` must be text.")
        job = newtable.job_start(
            actor=request.actor, job=job, title=title, columns=data.get("columns")
        )
        return Response(job_json(job), status=202)


class NewTableImportCancelApi(APIView):
    @extend_schema(
        summary="Cancel an import into a new table",
        description=(
            "A job not started yet is cancelled at once (its upload removed). A running "
            "one stops at its next chunk — while its rows are checked, or while they are "
            "loaded (COPY's 1 MB pieces on the PostgreSQL built-in store, batches of 1000 "
            "rows elsewhere) — and rolls back: the table it created is deleted again "
            "(`status` becomes `cancelled`; poll the job). A finished job: 409 "
            "IMPORT_FINISHED."
        ),
        request=None,
        responses={200: dict, **ERRORS},
        tags=["Meta"],
    )
    def post(self, request: Request, base_id: str, job_id: str) -> Response:
        base = _base(request, base_id)
        job = newtable.job_get(actor=request.actor, base=base, job_id=job_id)
        job = newtable.job_cancel(actor=request.actor, job=job)
        return Response(job_json(job))
