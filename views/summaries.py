"""Reads that summarise a view's rows for the grid: the footer (row count, column summaries)
and the grouped grid (group headers with counts, a group's rows).

Counts follow the records rule (bases/aggregates.py): exact when cheap, estimates flagged.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from bases import aggregates, records, user_cells
from bases.fieldtypes import field_type_for
from nocoplatform.errors import DomainError, InvalidInput
from permissions.checks import can
from permissions.middleware import HtmxHttpRequest
from views import services
from views.filter_builder import shown_fields
from views.toolbar import (
    fresh_view,
    group_by_of,
    load_view,
    require_view_update,
    search_text,
)

# ---- footer


@login_required
def footer(request: HtmxHttpRequest, base_id: str, view_id: str) -> HttpResponse:
    """Row count and the chosen aggregates; POST `field`, `fn` ('' removes) saves a choice."""
    base, table, view = load_view(request, base_id, view_id)
    meta = records.TableMeta.of(table, actor=request.actor)
    error = ""
    if request.method == "POST":
        require_view_update(request, table)
        field_id, fn = request.POST.get("field", ""), request.POST.get("fn", "")
        if "summary" in request.POST:  # "<field id>:<aggregate>" from the footer's menu
            field_id, _, fn = request.POST["summary"].partition(":")
        field = meta.resolve.by_id.get(field_id)
        try:
            if field is None:
                raise InvalidInput("Choose a field.", code="FIELD_NOT_FOUND")
            if fn and fn not in aggregates.aggregates_for(field):
                raise InvalidInput(
                    f"'{aggregates.AGGREGATES.get(fn, fn)}' does not apply to "
                    f"'{field.title}' ({field.uidt}).",
                    code="AGGREGATE_NOT_SUPPORTED",
                )
            fresh = fresh_view(view)
            options = dict(fresh.options or {})
            chosen = dict(options.get("aggregates") or {})
            if fn:
                chosen[field.id] = fn
            else:
                chosen.pop(field.id, None)
            options["aggregates"] = chosen
            view = services.view_update(
                actor=request.actor, view=fresh, data={"options": options}
            )
        except DomainError as exc:
            error = exc.message
    q = search_text(request)
    exact = request.GET.get("exact") == "1"
    ctx = {"base": base, "table": table, "view": view, "q": q, "footer_error": error}
    try:
        ctx["count"] = aggregates.row_count(
            table, actor=request.actor, view=view, search=q, exact=exact
        )
        specs = {
            fid: fn
            for fid, fn in ((view.options or {}).get("aggregates") or {}).items()
            if fid in meta.resolve.by_id
            and fn in aggregates.aggregates_for(meta.resolve.by_id[fid])
        }
        values = aggregates.column_aggregates(
            table, specs, actor=request.actor, view=view, search=q
        )
        ctx["summaries"] = [
            {
                "field": meta.resolve.by_id[fid],
                "fn": fn,
                "label": aggregates.AGGREGATES[fn],
                "value": values.get(fid),
            }
            for fid, fn in specs.items()
        ]
    except DomainError as exc:
        ctx["footer_error"] = exc.message
    ctx["aggregate_fields"] = [
        {
            "field": f,
            "choices": [
                (a, aggregates.AGGREGATES[a]) for a in aggregates.aggregates_for(f)
            ],
        }
        for f in shown_fields(meta)
        if aggregates.aggregates_for(f)
    ]
    ctx["can_update"] = can(request.actor, "views.update", table)
    return render(request, "views/partials/footer_bar.html#content", ctx)


# ---- grouped grid


def _within(request) -> str:
    within = request.GET.get("within", "")
    if within:
        from bases.query.where import parse_where

        parse_where(within)  # InvalidInput (400) for damaged text
    return within


def _and_where(left: str, right: str) -> str:
    from bases.query.where import And, parse_where, render_where

    if not left:
        return right
    return render_where(And((parse_where(left), parse_where(right))))


@login_required
def groups(request: HtmxHttpRequest, base_id: str, view_id: str) -> HttpResponse:
    """One level of group headers with counts: `depth` 0 is the first group-by field;
    `within` (where text) narrows to the enclosing groups."""
    base, table, view = load_view(request, base_id, view_id)
    meta = records.TableMeta.of(table, actor=request.actor)
    levels = group_by_of(view, meta)
    try:
        depth = int(request.GET.get("depth", "0"))
    except ValueError:
        depth = 0
    q = search_text(request)
    ctx = {"base": base, "table": table, "view": view, "q": q, "depth": depth}
    if not levels or not 0 <= depth < len(levels):
        return HttpResponse('<p class="muted small">This view is not grouped.</p>')
    level = levels[depth]
    try:
        within = _within(request)
        buckets, more = aggregates.group_buckets(
            table,
            level["field"],
            actor=request.actor,
            view=view,
            search=q,
            within=within,
            descending=level["desc"],
        )
        labels = (
            user_cells.names([b.value for b in buckets])
            if field_type_for(level["field"]).holds_users
            else {}
        )
        for b in buckets:
            b.within = _and_where(within, b.where)
            b.label = labels.get(str(b.value)) if b.value is not None else None
    except DomainError as exc:
        return render(request, "views/error_partial.html", {"error": exc})
    ctx.update(
        {
            "buckets": buckets,
            "more": more,
            "field": level["field"],
            "last_level": depth == len(levels) - 1,
        }
    )
    return render(request, "views/partials/group_body.html#level", ctx)


GROUP_ROWS = 100


@login_required
def group_rows(request: HtmxHttpRequest, base_id: str, view_id: str) -> HttpResponse:
    """The rows of one innermost group, GROUP_ROWS at a time in the view's sort; `cursor`
    (with `start`, the position of its first row) gives the next window, appended below."""
    import zlib

    from views.grid.common import grid_columns, grid_rows, read_fields, writable

    base, table, view = load_view(request, base_id, view_id)
    meta = records.TableMeta.of(table, actor=request.actor)
    columns = grid_columns(meta, view)
    cursor = request.GET.get("cursor", "")
    try:
        start = max(0, int(request.GET.get("start", "0")))
    except ValueError:
        start = 0
    try:
        within = _within(request)
        params = {
            "where": within,
            "limit": str(GROUP_ROWS),
            # The shown fields plus the key, so rows keep their ids when the view hides it.
            "fields": read_fields(meta, columns),
        }
        if cursor:
            params["cursor"] = cursor
        page = records.list_records(
            table,
            params,
            actor=request.actor,
            view=view,
            search=search_text(request),
        )
    except DomainError as exc:
        return render(request, "views/error_partial.html", {"error": exc})
    rows = grid_rows(
        meta,
        columns,
        page.rows,
        start=start,
        editable=writable(request, table),
        actor=request.actor,
    )
    ctx = {
        "base": base,
        "table": table,
        "view": view,
        "rows": rows,
        "within": within,
        "key": format(zlib.crc32(within.encode()), "x"),
        "next": page.page_info.get("next"),
        "next_start": start + len(rows),
    }
    if cursor:
        return render(request, "views/partials/group_body.html#rows-more", ctx)
    # Same widths and row height as the flat grid (views/grid/common.py owns them), and
    # the field types' icons.
    from views.grid.common import grid_layout

    layout = grid_layout(view, columns)
    ctx["header"] = [
        {
            "field": f,
            "width": layout["widths"].get(f.id, 160),
            "icon": field_type_for(f).icon,
        }
        for f in columns
    ]
    ctx["layout"] = layout
    return render(request, "views/partials/group_body.html#rows", ctx)
