"""Views over REST (NocoDB v2 meta paths): list a table's views, create, change, delete."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bases import selectors
from nocoplatform.api import ERRORS, json_body
from nocoplatform.errors import NotFound
from views import services
from views.models import View


def _names_in_where(node) -> set[str]:
    from bases.query.where import And, Condition, Not, Or

    if isinstance(node, Condition):
        return {node.field}
    if isinstance(node, (And, Or)):
        return set().union(*(_names_in_where(c) for c in node.children))
    if isinstance(node, Not):
        return _names_in_where(node.child)
    return set()


_DROP = object()


def _scrub(value, hidden: set[str]):
    """`value` (a view's settings, any JSON) without a mention of a hidden field id: as a
    string, a key, or the `field`/`id` of an entry (group-by levels, form fields). Field ids
    are random (`c` + 14 hex digits), so nothing else is mistaken for one."""
    if isinstance(value, str):
        return _DROP if value in hidden else value
    if isinstance(value, list):
        return [s for v in value if (s := _scrub(v, hidden)) is not _DROP]
    if isinstance(value, dict):
        if any(
            isinstance(value.get(k), str) and value[k] in hidden
            for k in ("field", "id")
        ):
            return _DROP
        return {
            k: s
            for k, v in value.items()
            if k not in hidden and (s := _scrub(v, hidden)) is not _DROP
        }
    return value


def options_for(view: View, hidden: set[str]) -> dict:
    """The view's settings as a caller who cannot see the `hidden` field ids may read them:
    any mention of one is left out, and so are the settings that describe its values (a
    kanban's stack names and card order, when its stack field is hidden)."""
    from views.types import view_type

    options = dict(view.options or {})
    kind = view_type(view.type)
    for key, dependents in getattr(kind, "dependent_options", {}).items():
        if isinstance(options.get(key), str) and options[key] in hidden:
            for name in dependents:
                options.pop(name, None)
    return _scrub(options, hidden)


def view_json_for(view: View, actor) -> dict:
    """view_json without what would reveal fields hidden from `actor`: their ids leave the
    field lists and the settings (`options`), and a filter or sort naming one is withheld
    (it still applies to the rows)."""
    from bases.query.where import parse_where
    from bases.records import TableMeta
    from nocoplatform.errors import InvalidInput

    data = view_json(view)
    meta = TableMeta.of(view.table, actor=actor)
    hidden = [f for f in meta.all_fields if f.id not in meta.resolve.by_id]
    if not hidden:
        return data
    names = {n for f in hidden for n in (f.id, f.title, f.column_name) if n}
    visible = set(meta.resolve.by_id)
    data["field_order"] = [i for i in view.field_order if i in visible]
    data["hidden_fields"] = [i for i in view.hidden_fields if i in visible]
    data["options"] = options_for(view, {f.id for f in hidden})
    try:
        in_where = _names_in_where(parse_where(view.where)) if view.where else set()
    except InvalidInput:
        in_where = names
    in_sort = {p.strip().lstrip("+-").strip() for p in (view.sort or "").split(",")}
    if in_where & names:
        data["where"] = None
    if in_sort & names:
        data["sort"] = None
    return data


def view_json(view: View) -> dict:
    return {
        "id": view.id,
        "fk_model_id": view.table_id,
        "title": view.title,
        "type": view.type,
        "order": view.order,
        "where": view.where,
        "sort": view.sort,
        "field_order": view.field_order,
        "hidden_fields": view.hidden_fields,
        "options": view.options,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
    }


def _view(request: Request, view_id: str, operation: str) -> View:
    view = View.objects.select_related("table").filter(pk=view_id).first()
    if view is None:
        raise NotFound("View not found.", code="VIEW_NOT_FOUND")
    try:
        selectors.table_get(
            actor=request.actor,
            table_id=view.table_id,
            operation=operation,
        )
    except NotFound:
        raise NotFound("View not found.", code="VIEW_NOT_FOUND")
    return view


def _create(request: Request, table_id: str, view_type: str | None) -> Response:
    actor = request.actor
    table = selectors.table_get(actor=actor, table_id=table_id, operation="views.read")
    data = json_body(request)
    kind = view_type or data.get("type") or View.Type.GRID
    view = services.view_create(
        actor=actor, table=table, title=data.get("title"), type=kind, data=data
    )
    return Response(view_json_for(view, actor), status=201)


class ViewListApi(APIView):
    @extend_schema(
        summary="A table's views (a default grid view is created on first use)",
        responses={200: dict, **ERRORS},
        tags=["Views"],
    )
    def get(self, request: Request, table_id: str) -> Response:
        table = selectors.table_get(
            actor=request.actor, table_id=table_id, operation="views.read"
        )
        services.default_view(table)
        views = list(table.views.all())
        actor = request.actor
        for v in views:
            v.table = table  # the cached table: no query per view
        return Response(
            {
                "list": [view_json_for(v, actor) for v in views],
                "pageInfo": {
                    "totalRows": len(views),
                    "page": 1,
                    "pageSize": len(views),
                    "isFirstPage": True,
                    "isLastPage": True,
                },
            }
        )

    @extend_schema(
        summary="Create a view",
        description="`{title, type?: grid|gallery|kanban|calendar|form, where?, sort?, field_order?, hidden_fields?}`; "
        "`where` and `sort` use the records API's dialect and are checked against the table.",
        request=dict,
        responses={201: dict, **ERRORS},
        tags=["Views"],
    )
    def post(self, request: Request, table_id: str) -> Response:
        return _create(request, table_id, None)


class GridCreateApi(APIView):
    """NocoDB's `POST /api/v2/meta/tables/{tableId}/grids`."""

    @extend_schema(
        summary="Create a grid view (NocoDB's path)",
        request=dict,
        responses={201: dict, **ERRORS},
        tags=["Views"],
    )
    def post(self, request: Request, table_id: str) -> Response:
        return _create(request, table_id, View.Type.GRID)


class ViewDetailApi(APIView):
    @extend_schema(
        summary="Read a view", responses={200: dict, **ERRORS}, tags=["Views"]
    )
    def get(self, request: Request, view_id: str) -> Response:
        return Response(
            view_json_for(_view(request, view_id, "views.read"), request.actor)
        )

    @extend_schema(
        summary="Change a view's title, filter, sort, fields or options",
        request=dict,
        responses={200: dict, **ERRORS},
        tags=["Views"],
    )
    def patch(self, request: Request, view_id: str) -> Response:
        view = _view(request, view_id, "views.read")
        actor = request.actor
        view = services.view_update(actor=actor, view=view, data=json_body(request))
        return Response(view_json_for(view, actor))

    @extend_schema(
        summary="Delete a view (a table keeps at least one)",
        responses={200: dict, **ERRORS},
        tags=["Views"],
    )
    def delete(self, request: Request, view_id: str) -> Response:
        view = _view(request, view_id, "views.read")
        services.view_delete(actor=request.actor, view=view)
        return Response({"deleted": True})
