"""GET /api/v2/tables/{tableId}/records/{recordId}/history: a record's history, newest first."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bases import selectors
from history import trash
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


class TrashApi(APIView):
    @extend_schema(
        summary="The table's deleted rows, newest first (creators and up)",
        description=(
            "Rows deleted in the last NOCO_TRASH_DAYS days: who deleted them, when, and the "
            "row's display value (docs/import-export.md)."
        ),
        parameters=[
            OpenApiParameter("limit", int, description="Entries per page, 1–100 (50)."),
            OpenApiParameter(
                "cursor", str, description="`pageInfo.next` of the previous page."
            ),
        ],
        responses={200: dict, **ERRORS},
        tags=["Records"],
    )
    def get(self, request: Request, table_id: str) -> Response:
        actor = request.actor
        table = selectors.table_get(
            actor=actor, table_id=table_id, operation="records.read"
        )
        limit, before = parse_page_params(
            request.query_params.get("limit") or str(trash.PAGE),
            request.query_params.get("cursor"),
        )
        page = trash.trash_list(actor=actor, table=table, limit=limit, before=before)
        return Response(
            {
                "list": [trash.entry_json(e) for e in page.entries],
                "pageInfo": {
                    "pageSize": limit,
                    "isLastPage": page.next is None,
                    "next": str(page.next) if page.next else None,
                },
            }
        )


class TrashRestoreApi(APIView):
    @extend_schema(
        summary="Restore deleted rows (all or none), with their links",
        description=(
            'Body `{"ids": [trash entry ids]}` or `{"recordIds": [record ids]}` (the latest '
            "deletion of each). The rows come back with their primary keys; 409 "
            "RESTORE_CONFLICT when a key is taken meanwhile."
        ),
        request=dict,
        responses={200: dict, **ERRORS},
        tags=["Records"],
    )
    def post(self, request: Request, table_id: str) -> Response:
        actor = request.actor
        table = selectors.table_get(
            actor=actor, table_id=table_id, operation="records.read"
        )
        body = request.data if isinstance(request.data, dict) else {}
        result = trash.trash_restore(
            actor=actor,
            table=table,
            ids=body.get("ids"),
            record_ids=None if "ids" in body else body.get("recordIds"),
        )
        return Response(result)
