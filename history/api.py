"""GET /api/v2/tables/{tableId}/records/{recordId}/history: a record's history, newest first."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bases import selectors
from history.selectors import entry_json, history_page, parse_page_params
from nocoplatform.api import ERRORS


def page_json(page) -> dict:
    return {
        "list": [entry_json(e) for e in page.entries],
        "pageInfo": {
            "pageSize": page.limit,
            "isFirstPage": page.first,
            "isLastPage": page.next is None,
            "next": page.next,
        },
    }


class RecordHistoryApi(APIView):
    @extend_schema(
        summary="A record's history (who changed which field, when; old and new values)",
        description=(
            "Newest first. Fields hidden from you are left out of every entry. Works for a "
            "deleted record too, until its entries are pruned (NOCO_HISTORY_DAYS)."
        ),
        parameters=[
            OpenApiParameter("limit", int, description="Entries per page, 1–100 (25)."),
            OpenApiParameter(
                "cursor", str, description="`pageInfo.next` of the previous page."
            ),
        ],
        responses={200: dict, **ERRORS},
        tags=["Records"],
    )
    def get(self, request: Request, table_id: str, record_id: str) -> Response:
        actor = request.actor
        table = selectors.table_get(
            actor=actor, table_id=table_id, operation="records.read"
        )
        limit, before = parse_page_params(
            request.query_params.get("limit"), request.query_params.get("cursor")
        )
        page = history_page(
            actor=actor, table=table, record_id=record_id, limit=limit, before=before
        )
        return Response(page_json(page))
