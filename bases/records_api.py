"""Records REST API in NocoDB's v2 dialect: /api/v2/tables/{tableId}/records and links.

Thin views: authorise through the selectors (404 for tables the caller cannot see), hand the
query string or body to the records service, shape the answer as NocoDB clients expect.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bases import export, idempotency, records, selectors
from nocoplatform.api import ERRORS, OrjsonParser
from nocoplatform.errors import InvalidInput, NotFound
from permissions.checks import actor_from_request
from records.links import link_records
from records.writes import delete_rows, insert_rows, update_rows

LIST_PARAMS = [
    OpenApiParameter(
        "where",
        str,
        description="Filter, e.g. `(status,eq,active)~and(budget,gt,100)`; alias `w`. See docs/where.md.",
    ),
    OpenApiParameter(
        "sort", str, description="Comma list of fields, `-` for descending; alias `s`."
    ),
    OpenApiParameter(
        "fields", str, description="Comma list of fields to return; alias `f`."
    ),
    OpenApiParameter(
        "limit", int, description="Page size, 1–1000 (default 25); alias `l`."
    ),
    OpenApiParameter(
        "offset",
        int,
        description="Rows to skip; alias `o`. For deep pages prefer `cursor`.",
    ),
    OpenApiParameter(
        "cursor",
        str,
        description="`pageInfo.next` of the previous page: the next page at constant speed.",
    ),
    OpenApiParameter(
        "viewId", str, description="Apply a view's filters, sorts and fields."
    ),
]


IDEMPOTENCY_PARAM = OpenApiParameter(
    idempotency.HEADER,
    str,
    location=OpenApiParameter.HEADER,
    description="Any unique string (e.g. a UUID), 1–255 visible ASCII characters. A retry "
    "with the same key and body answers as the first request did and creates nothing more; "
    "the same key with another body is 422 IDEMPOTENCY_KEY_REUSED; while the first request "
    "runs, 409 IDEMPOTENCY_KEY_IN_FLIGHT. Keys are kept NOCO_IDEMPOTENCY_TTL seconds (24 h).",
)


def _table(request: Request, table_id: str, operation: str):
    return selectors.table_get(
        actor=actor_from_request(request), table_id=table_id, operation=operation
    )


# (table, view id) -> the table's view with that id, or None. Set by views/apps.py: bases/
# does not import views/ (tests/bases/test_import_boundary.py).
view_lookup = None


def _view(request: Request, table):
    """The view named by `viewId`, which must belong to this table (404 otherwise)."""
    view_id = request.query_params.get("viewId")
    if not view_id:
        return None
    view = view_lookup(table, view_id) if view_lookup is not None else None
    if view is None:
        raise NotFound("View not found.", code="VIEW_NOT_FOUND")
    return view


def _ids(meta: records.TableMeta, keys: list[list]) -> list[dict]:
    if len(meta.pk) == 1:  # the usual case, 1000 times in a bulk request's answer
        title = meta.pk[0].title
        return [{title: key[0]} for key in keys]
    return [{f.title: v for f, v in zip(meta.pk, key, strict=True)} for key in keys]


def _body(request: Request):
    # An empty body leaves DRF without a stream (data {}); a body `{}` has one. The raw body
    # cannot be read again once the parser consumed the stream.
    if request.data is None or (request.data == {} and request.stream is None):
        raise InvalidInput("The request body is empty.", code="INVALID_BODY")
    return request.data


class RecordsApi(APIView):
    parser_classes = [OrjsonParser]

    @extend_schema(
        summary="List records",
        parameters=LIST_PARAMS,
        responses={200: dict, **ERRORS},
        tags=["Records"],
    )
    def get(self, request: Request, table_id: str) -> Response:
        table = _table(request, table_id, "records.read")
        page = records.list_records(
            table,
            request.query_params,
            actor=actor_from_request(request),
            view=_view(request, table),
        )
        return Response({"list": page.rows, "pageInfo": page.page_info})

    @extend_schema(
        summary="Create one record (object) or many (array, ≤1000, all or nothing)",
        parameters=[IDEMPOTENCY_PARAM],
        request=dict,
        responses={200: dict, **ERRORS},
        tags=["Records"],
    )
    def post(self, request: Request, table_id: str) -> Response:
        table = _table(request, table_id, "records.create")
        _view(request, table)  # a viewId must still name a view of this table
        actor = actor_from_request(request)
        meta = records.TableMeta.of(table, actor=actor)
        body = _body(request)

        def create() -> tuple[int, object]:
            ids = _ids(meta, insert_rows(table, body, actor=actor))
            return 200, ids if isinstance(body, list) else ids[0]

        key = request.headers.get(idempotency.HEADER)
        if key is None:
            status, answer = create()
            return Response(answer, status=status)
        status, answer, replayed = idempotency.run_once(
            actor=actor, table=table, key=key, body=body, run=create
        )
        response = Response(answer, status=status)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    @extend_schema(
        summary="Update records: object or array, each with its primary key",
        request=dict,
        responses={200: dict, **ERRORS},
        tags=["Records"],
    )
    def patch(self, request: Request, table_id: str) -> Response:
        table = _table(request, table_id, "records.update")
        _view(request, table)  # a viewId must still name a view of this table
        actor = actor_from_request(request)
        meta = records.TableMeta.of(table, actor=actor)
        body = _body(request)
        if_match = request.headers.get("If-Match")
        ids = _ids(
            meta,
            update_rows(table, body, actor=actor, if_match=if_match or None),
        )
        return Response(ids if isinstance(body, list) else ids[0])

    @extend_schema(
        summary='Delete records: `{"Id": 1}` or an array',
        request=dict,
        responses={200: dict, **ERRORS},
        tags=["Records"],
    )
    def delete(self, request: Request, table_id: str) -> Response:
        table = _table(request, table_id, "records.delete")
        _view(request, table)  # a viewId must still name a view of this table
        actor = actor_from_request(request)
        meta = records.TableMeta.of(table, actor=actor)
        body = _body(request)
        ids = _ids(meta, delete_rows(table, body, actor=actor))
        return Response(ids if isinstance(body, list) else ids[0])


class RecordCountApi(APIView):
    @extend_schema(
        summary="Count records (always exact)",
        parameters=LIST_PARAMS[:1] + LIST_PARAMS[-1:],
        responses={200: dict, **ERRORS},
        tags=["Records"],
    )
    def get(self, request: Request, table_id: str) -> Response:
        table = _table(request, table_id, "records.read")
        return Response(
            {
                "count": records.count_records(
                    table,
                    request.query_params,
                    actor=actor_from_request(request),
                    view=_view(request, table),
                )
            }
        )


class RecordsExportApi(APIView):
    """A view's rows as CSV or XLSX (bases/export.py): as the caller sees them, streamed."""

    def perform_content_negotiation(self, request, force=False):
        # `format` names the file's format here, not a DRF renderer.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        summary="Export records as CSV or XLSX",
        description="The view's filter, sort and shown fields (or, without `viewId`, "
        "every field you may see); streamed page by page. See docs/import-export.md.",
        parameters=[
            LIST_PARAMS[-1],
            OpenApiParameter("format", str, enum=["csv", "xlsx"], default="csv"),
        ],
        responses={(200, "text/csv"): bytes, **ERRORS},
        tags=["Records"],
    )
    def get(self, request: Request, table_id: str):
        table = _table(request, table_id, "records.read")
        view = _view(request, table)
        fmt = export.export_format(request.query_params.get("format"))
        rows = export.view_rows(table, actor=actor_from_request(request), view=view)
        return export.response(
            rows, fmt, table.title, *([view.title] if view is not None else [])
        )


class RecordApi(APIView):
    @extend_schema(
        summary="Read one record",
        parameters=LIST_PARAMS[2:3],
        responses={200: dict, **ERRORS},
        tags=["Records"],
    )
    def get(self, request: Request, table_id: str, record_id: str) -> Response:
        table = _table(request, table_id, "records.read")
        actor = actor_from_request(request)
        params = request.query_params
        row = records.get_record(
            table, record_id, params, actor=actor, view=_view(request, table)
        )
        response = Response(row)
        if not (params.get("fields") or params.get("f")):
            # The whole row: its version, for `If-Match` on a later PATCH (docs/api.md).
            meta = records.TableMeta.of(table, actor=actor)
            if all(f.title in row for f in meta.columns):
                response["ETag"] = f'"{records.row_version(meta, row)}"'
        return response


class LinksApi(APIView):
    parser_classes = [OrjsonParser]

    def _link(self, request, table_id, link_field_id, operation):
        table = _table(request, table_id, operation)
        link = (
            table.fields.filter(pk=link_field_id, uidt="LinkToAnotherRecord")
            .select_related("related_table__source")
            .first()
        )
        if link is None:
            raise NotFound("Link field not found.", code="FIELD_NOT_FOUND")
        return table, link

    @extend_schema(
        summary="List the records linked to a record",
        parameters=LIST_PARAMS,
        responses={200: dict, **ERRORS},
        tags=["Links"],
    )
    def get(
        self, request: Request, table_id: str, link_field_id: str, record_id: str
    ) -> Response:
        table, link = self._link(request, table_id, link_field_id, "records.read")
        page = records.list_linked(
            table,
            link,
            record_id,
            request.query_params,
            actor=actor_from_request(request),
        )
        return Response({"list": page.rows, "pageInfo": page.page_info})

    @extend_schema(
        summary='Link records: `[{"Id": 1}, …]`',
        request=dict,
        responses={200: dict, **ERRORS},
        tags=["Links"],
    )
    def post(
        self, request: Request, table_id: str, link_field_id: str, record_id: str
    ) -> Response:
        table, link = self._link(request, table_id, link_field_id, "records.update")
        link_records(
            table, link, record_id, _body(request), actor=actor_from_request(request)
        )
        return Response(True)

    @extend_schema(
        summary='Unlink records: `[{"Id": 1}, …]`',
        request=dict,
        responses={200: dict, **ERRORS},
        tags=["Links"],
    )
    def delete(
        self, request: Request, table_id: str, link_field_id: str, record_id: str
    ) -> Response:
        table, link = self._link(request, table_id, link_field_id, "records.update")
        link_records(
            table,
            link,
            record_id,
            _body(request),
            actor=actor_from_request(request),
            unlink=True,
        )
        return Response(True)
