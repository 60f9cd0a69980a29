"""POST a CSV into a table (a background job), then poll the job; list your jobs
(docs/import-export.md)."""

from __future__ import annotations

import json

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bases import selectors
from bases.export import _Streaming, content_disposition, file_name
from imports import refused, services, uploads
from imports import selectors as job_selectors
from imports.joblist_api import JobPageInfoOut, job_list_parameters, job_list_query
from imports.models import ImportJob
from nocoplatform.api import ERRORS
from nocoplatform.errors import DomainError, InvalidInput


class ImportJobPage(serializers.Serializer):
    """A page of the caller's import jobs (OpenAPI only)."""

    list = serializers.ListField(
        child=serializers.DictField(),
        help_text="Newest first; each as GET …/import/{jobId} shows it.",
    )
    pageInfo = JobPageInfoOut()


def job_json(job: ImportJob) -> dict:
    out = {
        "id": str(job.pk),
        "status": job.status,
        "fileName": job.file_name,
        "sheets": job.sheets,
        "sheet": job.sheet or None,
        "header": job.header,
        "mapping": job.mapping,
        "keyColumn": job.key_column,
        "checked": job.checked,
        "total": job.total,
        "done": job.done,
        "inserted": job.inserted,
        "updated": job.updated,
        "rate": round(rate, 1) if (rate := job.rate()) is not None else None,
        "secondsLeft": job.seconds_left(),
        "error": job.error or None,
        "errors": job.errors,
        "refused": job.refused,
    }
    if job.status == ImportJob.Status.NEW:  # the preview, until the job starts
        try:
            preview = services.preview(job)
        except DomainError:
            preview = {"rows": [], "types": []}
        out["rows"], out["types"] = preview["rows"], preview["types"]
    return out


def _table(request, table_id):
    return selectors.table_get(
        actor=request.actor, table_id=table_id, operation="records.read"
    )


class ImportApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Your import jobs into the table, newest first",
        description=(
            "The imports into this table that you started (with any of your "
            "credentials; nobody else's), each as `GET …/import/{jobId}` shows it, to "
            "find a job whose id was lost. As for one job, editors and up (no read-only "
            "token). `limit` 1–100 (default 25), `offset`, and `status` to keep one "
            "status (`new`: uploaded with `start=false`, not started); a bad value is "
            "400 INVALID_PARAMETER naming it. Jobs are kept NOCO_IMPORT_KEEP_DAYS."
        ),
        parameters=job_list_parameters(ImportJob.Status.values),
        responses={200: ImportJobPage, **ERRORS},
        tags=["Records"],
        operation_id="tables_import_list",
    )
    def get(self, request: Request, table_id: str) -> Response:
        table = _table(request, table_id)
        services.may_import(request.actor, table)  # a 403 before any 400
        query = job_list_query(request, ImportJob.Status.values)
        page = job_selectors.import_job_list(
            actor=request.actor,
            table=table,
            status=query.status,
            limit=query.limit,
            offset=query.offset,
        )
        return Response(
            {"list": [job_json(job) for job in page.jobs], "pageInfo": page.page_info}
        )

    @extend_schema(
        summary="Import a CSV file into the table (background job; all rows or none)",
        description=(
            "Multipart `file` (CSV: delimiter and encoding detected; or .xlsx, with an "
            "optional `sheet` name, else its first sheet) and optional `mapping`, "
            'a JSON object {"column index": "field id"}; without it, columns are mapped to '
            "fields of the same name. Optional `keyColumn` (a column's index or name, "
            "mapped to a text, number or date field): upsert — rows whose key matches "
            "one row update it, the others are inserted; editors may import only so, and "
            "only update (a row without a match is refused). Answers 202 with the job; "
            "poll GET …/import/{jobId} for `done`/`total`, `rate` (rows/s), "
            "`secondsLeft`, `inserted`/`updated` and `status` (pending, running, done, "
            "failed, cancelled). With `start=false` the job is only uploaded: 201 with "
            "status `new`, the first `rows`, each column's `types` and the workbook's "
            "`sheets`; PATCH …/import/{jobId} reads another sheet, POST "
            "…/import/{jobId}/start starts it."
        ),
        request={"multipart/form-data": dict},
        responses={201: dict, 202: dict, **ERRORS},
        tags=["Records"],
    )
    def post(self, request: Request, table_id: str) -> Response:
        table = _table(request, table_id)
        services.may_import(request.actor, table)  # before the body is parsed
        job = services.job_create(
            actor=request.actor,
            table=table,
            upload=request.FILES.get("file"),
            sheet=request.data.get("sheet"),
        )
        start = str(request.data.get("start", "true")).strip().lower()
        if start in ("false", "0", "no"):
            return Response(job_json(job), status=201)
        mapping = job.mapping
        if request.data.get("mapping"):
            try:
                mapping = json.loads(request.data["mapping"])
            except ValueError:
                raise InvalidInput("`mapping` must be a JSON object.")
            if not isinstance(mapping, dict):
                raise InvalidInput("`mapping` must be a JSON object.")
        try:
            job = services.job_start(
                actor=request.actor,
                job=job,
                mapping=mapping,
                key_column=request.data.get("keyColumn"),
            )
        except DomainError:
            services.job_discard(job)
            raise
        return Response(job_json(job), status=202)


class ImportJobApi(APIView):
    @extend_schema(
        summary="An import job: status, rows done and total, error",
        description=(
            "404 IMPORT_NOT_FOUND once the job, or the upload of a job not started, is "
            "gone (pruned after NOCO_IMPORT_KEEP_DAYS)."
        ),
        responses={200: dict, **ERRORS},
        tags=["Records"],
    )
    def get(self, request: Request, table_id: str, job_id: str) -> Response:
        table = _table(request, table_id)
        job = services.job_get(actor=request.actor, table=table, job_id=job_id)
        if job.status == ImportJob.Status.NEW:  # its upload pruned: 404 as for the job
            uploads.require_file(job)
        return Response(job_json(job))

    @extend_schema(
        summary="Read another sheet of the uploaded Excel file",
        description=(
            '{"sheet": "<name>"}, for a job uploaded with `start=false` and not started: '
            "that sheet's `header`, `rows`, `types` and a `mapping` by name again "
            "(`keyColumn` cleared)."
        ),
        request={"application/json": dict},
        responses={200: dict, **ERRORS},
        tags=["Records"],
    )
    def patch(self, request: Request, table_id: str, job_id: str) -> Response:
        table = _table(request, table_id)
        job = services.job_get(actor=request.actor, table=table, job_id=job_id)
        sheet = uploads.requested_sheet(request.data)
        job = services.job_choose_sheet(actor=request.actor, job=job, sheet=sheet)
        return Response(job_json(job))


class ImportJobStartApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Start an uploaded import job (background job; all rows or none)",
        description=(
            'For a job uploaded with `start=false`: {"mapping": {"column index": '
            '"field id"}, "keyColumn": <column index or name>}, both optional (the '
            "job's own mapping by name; no key: insert every row). Answers 202 with the "
            "job; poll GET …/import/{jobId}. A refused mapping is 400 and the job stays "
            "as it was, to start again. 404 IMPORT_NOT_FOUND when the upload was pruned "
            "meanwhile."
        ),
        request={"application/json": dict},
        responses={202: dict, **ERRORS},
        tags=["Records"],
    )
    def post(self, request: Request, table_id: str, job_id: str) -> Response:
        table = _table(request, table_id)
        job = services.job_get(actor=request.actor, table=table, job_id=job_id)
        data = request.data if isinstance(request.data, dict) else {}
        mapping = data.get("mapping", job.mapping)
        if not isinstance(mapping, dict):
            raise InvalidInput("`mapping` must be a JSON object.")
        key = data.get("keyColumn")
        if key is not None and not isinstance(key, (int, str)):
            raise InvalidInput("`keyColumn` is a column's index or name.")
        job = services.job_start(
            actor=request.actor, job=job, mapping=mapping, key_column=key
        )
        return Response(job_json(job), status=202)


class ImportJobCancelApi(APIView):
    @extend_schema(
        summary="Cancel an import job",
        description=(
            "A job not started yet is cancelled at once; a running one stops at its next "
            "batch of 1000 rows and rolls back: nothing of it stays in the table "
            "(`status` becomes `cancelled`; poll the job). A finished job: 409 "
            "IMPORT_FINISHED."
        ),
        request=None,
        responses={200: dict, **ERRORS},
        tags=["Records"],
    )
    def post(self, request: Request, table_id: str, job_id: str) -> Response:
        table = _table(request, table_id)
        job = services.job_get(actor=request.actor, table=table, job_id=job_id)
        job = services.job_cancel(actor=request.actor, job=job)
        return Response(job_json(job))


class ImportJobRefusedApi(APIView):
    @extend_schema(
        summary="An import job's refused rows as CSV",
        description=(
            "Every row the job refused: `Line` (in the uploaded file), `Reason`, then the "
            "row's own cells under the file's header, so it can be fixed and imported "
            "again. Text that a spreadsheet would run as a formula gets a leading `'`."
        ),
        responses={(200, "text/csv"): str, **ERRORS},
        tags=["Records"],
    )
    def get(self, request: Request, table_id: str, job_id: str):
        table = _table(request, table_id)
        job = services.job_get(actor=request.actor, table=table, job_id=job_id)
        return refused_response(job, table.title)


def refused_response(job: ImportJob, table_title: str) -> _Streaming:
    # bases/export's streaming response: streamed under ASGI too (a big file stays on disk).
    response = _Streaming(
        refused.csv_chunks(job), content_type="text/csv; charset=utf-8"
    )
    name = file_name(table_title, f"{job.file_name} refused rows", ext="csv")
    response["Content-Disposition"] = content_disposition(name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response
