"""Meta REST API (NocoDB v2 paths): bases, data sources, schema sync, tables and columns.

Views only parse the request, call a service or selector and shape the answer; errors are
domain exceptions mapped in nocoplatform.api.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bases import netpolicy, schema_services, selectors, services
from bases import serializers as out
from bases import sync as meta_sync
from bases.connections.config import ConnectionConfig
from nocoplatform.api import ERRORS, json_body
from nocoplatform.errors import InvalidInput
from permissions.checks import actor_from_request


def _flag(data: dict, key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise InvalidInput(f"`{key}` must be true or false.")
    return value


def _config(data: dict) -> ConnectionConfig:
    src = data.get("config") if isinstance(data.get("config"), dict) else data
    merged = {**src}
    if "type" in data and "type" not in merged:
        merged["type"] = data["type"]
    return ConnectionConfig.from_dict(merged)


class BaseListApi(APIView):
    @extend_schema(
        summary="List bases you can see",
        responses={200: dict, **ERRORS},
        tags=["Bases"],
    )
    def get(self, request: Request) -> Response:
        bases = list(
            selectors.base_list(actor=actor_from_request(request)).prefetch_related(
                "sources"
            )
        )
        return Response(
            {
                "list": [out.base_json(b) for b in bases],
                "pageInfo": out.page_info(len(bases), max(len(bases), 1)),
            }
        )

    @extend_schema(
        summary="Create a base (built-in store), or connect an external database",
        description="Body: `{title, description?}` for a base from scratch; add `url` "
        "(postgresql://, mysql://, sqlite:///path) or `type` + `config.connection` fields, or "
        "`sources: [{type, config}]` (NocoDB's shape), to connect an external database.",
        request=dict,
        responses={201: dict, **ERRORS},
        tags=["Bases"],
    )
    def post(self, request: Request) -> Response:
        data = json_body(request)
        actor = actor_from_request(request)
        source_data = None
        if isinstance(data.get("sources"), list) and data["sources"]:
            source_data = data["sources"][0]
        elif data.get("url") or data.get("type") or data.get("config"):
            source_data = data
        if source_data is None:
            base = services.base_create(
                actor=actor,
                title=data.get("title", ""),
                description=data.get("description", ""),
            )
            return Response(out.base_json(base), status=201)
        if not isinstance(source_data, dict):
            raise InvalidInput("`sources` must be a list of objects.")
        base, changes = services.base_connect(
            actor=actor,
            title=data.get("title", ""),
            config=_config(source_data),
            description=data.get("description", ""),
            allow_data_edit=not _flag(source_data, "is_data_readonly", False),
            allow_schema_edit=not _flag(source_data, "is_schema_readonly", False),
        )
        return Response(
            out.base_json(base) | {"synced": meta_sync.as_dicts(changes)}, status=201
        )


@extend_schema_view(get=extend_schema(exclude=True), post=extend_schema(exclude=True))
class BaseListAliasApi(BaseListApi):
    """`/api/v2/meta/bases` without the slash, as NocoDB clients call it; kept out of the docs."""


class BaseDetailApi(APIView):
    @extend_schema(
        summary="Read a base", responses={200: dict, **ERRORS}, tags=["Bases"]
    )
    def get(self, request: Request, base_id: str) -> Response:
        base = selectors.base_get(actor=actor_from_request(request), base_id=base_id)
        return Response(out.base_json(base))

    @extend_schema(
        summary="Change a base's title, description or CORS origins",
        description="`cors_origins`: origins (`https://app.example.com`) whose pages may "
        "call this base's API, beside the installation's (docs/integration.md).",
        request=dict,
        responses={200: dict, **ERRORS},
        tags=["Bases"],
    )
    def patch(self, request: Request, base_id: str) -> Response:
        actor = actor_from_request(request)
        data = json_body(request)
        base = selectors.base_get(actor=actor, base_id=base_id)
        base = services.base_update(
            actor=actor,
            base=base,
            title=data.get("title"),
            description=data.get("description"),
            cors_origins=data.get("cors_origins"),
        )
        return Response(out.base_json(base))

    @extend_schema(
        summary="Delete a base (external data is left untouched)",
        responses={200: dict, **ERRORS},
        tags=["Bases"],
    )
    def delete(self, request: Request, base_id: str) -> Response:
        actor = actor_from_request(request)
        base = selectors.base_get(actor=actor, base_id=base_id)
        services.base_delete(actor=actor, base=base)
        return Response({"deleted": True})


class SourceListApi(APIView):
    @extend_schema(
        summary="A base's data sources",
        operation_id="meta_bases_sources_list",
        responses={200: dict, **ERRORS},
        tags=["Bases"],
    )
    def get(self, request: Request, base_id: str) -> Response:
        base = selectors.base_get(actor=actor_from_request(request), base_id=base_id)
        sources = list(base.sources.all())
        return Response(
            {
                "list": [out.source_json(s) for s in sources],
                "pageInfo": out.page_info(len(sources), max(len(sources), 1)),
            }
        )


class SourceDetailApi(APIView):
    @extend_schema(
        summary="Read a data source (never its password)",
        responses={200: dict, **ERRORS},
        tags=["Bases"],
    )
    def get(self, request: Request, base_id: str, source_id: str) -> Response:
        actor = actor_from_request(request)
        base = selectors.base_get(actor=actor, base_id=base_id)
        return Response(
            out.source_json(
                selectors.source_get(actor=actor, base=base, source_id=source_id)
            )
        )

    @extend_schema(
        summary="Change a data source: connection, alias, allow data/schema edit",
        description="`config` or `url` changes the connection (tested first; a blank password keeps "
        "the stored one). `is_data_readonly` / `is_schema_readonly` switch edits off.",
        request=dict,
        responses={200: dict, **ERRORS},
        tags=["Bases"],
    )
    def patch(self, request: Request, base_id: str, source_id: str) -> Response:
        actor = actor_from_request(request)
        data = json_body(request)
        base = selectors.base_get(actor=actor, base_id=base_id)
        source = selectors.source_get(actor=actor, base=base, source_id=source_id)
        config = _config(data) if (data.get("config") or data.get("url")) else None
        source = services.source_update(
            actor=actor,
            source=source,
            config=config,
            alias=data.get("alias"),
            allow_data_edit=None
            if "is_data_readonly" not in data
            else not _flag(data, "is_data_readonly", False),
            allow_schema_edit=None
            if "is_schema_readonly" not in data
            else not _flag(data, "is_schema_readonly", False),
        )
        return Response(out.source_json(source))


class ConnectionTestApi(APIView):
    @extend_schema(
        summary="Test database connection settings without saving them",
        request=dict,
        responses={200: dict, **ERRORS},
        tags=["Bases"],
    )
    def post(self, request: Request) -> Response:
        netpolicy.connection_check(
            actor=actor_from_request(request), config=_config(json_body(request))
        )
        return Response({"ok": True, "message": "Connected."})


class MetaDiffApi(APIView):
    @extend_schema(
        summary="What changed in the database since the last sync",
        responses={200: dict, **ERRORS},
        tags=["Bases"],
    )
    def get(self, request: Request, base_id: str) -> Response:
        actor = actor_from_request(request)
        base = selectors.base_get(actor=actor, base_id=base_id)
        changes = services.base_sync(actor=actor, base=base, apply=False)
        return Response({"list": meta_sync.as_dicts(changes), "in_sync": not changes})

    @extend_schema(
        summary="Apply the database's schema to the metadata (sync)",
        request=None,
        responses={200: dict, **ERRORS},
        tags=["Bases"],
    )
    def post(self, request: Request, base_id: str) -> Response:
        actor = actor_from_request(request)
        base = selectors.base_get(actor=actor, base_id=base_id)
        changes = services.base_sync(actor=actor, base=base, apply=True)
        return Response({"list": meta_sync.as_dicts(changes), "applied": True})


class TableListApi(APIView):
    @extend_schema(
        summary="A base's tables", responses={200: dict, **ERRORS}, tags=["Tables"]
    )
    def get(self, request: Request, base_id: str) -> Response:
        actor = actor_from_request(request)
        base = selectors.base_get(actor=actor, base_id=base_id)
        include_mm = request.query_params.get("includeM2M") in ("true", "1")
        tables = selectors.table_list(
            actor=actor, base=base, include_junctions=include_mm
        )
        return Response(
            {
                "list": [out.table_json(t, with_columns=False) for t in tables],
                "pageInfo": out.page_info(len(tables), max(len(tables), 1)),
            }
        )

    @extend_schema(
        summary="Create a table",
        description="Body: `{title, table_name?, columns: [{title, uidt, column_name?, options?}]}`. "
        "An auto-numbered `id` primary key is always added.",
        request=dict,
        responses={201: dict, **ERRORS},
        tags=["Tables"],
    )
    def post(self, request: Request, base_id: str) -> Response:
        actor = actor_from_request(request)
        data = json_body(request)
        base = selectors.base_get(actor=actor, base_id=base_id)
        columns = data.get("columns")
        if columns is not None and not isinstance(columns, list):
            raise InvalidInput("`columns` must be a list.")
        columns = [
            c
            for c in (columns or [])
            if not (isinstance(c, dict) and (c.get("pk") or c.get("uidt") == "ID"))
        ]
        table = schema_services.table_create(
            actor=actor,
            base=base,
            title=data.get("title", ""),
            columns=columns or None,
            table_name=str(data.get("table_name") or ""),
        )
        return Response(out.table_json(table), status=201)


class TableDetailApi(APIView):
    @extend_schema(
        summary="A table with its columns",
        responses={200: dict, **ERRORS},
        tags=["Tables"],
    )
    def get(self, request: Request, table_id: str) -> Response:
        actor = actor_from_request(request)
        table = selectors.table_get(actor=actor, table_id=table_id)
        from bases.records import TableMeta

        # Only the columns this caller may see: a hidden field's name is not revealed either.
        fields = TableMeta.of(table, actor=actor).fields
        return Response(out.table_json(table, fields=fields))

    @extend_schema(
        summary="Rename a table (its title) or change its description",
        request=dict,
        responses={200: dict, **ERRORS},
        tags=["Tables"],
    )
    def patch(self, request: Request, table_id: str) -> Response:
        actor = actor_from_request(request)
        data = json_body(request)
        table = selectors.table_get(actor=actor, table_id=table_id)
        table = schema_services.table_update(
            actor=actor,
            table=table,
            title=data.get("title"),
            description=data.get("description"),
        )
        from bases.records import TableMeta

        # Fresh metadata after the change (the cached table object is shared: never mutate it).
        fresh = selectors.table_get(actor=actor, table_id=table_id)
        fields = TableMeta.of(fresh, actor=actor).fields
        return Response(out.table_json(table, fields=fields))

    @extend_schema(
        summary="Drop a table from the database",
        responses={200: dict, **ERRORS},
        tags=["Tables"],
    )
    def delete(self, request: Request, table_id: str) -> Response:
        actor = actor_from_request(request)
        table = selectors.table_get(actor=actor, table_id=table_id)
        schema_services.table_delete(actor=actor, table=table)
        return Response({"deleted": True})


class ColumnListApi(APIView):
    @extend_schema(
        summary="Add a column or a link",
        description="`{title, uidt, column_name?, options?}`; links: `{title, uidt: "
        "'LinkToAnotherRecord', relation: hm|bt|mm, related_table_id}`; formulas: "
        "`{title, uidt: 'Formula', formula_raw: '{Budget} * 1.2'}` (400 FORMULA_* with "
        "`details.position` when the formula is wrong).",
        request=dict,
        responses={201: dict, **ERRORS},
        tags=["Columns"],
    )
    def post(self, request: Request, table_id: str) -> Response:
        actor = actor_from_request(request)
        table = selectors.table_get(actor=actor, table_id=table_id)
        field = schema_services.field_create(
            actor=actor, table=table, data=json_body(request)
        )
        return Response(out.column_json(field), status=201)


class ColumnDetailApi(APIView):
    @extend_schema(
        summary="Read a column", responses={200: dict, **ERRORS}, tags=["Columns"]
    )
    def get(self, request: Request, column_id: str) -> Response:
        field = selectors.field_get(
            actor=actor_from_request(request), field_id=column_id
        )
        return Response(out.column_json(field))

    @extend_schema(
        summary="Rename, retype or change options of a column",
        description="`title` renames at the meta level, `column_name` renames the column. A new "
        "`uidt` the column can hold (text → Email, URL, PhoneNumber, SingleSelect, MultiSelect; "
        "integer → Rating; number → Currency, Percent, Duration) changes only metadata, after "
        "checking the stored values; other types alter the column (422 if the database refuses).",
        request=dict,
        responses={200: dict, **ERRORS},
        tags=["Columns"],
    )
    def patch(self, request: Request, column_id: str) -> Response:
        actor = actor_from_request(request)
        field = selectors.field_get(actor=actor, field_id=column_id)
        field = schema_services.field_update(
            actor=actor, field=field, data=json_body(request)
        )
        return Response(out.column_json(field))

    @extend_schema(
        summary="Drop a column (or remove a link)",
        responses={200: dict, **ERRORS},
        tags=["Columns"],
    )
    def delete(self, request: Request, column_id: str) -> Response:
        actor = actor_from_request(request)
        field = selectors.field_get(actor=actor, field_id=column_id)
        schema_services.field_delete(actor=actor, field=field)
        return Response({"deleted": True})


class BaseSwaggerApi(APIView):
    @extend_schema(
        summary="The base's OpenAPI 3 document (its tables' records API)",
        responses={200: dict, **ERRORS},
        tags=["Bases"],
    )
    def get(self, request: Request, base_id: str) -> Response:
        from bases.openapi import base_document

        actor = actor_from_request(request)
        base = selectors.base_get(actor=actor, base_id=base_id)
        return Response(base_document(base, actor=actor))
