"""The table page's toolbar: which view is shown, and its panels (filter, sort, group, fields).

View tabs are in views/view_tabs.py; the footer and the grouped grid in views/summaries.py.

Saved view config (filter, sorts, group-by, hidden fields, footer aggregates) goes through
views.services (validated, permission-checked); the search box is temporary: it lives in the
page URL (`?q=`) and is never saved. After a saved change the response carries the htmx event
`grid:reload` so the grid (views/grid/, static/js/grid/) reloads its rows.

The contract with the grid is written at the top of templates/views/partials/toolbar.html.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django_htmx.http import (
    HttpResponseClientRefresh,
    trigger_client_event,
)

from bases import aggregates, records, selectors
from bases.fieldtypes import field_type_for
from nocoplatform.errors import DomainError, InvalidInput
from permissions.checks import Actor, can
from views import filters, services
from views.models import View

MAX_GROUP_BY = 3
GRID_RELOAD = "grid:reload"


def _actor(request: HttpRequest) -> Actor:
    return Actor(user=request.user)


# --------------------------------------------------------------------------------------------
# Which view, and its saved config read back


def current_view(request: HttpRequest, table) -> View:
    """The view the table page shows: `?view=<id>` when it belongs to the table, else the
    first one (created on first use)."""
    view_id = request.GET.get("view")
    if view_id:
        view = table.views.filter(pk=view_id).first()
        if view is not None:
            return view
    return services.default_view(table)


def search_text(request: HttpRequest) -> str:
    return (request.GET.get("q") or request.POST.get("q") or "").strip()[:200]


def group_by_of(view: View, meta) -> list[dict]:
    """[{field, desc}] for the view's group-by levels whose fields still exist."""
    out = []
    for level in (view.options or {}).get("group_by") or []:
        field = meta.resolve.by_id.get(level.get("field"))
        if field is not None and aggregates.groupable(field):
            out.append({"field": field, "desc": bool(level.get("desc"))})
    return out[:MAX_GROUP_BY]


def sorts_of(view: View, meta) -> list[dict]:
    out = []
    for part in (view.sort or "").split(","):
        part = part.strip()
        if not part:
            continue
        desc = part.startswith("-")
        name = part.lstrip("+-").strip()
        try:
            field = meta.resolve(name)
        except DomainError:
            continue
        out.append({"field": field, "desc": desc})
    return out


def _sortable(field) -> bool:
    return field_type_for(field).sortable(field)


def _shown_fields(meta) -> list:
    return [f for f in meta.fields if not f.is_system]


# --------------------------------------------------------------------------------------------
# Contexts for the partials (template tags in views/templatetags/toolbar.py call these)


def _page_objects(context) -> tuple:
    request = context["request"]
    table = context["table"]
    view = context.get("view")
    if not isinstance(view, View):
        view = current_view(request, table)
    return request, context["base"], table, view


def toolbar_context(context) -> dict:
    request, base, table, view = _page_objects(context)
    return _toolbar(request, base, table, view)


def _toolbar(request, base, table, view) -> dict:
    meta = records.TableMeta.of(table, actor=_actor(request))
    ctx = {
        "request": request,
        "base": base,
        "table": table,
        "view": view,
        "q": search_text(request),
        "can_update": can(_actor(request), "views.update", table),
    }
    ctx.update(_filter_panel(view, meta))
    ctx.update(_sort_panel(view, meta))
    ctx.update(_group_panel(view, meta))
    ctx.update(_fields_panel(view, meta))
    return ctx


def footer_context(context) -> dict:
    request, base, table, view = _page_objects(context)
    return {"base": base, "table": table, "view": view, "q": search_text(request)}


# ---- filter builder


def _builder_tree(tree: dict, meta, errors: dict[str, str]) -> dict:
    """The tree decorated for the template: paths, field and operator menus, errors."""
    fields = [f for f in _shown_fields(meta) if filters.filterable(f)]
    options = [(f.id, f.title) for f in fields]

    def walk(item: dict, path: str, depth: int) -> dict:
        if item.get("type") == "group":
            children = [
                walk(c, f"{path}.{i}" if path else str(i), depth + 1)
                for i, c in enumerate(item.get("children") or [])
                if isinstance(c, dict)
            ]
            return {
                "kind": "group",
                "path": path or "root",
                "logic": item.get("logic") if item.get("logic") == "or" else "and",
                "not": bool(item.get("not")),
                "children": children,
                "depth": depth,
                "can_nest": depth < 3,
                "error": errors.get(path or "root", ""),
            }
        field = meta.resolve.by_id.get(item.get("field") or "")
        if field is None:
            try:
                field = meta.resolve(str(item.get("field") or ""))
            except DomainError:
                field = None
        if field is None and _hidden_ref(meta, item.get("field")):
            # A condition the view's creator set on a field hidden from this user: shown
            # as such, without the field's id or the value (hidden fields never leave).
            return _hidden_condition(path, item, errors)
        ops = filters.operators_for(field) if field is not None else []
        op = filters.canonical(item.get("op"))
        if field is not None and op not in ops and ops:
            op = op if op in filters.OPERATOR_LABELS else ops[0]
        value = item.get("value")
        kind = filters.arity(op) if op in filters.OPERATOR_LABELS else "one"
        choices = (
            [c.get("title") for c in (field.options or {}).get("choices", [])]
            if field is not None and field_type_for(field).has_choices
            else []
        )
        if isinstance(value, list):
            values = [str(v) for v in value]
            first, second = (values + ["", ""])[:2]
            text = ", ".join(values)
        else:
            first, second, text = value or "", "", value or ""
            values = [text] if text else []
        return {
            "kind": "condition",
            "path": path,
            "field": field.id if field else str(item.get("field") or ""),
            "field_missing": field is None,
            "field_label": f"{item.get('field') or ''} (missing)",
            "uidt": field.uidt if field else "",
            "op": op,
            "ops": [(o, filters.OPERATOR_LABELS[o]) for o in ops],
            "arity": kind,
            "is_between": op in ("btw", "nbtw"),
            "value": text,
            "value1": first,
            "value2": second,
            "choices": choices,
            "values": values,
            # Select fields pick options instead of typing them.
            "pick": bool(choices)
            and (op in ("eq", "neq") or (kind == "list" and op not in ("btw", "nbtw"))),
            "error": errors.get(path, ""),
            "incomplete": filters.incomplete(item),
        }

    root = walk(tree, "", 0)
    return {"builder": root, "filter_fields": options}


def _hidden_ref(meta, ref) -> bool:
    """Whether a filter names a field of the table that is hidden from this user."""
    ref = str(ref or "")
    return bool(ref) and any(
        ref in (f.id, f.title) for f in meta.all_fields if f not in meta.fields
    )


def _hidden_condition(path: str, item: dict, errors: dict) -> dict:
    return {
        "kind": "condition",
        "path": path,
        "field": "",
        "field_missing": True,
        "field_label": "a field hidden from you",
        "uidt": "",
        "op": "",
        "ops": [],
        "arity": "none",
        "is_between": False,
        "value": "",
        "value1": "",
        "value2": "",
        "choices": [],
        "values": [],
        "pick": False,
        "error": "",
        "incomplete": False,
        "hidden": True,
    }


def _filter_panel(view, meta, tree=None, errors=None, saved=False) -> dict:
    """The builder for `tree` (default: the view's saved filter); the badge counts what is
    saved on the view, not what is being edited."""
    try:
        saved_tree = filters.where_to_tree(view.where, meta.resolve)
    except DomainError as exc:
        saved_tree, errors = filters.empty_tree(), {"root": exc.message}
    tree = saved_tree if tree is None else tree
    return {
        **_builder_tree(tree, meta, errors or {}),
        "filter_count": filters.count_conditions(saved_tree),
        "filter_errors": bool(errors),
        "filter_saved": saved,
        "filter_pending": filters.count_conditions(tree)
        - filters.count_conditions(filters.complete_part(tree)),
    }


# ---- sorts, group-by, fields


def _sort_panel(view, meta) -> dict:
    return {
        "sorts": sorts_of(view, meta),
        "sort_fields": [f for f in _shown_fields(meta) if _sortable(f)],
    }


def _group_panel(view, meta) -> dict:
    return {
        "groups": group_by_of(view, meta),
        "group_fields": [f for f in _shown_fields(meta) if aggregates.groupable(f)],
        "max_groups": MAX_GROUP_BY,
    }


def _fields_panel(view, meta) -> dict:
    hidden = set(view.hidden_fields or [])
    fields = _shown_fields(meta)
    order = {fid: i for i, fid in enumerate(view.field_order or [])}
    fields.sort(key=lambda f: order.get(f.id, len(order)))
    return {
        "field_rows": [{"field": f, "shown": f.id not in hidden} for f in fields],
        "hidden_count": sum(1 for f in fields if f.id in hidden),
    }


# --------------------------------------------------------------------------------------------
# Endpoints


def _load(request: HttpRequest, base_id: str, view_id: str) -> tuple:
    view = View.objects.select_related("table").filter(pk=view_id).first()
    if view is None:
        raise Http404("View not found.")
    table = selectors.table_get(
        actor=_actor(request), table_id=view.table_id, operation="views.read"
    )
    if table.base_id != base_id:
        raise Http404("View not found.")
    view.table = table
    return table.base, table, view


def _fresh(view: View) -> View:
    """The view as stored now (the grid may have saved widths or order meanwhile)."""
    fresh = View.objects.get(pk=view.pk)
    fresh.table = view.table
    return fresh


def _panel(request, template: str, base, table, view, extra: dict | None = None):
    ctx = _toolbar(request, base, table, view)
    ctx.update(extra or {})
    return render(request, template, ctx)


def _reload(response: HttpResponse) -> HttpResponse:
    return trigger_client_event(response, GRID_RELOAD, {})


def _table_url(base, table, view, q: str = "") -> str:
    url = reverse("table_view", args=[base.pk, table.pk, view.pk])
    if q:
        from urllib.parse import quote

        url += "?q=" + quote(q)
    return url


@login_required
def filter_panel(request: HttpRequest, base_id: str, view_id: str) -> HttpResponse:
    """GET: the builder. POST: apply one builder action (add/remove/change) to the posted
    tree; save it on the view when every condition is valid, else show why, input kept."""
    base, table, view = _load(request, base_id, view_id)
    meta = records.TableMeta.of(table, actor=_actor(request))
    template = "views/partials/toolbar_filters.html"
    if request.method != "POST":
        return _panel(request, template, base, table, view)
    _require_update(request, table)
    try:
        tree = filters.load_tree(request.POST.get("tree"))
    except DomainError as exc:
        ctx = _filter_panel(view, meta, errors={"root": exc.message})
        return _panel(request, template, base, table, view, ctx)
    try:
        tree = _apply_action(tree, request.POST.get("action", ""), meta)
    except DomainError as exc:
        ctx = _filter_panel(view, meta, tree=tree, errors={"root": exc.message})
        return _panel(request, template, base, table, view, ctx)
    errors = filters.validate_tree(tree, meta.resolve)
    saved = False
    if not errors:
        where = filters.tree_to_where(filters.complete_part(tree))
        view = _fresh(view)
        if where != view.where:
            try:
                view = services.view_update(
                    actor=_actor(request), view=view, data={"where": where}
                )
                saved = True
            except DomainError as exc:
                errors = {"root": exc.message}
    ctx = _filter_panel(view, meta, tree=tree, errors=errors or None, saved=saved)
    response = _panel(request, template, base, table, view, ctx)
    return _reload(response) if saved else response


def _require_update(request, table) -> None:
    """Changing a view's saved config is `views.update` (creators, owners; table overrides
    apply): 403 otherwise."""
    from permissions.checks import require

    require(_actor(request), "views.update", table)


def _apply_action(tree: dict, action: str, meta) -> dict:
    """`add-condition:<path>`, `add-group:<path>`, `remove:<path>` on a posted tree."""
    verb, _, path = action.partition(":")
    if not verb:
        return tree
    parts = [] if path in ("", "root") else path.split(".")
    try:
        indexes = [int(p) for p in parts]
    except ValueError:
        raise InvalidInput(f"Unknown builder action '{action}'.")
    fields = [f for f in _shown_fields(meta) if filters.filterable(f)]

    def new_condition() -> dict:
        preferred = meta.pv if meta.pv in fields else None
        field = preferred or next((f for f in fields if not f.is_pk), None)
        field = field or (fields[0] if fields else None)
        ops = filters.operators_for(field) if field else ["eq"]
        op = "like" if "like" in ops else ops[0]
        return {
            "type": "condition",
            "field": field.id if field else "",
            "op": op,
            "value": None if filters.arity(op) == "none" else "",
        }

    def node_at(idx: list[int]) -> dict:
        node = tree
        for i in idx:
            children = node.get("children") or []
            if not 0 <= i < len(children):
                raise InvalidInput(f"No filter at '{path}'.")
            node = children[i]
        return node

    if verb == "remove":
        if not indexes:
            return filters.empty_tree()
        parent = node_at(indexes[:-1])
        children = parent.get("children") or []
        if 0 <= indexes[-1] < len(children):
            children.pop(indexes[-1])
        return tree
    target = node_at(indexes)
    if target.get("type") != "group":
        raise InvalidInput("Conditions are added to groups.")
    target.setdefault("children", [])
    if verb == "add-condition":
        target["children"].append(new_condition())
    elif verb == "add-group":
        group = filters.empty_tree()
        group["children"].append(new_condition())
        target["children"].append(group)
    else:
        raise InvalidInput(f"Unknown builder action '{action}'.")
    return tree


@login_required
def sort_panel(request: HttpRequest, base_id: str, view_id: str) -> HttpResponse:
    """POST the sort rows (`field`, `dir` repeated) plus an optional `add` or `remove`."""
    base, table, view = _load(request, base_id, view_id)
    template = "views/partials/toolbar_sorts.html"
    if request.method != "POST":
        return _panel(request, template, base, table, view)
    _require_update(request, table)
    rows = _with_added(request, _posted_levels(request))
    sort = ",".join(("-" if desc else "") + fid for fid, desc in rows)
    try:
        view = services.view_update(
            actor=_actor(request), view=_fresh(view), data={"sort": sort}
        )
    except DomainError as exc:
        return _panel(request, template, base, table, view, {"sort_error": exc.message})
    return _reload(_panel(request, template, base, table, view))


def _with_added(request, rows: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    added = request.POST.get("add")
    if added and added not in [fid for fid, _ in rows]:
        rows.append((added, False))
    return rows


def _posted_levels(request) -> list[tuple[str, bool]]:
    fields = request.POST.getlist("field")
    dirs = request.POST.getlist("dir")
    remove = request.POST.get("remove")
    out = []
    for i, fid in enumerate(fields):
        if remove is not None and str(i) == remove:
            continue
        desc = i < len(dirs) and dirs[i] == "desc"
        if fid and fid not in [r[0] for r in out]:
            out.append((fid, desc))
    return out


@login_required
def group_panel(request: HttpRequest, base_id: str, view_id: str) -> HttpResponse:
    base, table, view = _load(request, base_id, view_id)
    template = "views/partials/toolbar_group.html"
    if request.method != "POST":
        return _panel(request, template, base, table, view)
    _require_update(request, table)
    meta = records.TableMeta.of(table, actor=_actor(request))
    rows = _with_added(request, _posted_levels(request))
    try:
        if len(rows) > MAX_GROUP_BY:
            raise InvalidInput(f"Group by at most {MAX_GROUP_BY} fields.")
        for fid, _ in rows:
            field = meta.resolve.by_id.get(fid)
            if field is None:
                raise InvalidInput(
                    f"No field '{fid}' in this table.", code="FIELD_NOT_FOUND"
                )
            if not aggregates.groupable(field):
                raise InvalidInput(f"Cannot group by '{field.title}' ({field.uidt}).")
        fresh = _fresh(view)
        was_grouped = bool(group_by_of(fresh, meta))
        options = dict(fresh.options or {})
        options["group_by"] = [{"field": fid, "desc": desc} for fid, desc in rows]
        view = services.view_update(
            actor=_actor(request), view=fresh, data={"options": options}
        )
    except DomainError as exc:
        return _panel(
            request, template, base, table, view, {"group_error": exc.message}
        )
    if was_grouped != bool(rows):
        # The grid body changes kind (flat grid <-> groups): the page draws it again.
        return HttpResponseClientRefresh()
    return _reload(_panel(request, template, base, table, view))


@login_required
def fields_panel(request: HttpRequest, base_id: str, view_id: str) -> HttpResponse:
    """POST `show` (repeated field ids) or `all=show|hide`: the view's hidden fields."""
    base, table, view = _load(request, base_id, view_id)
    template = "views/partials/toolbar_fields.html"
    if request.method != "POST":
        return _panel(request, template, base, table, view)
    _require_update(request, table)
    meta = records.TableMeta.of(table, actor=_actor(request))
    every = [f.id for f in _shown_fields(meta)]
    if request.POST.get("all") == "show":
        hidden = []
    elif request.POST.get("all") == "hide":
        keep = meta.pv or (meta.pk[0] if meta.pk else None)
        hidden = [fid for fid in every if not keep or fid != keep.id]
    else:
        shown = set(request.POST.getlist("show"))
        hidden = [fid for fid in every if fid not in shown]
    try:
        view = services.view_update(
            actor=_actor(request), view=_fresh(view), data={"hidden_fields": hidden}
        )
    except DomainError as exc:
        return _panel(
            request, template, base, table, view, {"fields_error": exc.message}
        )
    return _reload(_panel(request, template, base, table, view))
