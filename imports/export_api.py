"""Export jobs through the API: a table's or view's export as a background job with progress
(docs/import-export.md, "Export jobs through the API").

The same job as the view menu's large export (imports/exports.py): the file is written by the
direct export's code (bases/export.py), so it is the direct API export's
(`GET /api/v2/tables/{tableId}/export`) for the same parameters. The job reads as the caller
did — through their API token when they used one (its base, read-only) — and only its maker
(the same user, with any of their credentials) sees, lists, downloads or cancels it: 404 for
anyone else, as for a job that does not exist.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bases import export, records_api, selectors
from imports import exports
from imports import selectors as job_selectors
from imports.joblist_api import JobPageInfoOut, job_list_parameters, job_list_query
from imports.models import ExportJob
from nocoplatform.api import ERRORS
from nocoplatform.errors import InvalidInput, NotFound
from permissions.checks import actor_from_request

# The direct export's parameters (bases/records_api.py::RecordsExportApi), no more: a job's
# file is that export's.
PARAMS = ("viewId", "format")
# What a list may filter on: every status an export job can be in (never `new`).
STATUSES = [s for s in ExportJob.Status.values if s != ExportJob.Status.NEW]


class ExportJobCreate(serializers.Serializer):
    """The body of POST …/export/jobs (OpenAPI only; the view parses it itself)."""

    viewId = serializers.CharField(
        required=False,
        help_text="The view to export (its filter, sort and shown fields); without it, "
        "every field you may see, unfiltered, in key order.",
    )
    format = serializers.ChoiceField(
        choices=["csv", "xlsx", "excel"],
        required=False,
        default="csv",
        help_text="`excel` is NocoDB's name for xlsx.",
    )


class ExportJobOut(serializers.Serializer):
    """An export job as the API shows it (OpenAPI only)."""

    id = serializers.UUIDField()
    status = serializers.ChoiceField(
        choices=["pending", "running", "done", "failed", "cancelled"]
    )
    tableId = serializers.CharField()
    viewId = serializers.CharField(allow_null=True)
    format = serializers.ChoiceField(choices=["csv", "xlsx"])
    fileName = serializers.CharField()
    total = serializers.IntegerField(
        allow_null=True,
        help_text="Rows counted at the start (an estimate for huge views); the rows "
        "written once done.",
    )
    done = serializers.IntegerField(help_text="Rows written so far.")
    rate = serializers.FloatField(allow_null=True, help_text="Rows per second.")
    secondsLeft = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    createdAt = serializers.DateTimeField()
    startedAt = serializers.DateTimeField(allow_null=True)
    finishedAt = serializers.DateTimeField(allow_null=True)
    downloadUrl = serializers.URLField(
        allow_null=True, help_text="Once `status` is `done`: GET it for the file."
    )


class ExportJobPage(serializers.Serializer):
    """A page of the caller's export jobs (OpenAPI only)."""

    list = ExportJobOut(many=True, help_text="Newest first.")
    pageInfo = JobPageInfoOut()


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def job_json(request: Request, job: ExportJob) -> dict:
    url = None
    if job.status == ExportJob.Status.DONE:
        url = request.build_absolute_uri(
            f"/api/v2/tables/{job.table_id}/export/jobs/{job.pk}/file"
        )
    return {
        "id": str(job.pk),
        "status": job.status,
        "tableId": str(job.table_id),
        "viewId": job.view_id or None,
        "format": job.format,
        "fileName": job.file_name,
        "total": job.total,
        "done": job.done,
        "rate": round(rate, 1) if (rate := job.rate()) is not None else None,
        "secondsLeft": job.seconds_left(),
        "error": job.error or None,
        "createdAt": _iso(job.created_at),
        "startedAt": _iso(job.started_at),
        "finishedAt": _iso(job.finished_at),
        "downloadUrl": url,
    }


def _params(request: Request) -> dict:
    """viewId and format, from the JSON body or the query string (as the direct export's);
    anything else, or a value that is not text, is a 400 naming it."""
    body = request.data
    if body in (None, ""):
        body = {}
    if not isinstance(body, dict):
        raise InvalidInput(
            "The request body must be a JSON object.", code="INVALID_BODY"
        )
    params = {**request.query_params.dict(), **body}
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise InvalidInput(
            f"Unknown parameter `{unknown[0]}`: an export job takes `viewId` and "
            "`format` (csv or xlsx), as the direct export does.",
            code="INVALID_PARAMETER",
        )
    for name in PARAMS:
        value = params.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"`{name}` must be a string.", code="INVALID_PARAMETER")
    return params


def _job(request: Request, table_id: str, job_id: str) -> ExportJob:
    """The caller's job on this table (a table they can no longer read: 404)."""
    actor = actor_from_request(request)
    table = selectors.table_get(
        actor=actor, table_id=table_id, operation="records.read"
    )
    job = exports.job_get(actor=actor, job_id=job_id)
    if str(job.table_id) != str(table.pk):
        raise NotFound("Export not found.", code="EXPORT_NOT_FOUND")
    return job


class _ExportApi(APIView):
    def perform_content_negotiation(self, request, force=False):
        # `format` names the file's format here, not a DRF renderer (as RecordsExportApi).
        return super().perform_content_negotiation(request, force=True)


JOB_ID = OpenApiParameter("job_id", str, location=OpenApiParameter.PATH)


class ExportJobsApi(_ExportApi):
    @extend_schema(
        summary="Your export jobs of the table, newest first",
        description=(
            "The export jobs you started on this table (with any of your credentials "
            "that can read it; nobody else's), each as `GET …/export/jobs/{jobId}` shows "
            "it, to find a job whose id was lost. `limit` 1–100 (default 25), `offset`, "
            "and `status` to keep one status; a bad value is 400 INVALID_PARAMETER "
            "naming it. Jobs are kept NOCO_IMPORT_KEEP_DAYS. See docs/import-export.md."
        ),
        parameters=job_list_parameters(STATUSES),
        responses={200: ExportJobPage, **ERRORS},
        tags=["Records"],
        operation_id="tables_export_jobs_list",
    )
    def get(self, request: Request, table_id: str) -> Response:
        actor = actor_from_request(request)
        table = selectors.table_get(
            actor=actor, table_id=table_id, operation="records.read"
        )
        query = job_list_query(request, STATUSES)
        page = job_selectors.export_job_list(
            actor=actor,
            table=table,
            status=query.status,
            limit=query.limit,
            offset=query.offset,
        )
        return Response(
            {
                "list": [job_json(request, job) for job in page.jobs],
                "pageInfo": page.page_info,
            }
        )

    @extend_schema(
        summary="Start an export of records as CSV or XLSX (background job)",
        description=(
            "The direct export (`GET …/export`) as a job, for large tables: the same "
            "parameters (`viewId`, `format`; in the JSON body or the query string) and "
            "the same file, written in the background as you — through your API token "
            "when you use one, with its limits — with progress to poll "
            "(`GET …/export/jobs/{jobId}`: `done`/`total`, `rate`, `secondsLeft`, "
            "`status`) and a `downloadUrl` once done. Answers 202 with the job. An "
            "unknown parameter is 400 INVALID_PARAMETER naming it; a bad format 400 "
            "INVALID_FORMAT; an unknown view 404 VIEW_NOT_FOUND. See "
            "docs/import-export.md."
        ),
        parameters=[
            OpenApiParameter("viewId", str, description="As in the body."),
            OpenApiParameter(
                "format", str, enum=["csv", "xlsx"], description="As in the body."
            ),
        ],
        request=ExportJobCreate,
        responses={202: ExportJobOut, **ERRORS},
        tags=["Records"],
    )
    def post(self, request: Request, table_id: str) -> Response:
        actor = actor_from_request(request)
        table = selectors.table_get(
            actor=actor, table_id=table_id, operation="records.read"
        )
        params = _params(request)
        fmt = export.export_format(params.get("format"))
        view = None
        if params.get("viewId"):
            lookup = records_api.view_lookup
            view = lookup(table, params["viewId"]) if lookup is not None else None
            if view is None:
                raise NotFound("View not found.", code="VIEW_NOT_FOUND")
        # The count first (bounded: an estimate on a huge table); a broken view filter is
        # this request's 4xx, not the job's failure.
        total = exports.view_count(table, actor=actor, view=view)
        job = exports.job_start(
            actor=actor, table=table, view=view, fmt=fmt, total=total
        )
        out = Response(job_json(request, job), status=202)
        out["Location"] = request.build_absolute_uri(
            f"/api/v2/tables/{table.pk}/export/jobs/{job.pk}"
        )
        return out


class ExportJobApi(_ExportApi):
    @extend_schema(
        summary="An export job: status, rows done and total, rate, time left",
        description=(
            "Only to the user who started it (with any of their credentials that can "
            "read the table); 404 EXPORT_NOT_FOUND for anyone else, and once the job is "
            "pruned (after NOCO_IMPORT_KEEP_DAYS). A job started with an API token that "
            "was revoked before it finished has `status` failed and `error` saying so."
        ),
        parameters=[JOB_ID],
        responses={200: ExportJobOut, **ERRORS},
        tags=["Records"],
    )
    def get(self, request: Request, table_id: str, job_id: str) -> Response:
        return Response(job_json(request, _job(request, table_id, job_id)))

    @extend_schema(
        summary="Cancel an export job",
        description=(
            "As POST …/cancel: a job not started is cancelled at once, a running one "
            "stops after the page it is writing and its partial file is deleted. A "
            "finished job: 409 EXPORT_FINISHED."
        ),
        parameters=[JOB_ID],
        request=None,
        responses={200: ExportJobOut, **ERRORS},
        tags=["Records"],
    )
    def delete(self, request: Request, table_id: str, job_id: str) -> Response:
        job = exports.job_cancel(_job(request, table_id, job_id))
        return Response(job_json(request, job))


class ExportJobCancelApi(_ExportApi):
    @extend_schema(
        summary="Cancel an export job",
        description=(
            "A job not started is cancelled at once; a running one stops after the page "
            "it is writing and its partial file is deleted (`status` becomes "
            "`cancelled`). A finished job: 409 EXPORT_FINISHED."
        ),
        parameters=[JOB_ID],
        request=None,
        responses={200: ExportJobOut, **ERRORS},
        tags=["Records"],
    )
    def post(self, request: Request, table_id: str, job_id: str) -> Response:
        job = exports.job_cancel(_job(request, table_id, job_id))
        return Response(job_json(request, job))


class ExportJobFileApi(_ExportApi):
    @extend_schema(
        summary="An export job's file",
        description=(
            "Once the job is done: the file, as an attachment named `{table} - {view}."
            "csv|xlsx` (the direct export's name). 404 EXPORT_NOT_FOUND before, for "
            "anyone but the job's maker, and when the API token the job was started "
            "with was revoked before it finished."
        ),
        parameters=[JOB_ID],
        responses={
            (200, "text/csv"): OpenApiResponse(str, description="The CSV file"),
            (200, export.FORMATS["xlsx"]): OpenApiResponse(
                bytes, description="The XLSX file"
            ),
            **ERRORS,
        },
        tags=["Records"],
    )
    def get(self, request: Request, table_id: str, job_id: str):
        return exports.file_response(_job(request, table_id, job_id))
