"""GET /api/v2/meta/bases/{baseId}/activity: the base's activity log (owners)."""

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import log
from bases import selectors
from bases.query.params import int_param
from nocoplatform.api import ERRORS

MAX_LIMIT = 500

FILTERS = [
    OpenApiParameter(
        "kind",
        str,
        description="schema, access, shares, webhooks or imports (default: all).",
    ),
    OpenApiParameter(
        "who", str, description="Part of the acting user's email or name."
    ),
    OpenApiParameter("from", str, description="First day (YYYY-MM-DD, UTC)."),
    OpenApiParameter("to", str, description="Last day, inclusive (YYYY-MM-DD, UTC)."),
]


class ActivityApi(APIView):
    @extend_schema(
        summary="A base's activity log: schema, members and roles, tokens, shares, webhooks",
        description=(
            "Newest first; owners only. Each entry: `at`, `who` (user, and token name when one "
            "was used), `action` (e.g. `field.create`), `description`, `target` (what was "
            "changed, named as it was then), `target_id`, `details`. Record changes are in "
            "each record's history instead. `format=csv` streams every matching entry as CSV."
        ),
        parameters=[
            *FILTERS,
            OpenApiParameter(
                "limit", int, description=f"Entries per page, 1–{MAX_LIMIT} (100)."
            ),
            OpenApiParameter("offset", int, description="Entries to skip."),
            OpenApiParameter("format", str, description="`json` (default) or `csv`."),
        ],
        responses={200: dict, **ERRORS},
        tags=["Bases"],
    )
    def get(self, request: Request, base_id: str):
        base = selectors.base_get(
            actor=request.actor, base_id=base_id, operation="members.audit"
        )
        q = request.query_params
        entries = log.entries(base, **log.parse_filters(q))
        if q.get("format") == "csv":
            return csv_response(entries, base)
        limit = int_param(q, ("limit",), 100, low=0, high=MAX_LIMIT) or 1
        offset = int_param(q, ("offset",), 0, low=0, high=10_000_000)
        rows = list(entries[offset : offset + limit + 1])
        return Response(
            {
                "list": [log.as_json(e) for e in rows[:limit]],
                "pageInfo": {
                    "pageSize": limit,
                    "page": offset // limit + 1,
                    "isFirstPage": offset == 0,
                    "isLastPage": len(rows) <= limit,
                },
            }
        )


def csv_response(entries, base) -> StreamingHttpResponse:
    from urllib.parse import quote

    response = StreamingHttpResponse(log.export_rows(entries), content_type="text/csv")
    name = f"{base.title} activity.csv"
    response["Content-Disposition"] = (
        "attachment; filename=\"activity.csv\"; filename*=UTF-8''" + quote(name)
    )
    return response
