"""The table page's toolbar: which view is shown, and its panels (filter, sort, group, fields).

View tabs are in views/view_tabs.py; the footer and the grouped grid in views/summaries.py;
the filter builder's tree and actions in views/filter_builder.py.

Saved view config (filter, sorts, group-by, hidden fields, footer aggregates) goes through
views.services (validated, permission-checked); the search box is temporary: it lives in the
page URL (`?q=`) and is never saved. After a saved change the response carries the htmx event
`grid:reload` so the grid (views/grid/, static/js/grid/) reloads its rows.

The contract with the grid is written at the top of templates/views/partials/toolbar.html.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django_htmx.http import (
    HttpResponseClientRefresh,
    trigger_client_event,
)

from bases import aggregates, records, selectors
from bases.fieldtypes import field_type_for
from nocoplatform.errors import DomainError, InvalidInput
from permissions.checks import can
from permissions.middleware import HtmxHttpRequest
from views import filters, services
from views.filter_builder import apply_action, builder_context, shown_fields
from views.models import View

MAX_GROUP_BY = 3
GRID_RELOAD = "grid:reload"


# --------------------------------------------------------------------------------------------
# Which view, and its saved config read back


def current_view(request: HtmxHttpRequest, table) -> View:
    """The view the table page shows: `?view=<id>` when it belongs to the table, else the
    first one (created on first use)."""
    view_id = request.GET.get("view")
    if view_id:
        view = table.views.filter(pk=view_id).first()
        if view is not None:
            return view
    return services.default_view(table)


def search_text(request: HtmxHttpRequest) -> str:
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


# --------------------------------------------------------------------------------------------
# Contexts for the partials (template tags in views/templatetags/toolbar.py call these)


def page_objects(context) -> tuple:
    request = context["request"]
    table = context["table"]
    view = context.get("view")
    if not isinstance(view, View):
        view = current_view(request, table)
    return request, context["base"], table, view


def toolbar_context(context) -> dict:
    request, base, table, view = page_objects(context)
    # In a whole page, a POST is another form's (add a field): the menus stay closed.
    return {**_toolbar(request, base, table, view), "in_page": True}


def _toolbar(request, base, table, view) -> dict:
    meta = records.TableMeta.of(table, actor=request.actor)
    ctx = {
        "request": request,
        "base": base,
        "table": table,
        "view": view,
        "q": search_text(request),
        "can_update": can(request.actor, "views.update", table),
    }
    ctx.update(builder_context(view, meta))
    ctx.update(_sort_panel(view, meta))
    ctx.update(_group_panel(view, meta))
    ctx.update(_fields_panel(view, meta))
    return ctx


def footer_context(context) -> dict:
    request, base, table, view = page_objects(context)
    return {"base": base, "table": table, "view": view, "q": search_text(request)}


# ---- sorts, group-by, fields


def _sort_panel(view, meta) -> dict:
    return {
        "sorts": sorts_of(view, meta),
        "sort_fields": [f for f in shown_fields(meta) if _sortable(f)],
    }


def _group_panel(view, meta) -> dict:
    return {
        "groups": group_by_of(view, meta),
        "group_fields": [f for f in shown_fields(meta) if aggregates.groupable(f)],
        "max_groups": MAX_GROUP_BY,
    }


def _fields_panel(view, meta) -> dict:
    hidden = set(view.hidden_fields or [])
    fields = shown_fields(meta)
    order = {fid: i for i, fid in enumerate(view.field_order or [])}
    fields.sort(key=lambda f: order.get(f.id, len(order)))
    return {
        "field_rows": [{"field": f, "shown": f.id not in hidden} for f in fields],
        "hidden_count": sum(1 for f in fields if f.id in hidden),
    }


# --------------------------------------------------------------------------------------------
# Endpoints


def load_view(request: HtmxHttpRequest, base_id: str, view_id: str) -> tuple:
    view = View.objects.select_related("table").filter(pk=view_id).first()
    if view is None:
        raise Http404("View not found.")
    table = selectors.table_get(
        actor=request.actor, table_id=view.table_id, operation="views.read"
    )
    if table.base_id != base_id:
        raise Http404("View not found.")
    view.table = table
    return table.base, table, view


def fresh_view(view: View) -> View:
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


def table_url(base, table, view, q: str = "") -> str:
    url = reverse("table_view", args=[base.pk, table.pk, view.pk])
    if q:
        from urllib.parse import quote

        url += "?q=" + quote(q)
    return url


@login_required
def filter_panel(request: HtmxHttpRequest, base_id: str, view_id: str) -> HttpResponse:
    """GET: the builder. POST: apply one builder action (add/remove/change) to the posted
    tree; save it on the view when every condition is valid, else show why, input kept."""
    base, table, view = load_view(request, base_id, view_id)
    meta = records.TableMeta.of(table, actor=request.actor)
    template = "views/partials/toolbar_bar.html#filters"
    if request.method != "POST":
        return _panel(request, template, base, table, view)
    require_view_update(request, table)
    try:
        tree = filters.load_tree(request.POST.get("tree"))
    except DomainError as exc:
        ctx = builder_context(view, meta, errors={"root": exc.message})
        return _panel(request, template, base, table, view, ctx)
    try:
        tree = apply_action(tree, request.POST.get("action", ""), meta)
    except DomainError as exc:
        ctx = builder_context(view, meta, tree=tree, errors={"root": exc.message})
        return _panel(request, template, base, table, view, ctx)
    errors = filters.validate_tree(tree, meta.resolve)
    saved = False
    if not errors:
        where = filters.tree_to_where(filters.complete_part(tree))
        view = fresh_view(view)
        if where != view.where:
            try:
                view = services.view_update(
                    actor=request.actor, view=view, data={"where": where}
                )
                saved = True
            except DomainError as exc:
                errors = {"root": exc.message}
    ctx = builder_context(view, meta, tree=tree, errors=errors or None, saved=saved)
    response = _panel(request, template, base, table, view, ctx)
    return _reload(response) if saved else response


def require_view_update(request, table) -> None:
    """Changing a view's saved config is `views.update` (creators, owners; table overrides
    apply): 403 otherwise."""
    from permissions.checks import require

    require(request.actor, "views.update", table)


@login_required
def sort_panel(request: HtmxHttpRequest, base_id: str, view_id: str) -> HttpResponse:
    """POST the sort rows (`field`, `dir` repeated) plus an optional `add` or `remove`."""
    base, table, view = load_view(request, base_id, view_id)
    template = "views/partials/toolbar_bar.html#sorts"
    if request.method != "POST":
        return _panel(request, template, base, table, view)
    require_view_update(request, table)
    rows = _with_added(request, _posted_levels(request))
    sort = ",".join(("-" if desc else "") + fid for fid, desc in rows)
    try:
        view = services.view_update(
            actor=request.actor, view=fresh_view(view), data={"sort": sort}
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
def group_panel(request: HtmxHttpRequest, base_id: str, view_id: str) -> HttpResponse:
    base, table, view = load_view(request, base_id, view_id)
    template = "views/partials/toolbar_bar.html#group"
    if request.method != "POST":
        return _panel(request, template, base, table, view)
    require_view_update(request, table)
    meta = records.TableMeta.of(table, actor=request.actor)
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
        fresh = fresh_view(view)
        was_grouped = bool(group_by_of(fresh, meta))
        options = dict(fresh.options or {})
        options["group_by"] = [{"field": fid, "desc": desc} for fid, desc in rows]
        view = services.view_update(
            actor=request.actor, view=fresh, data={"options": options}
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
def fields_panel(request: HtmxHttpRequest, base_id: str, view_id: str) -> HttpResponse:
    """POST `show` (repeated field ids) or `all=show|hide`: the view's hidden fields."""
    base, table, view = load_view(request, base_id, view_id)
    template = "views/partials/toolbar_bar.html#fields"
    if request.method != "POST":
        return _panel(request, template, base, table, view)
    require_view_update(request, table)
    meta = records.TableMeta.of(table, actor=request.actor)
    every = [f.id for f in shown_fields(meta)]
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
            actor=request.actor, view=fresh_view(view), data={"hidden_fields": hidden}
        )
    except DomainError as exc:
        return _panel(
            request, template, base, table, view, {"fields_error": exc.message}
        )
    return _reload(_panel(request, template, base, table, view))
