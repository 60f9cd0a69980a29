"""What the API's two job lists share (GET …/import and GET …/export/jobs,
docs/import-export.md): their query parameters, checked into 400s that name the parameter,
and their NocoDB-style envelope `{list, pageInfo}` for the OpenAPI document."""

from __future__ import annotations

from dataclasses import dataclass

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request

from bases.query.params import int_param
from nocoplatform.errors import InvalidInput

DEFAULT_LIMIT = 25
MAX_LIMIT = 100


@dataclass(frozen=True)
class JobListQuery:
    limit: int
    offset: int
    status: str | None


def job_list_query(request: Request, statuses: list[str]) -> JobListQuery:
    """`limit` (1–100, default 25), `offset` (≥ 0) and `status` (one of `statuses`) from the
    query string; other parameters are ignored, as the records list ignores them."""
    params = request.query_params
    status = params.get("status") or None
    if status is not None and status not in statuses:
        raise InvalidInput(
            f"`status` must be one of {', '.join(statuses)}, not '{status[:50]}'.",
            code="INVALID_PARAMETER",
        )
    return JobListQuery(
        limit=int_param(params, ("limit",), DEFAULT_LIMIT, low=1, high=MAX_LIMIT),
        offset=int_param(params, ("offset",), 0, low=0, high=10**9),
        status=status,
    )


def job_list_parameters(statuses: list[str]) -> list[OpenApiParameter]:
    return [
        OpenApiParameter(
            "limit",
            {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_LIMIT,
                "default": DEFAULT_LIMIT,
            },
            description="Jobs per page.",
        ),
        OpenApiParameter(
            "offset",
            {"type": "integer", "minimum": 0, "default": 0},
            description="Jobs to skip.",
        ),
        OpenApiParameter(
            "status",
            {"type": "string", "enum": statuses},
            description="Only the jobs in this status.",
        ),
    ]


class JobPageInfoOut(serializers.Serializer):
    """A job list's `pageInfo` (bases/serializers.py::page_info; OpenAPI only)."""

    totalRows = serializers.IntegerField(help_text="Your jobs matching `status`.")
    page = serializers.IntegerField()
    pageSize = serializers.IntegerField()
    isFirstPage = serializers.BooleanField()
    isLastPage = serializers.BooleanField()
