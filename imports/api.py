"""POST a CSV into a table (a background job), then poll the job (docs/import-export.md)."""

from __future__ import annotations

import json

from drf_spectacular.utils import extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bases import selectors
from imports import services
from imports.models import ImportJob
from nocoplatform.api import ERRORS
from nocoplatform.errors import InvalidInput
from permissions.checks import require


def job_json(job: ImportJob) -> dict:
    return {
        "id": str(job.pk),
        "status": job.status,
        "fileName": job.file_name,
        "header": job.header,
        "mapping": job.mapping,
        "total": job.total,
        "done": job.done,
        "error": job.error or None,
        "errors": job.errors,
    }


def _table(request, table_id):
    return selectors.table_get(
        actor=request.actor, table_id=table_id, operation="records.read"
    )


class ImportApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Import a CSV file into the table (background job; all rows or none)",
        description=(
            "Multipart `file` (CSV: delimiter and encoding detected; or .xlsx, with an "
            "optional `sheet` name) and optional `mapping`, "
            'a JSON object {"column index": "field id"}; without it, columns are mapped to '
            "fields of the same name. Answers 202 with the job; poll "
            "GET …/import/{jobId} for `done`/`total` and `status`."
        ),
        request={"multipart/form-data": dict},
        responses={202: dict, **ERRORS},
        tags=["Records"],
    )
    def post(self, request: Request, table_id: str) -> Response:
        table = _table(request, table_id)
        require(request.actor, "records.create", table)  # before the body is parsed
        job = services.job_create(
            actor=request.actor,
            table=table,
            upload=request.FILES.get("file"),
            sheet=request.data.get("sheet"),
        )
        mapping = job.mapping
        if request.data.get("mapping"):
            try:
                mapping = json.loads(request.data["mapping"])
            except ValueError:
                raise InvalidInput("`mapping` must be a JSON object.")
            if not isinstance(mapping, dict):
                raise InvalidInput("`mapping` must be a JSON object.")
        job = services.job_start(actor=request.actor, job=job, mapping=mapping)
        return Response(job_json(job), status=202)


class ImportJobApi(APIView):
    @extend_schema(
        summary="An import job: status, rows done and total, error",
        responses={200: dict, **ERRORS},
        tags=["Records"],
    )
    def get(self, request: Request, table_id: str, job_id: str) -> Response:
        table = _table(request, table_id)
        job = services.job_get(actor=request.actor, table=table, job_id=job_id)
        return Response(job_json(job))
