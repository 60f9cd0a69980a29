"""View tabs above the grid: list, create, rename, duplicate, delete and reorder a table's views.

Writes go through views.services; a refused title comes back in its form with the reason.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from bases import selectors
from bases.table_meta import TableMeta
from nocoplatform.errors import DomainError, InvalidInput
from permissions.checks import can, require
from permissions.middleware import HtmxHttpRequest
from views import form_view, services
from views.models import View
from views.toolbar import (
    current_view,
    fresh_view,
    load_view,
    page_objects,
    search_text,
    table_url,
)
from views.types import view_type


def tabs_context(context) -> dict:
    request, base, table, view = page_objects(context)
    return _tabs(request, base, table, view)


def _tabs(
    request, base, table, view, *, error: str = "", typed: str = "", renaming=None
) -> dict:
    """`typed` is a refused title, shown again in the new-view form (or, with `renaming`,
    in that view's rename form)."""
    actor = request.actor
    return {
        "request": request,
        "base": base,
        "table": table,
        "view": view,
        "views": list(table.views.all()),
        "view_types": [
            (value, label, creatable(value)) for value, label in View.Type.choices
        ],
        # On the table: a member's table override applies.
        "can_create": can(actor, "views.create", table),
        "can_update": can(actor, "views.update", table),
        "can_delete": can(actor, "views.delete", table),
        "q": search_text(request),
        "tab_error": error,
        "typed": "" if renaming else typed,
        "renaming": renaming,
        "rename_typed": typed if renaming else "",
    }


def creatable(kind: str) -> bool:
    """A view type the "+ View" menu offers: the grid, forms (views/form_view.py) and the
    registered types (views/types/)."""
    return kind in (View.Type.GRID, View.Type.FORM) or view_type(kind) is not None


# ---- view tabs


def _tabs_response(request, base, table, view, **kwargs) -> HttpResponse:
    return render(
        request,
        "views/partials/view_tabs_bar.html",
        _tabs(request, base, table, view, **kwargs),
    )


@login_required
@require_POST
def view_new(request: HtmxHttpRequest, base_id: str, table_id: str) -> HttpResponse:
    actor = request.actor
    table = selectors.table_get(actor=actor, table_id=table_id, operation="views.read")
    if table.base_id != base_id:
        raise Http404("Table not found.")
    # Refusals are 403 (not a message in the tabs): the tabs offer nothing a user may not do.
    require(actor, "views.create", table)
    current = _shown_view(request, table, current_view(request, table))
    title = request.POST.get("title", "")
    kind = request.POST.get("type") or View.Type.GRID
    try:
        if not creatable(kind):
            raise InvalidInput(
                f"{View.Type(kind).label if kind in View.Type.values else kind} views "
                "are not available yet; create another type of view."
            )
        view = services.view_create(actor=actor, table=table, title=title, type=kind)
    except DomainError as exc:
        return _tabs_response(
            request, table.base, table, current, error=exc.message, typed=title
        )
    if view.type == View.Type.FORM:
        # A new form asks for every field it can fill and opens in its builder.
        meta = TableMeta.of(table, actor=actor)
        fields = [{"id": f.id} for f in meta.fields if form_view.fillable(f, meta)]
        form_view.form_config_save(actor=actor, view=view, data={"fields": fields})
        return HttpResponseClientRedirect(
            reverse("form_builder", args=[table.base_id, view.pk])
        )
    return HttpResponseClientRedirect(table_url(table.base, table, view))


@login_required
@require_POST
def view_rename(request: HtmxHttpRequest, base_id: str, view_id: str) -> HttpResponse:
    base, table, view = load_view(request, base_id, view_id)
    require(request.actor, "views.update", table)
    title = request.POST.get("title", "")
    shown = _shown_view(request, table, view)
    try:
        renamed = services.view_update(
            actor=request.actor, view=fresh_view(view), data={"title": title}
        )
    except DomainError as exc:
        return _tabs_response(
            request,
            base,
            table,
            shown,
            error=exc.message,
            typed=title,
            renaming=view.pk,
        )
    return _tabs_response(
        request, base, table, renamed if renamed.pk == shown.pk else shown
    )


def _shown_view(request, table, fallback: View) -> View:
    """The view the page is showing (the tabs post `current`), to keep its tab active."""
    current = table.views.filter(pk=request.POST.get("current", "")).first()
    return current or fallback


@login_required
@require_POST
def view_duplicate(
    request: HtmxHttpRequest, base_id: str, view_id: str
) -> HttpResponse:
    base, table, view = load_view(request, base_id, view_id)
    require(request.actor, "views.create", table)
    try:
        copy = services.view_duplicate(actor=request.actor, view=fresh_view(view))
    except DomainError as exc:
        return _tabs_response(request, base, table, view, error=exc.message)
    return HttpResponseClientRedirect(table_url(base, table, copy))


@login_required
@require_POST
def view_delete(request: HtmxHttpRequest, base_id: str, view_id: str) -> HttpResponse:
    base, table, view = load_view(request, base_id, view_id)
    require(request.actor, "views.delete", table)
    shown = _shown_view(request, table, view)
    try:
        services.view_delete(actor=request.actor, view=view)
    except DomainError as exc:
        return _tabs_response(request, base, table, shown, error=exc.message)
    if shown.pk == view.pk:
        return HttpResponseClientRedirect(
            table_url(base, table, services.default_view(table))
        )
    return _tabs_response(request, base, table, shown)


@login_required
@require_POST
def view_reorder(request: HtmxHttpRequest, base_id: str, table_id: str) -> HttpResponse:
    actor = request.actor
    table = selectors.table_get(actor=actor, table_id=table_id, operation="views.read")
    if table.base_id != base_id:
        raise Http404("Table not found.")
    require(actor, "views.update", table)
    shown = _shown_view(request, table, services.default_view(table))
    try:
        services.view_reorder(
            actor=actor, table=table, view_ids=request.POST.getlist("order")
        )
    except DomainError as exc:
        return _tabs_response(request, table.base, table, shown, error=exc.message)
    return _tabs_response(request, table.base, table, shown)
