"""The table page routed by view type, and the endpoints of gallery, kanban and calendar views.

The grid keeps views/grid/; other types are small classes in views/types/ with the same
interface (`page`, `cards`, `move`, `add`, `options_from_post`). Handlers here only load the
view, check it belongs to the URL's base, and hand over; reads and writes happen in the types
through bases/records.py and records/writes.py with the actor, so permissions, hidden
fields and webhooks behave as everywhere else.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh, reswap, retarget

from bases import records
from bases.pages import base_context
from nocoplatform.errors import DomainError
from permissions.checks import Actor, can
from permissions.middleware import HtmxHttpRequest
from views import services
from views.grid import common as grid
from views.grid import page as grid_page
from views.models import View
from views.toolbar import load_view
from views.types import view_type


def _writable(actor: Actor, table, operation: str) -> bool:
    """grid.writable for an actor (the live cards are rendered without a request)."""
    return (
        can(actor, operation, table)
        and not table.read_only_reason
        and table.source.allow_data_edit
    )


def view_context(*, base, table, view: View, actor: Actor, q: str = "") -> dict:
    """What a view type needs to render its cards: for a page, and for the live cards a
    socket is sent (views/realtime/live.py), so both render them alike."""
    meta = records.TableMeta.of(table, actor=actor)
    return {
        "base": base,
        "table": table,
        "view": view,
        "meta": meta,
        "actor": actor,
        "q": q,
        "can_edit": _writable(actor, table, "records.update"),
        "can_add": _writable(actor, table, "records.create"),
        "can_settings": can(actor, "views.update", table),
        "view_type": view_type(view.type),
    }


def page_context(request: HtmxHttpRequest, base, table, view: View) -> dict:
    """What every non-grid view page and partial needs."""
    ctx = view_context(
        base=base,
        table=table,
        view=view,
        actor=request.actor,
        q=grid.search_text(request),
    )
    ctx["request"] = request
    # static/js/realtime.js: presence, and the live cards of this view (the socket is
    # opened with ?view=<id>&q=<search>, views/realtime/live.py).
    ctx["realtime_config"] = {"ws": f"/ws/tables/{table.pk}/", "view": view.pk}
    return ctx


@login_required
def table_page(
    request: HtmxHttpRequest, base_id: str, table_id: str, view_id: str | None = None
) -> HttpResponse:
    """The table page: the grid, or the view's own type (gallery, kanban, calendar…)."""
    table = grid.grid_table(request, base_id, table_id)
    view = grid.current_view(request, table, view_id)
    kind = view_type(view.type)
    if kind is None or request.method == "POST":  # the grid's add-field form posts here
        return grid_page.table_page(request, base_id, table_id, view_id)
    ctx = base_context(request, base_id)
    ctx.update(page_context(request, ctx["base"], table, view))
    return kind.page(request, ctx)


def _typed(request: HtmxHttpRequest, base_id: str, view_id: str):
    base, table, view = load_view(request, base_id, view_id)
    kind = view_type(view.type)
    if kind is None:
        raise Http404("This view has no such page.")
    return kind, page_context(request, base, table, view)


@login_required
@require_GET
def view_cards(request: HtmxHttpRequest, base_id: str, view_id: str) -> HttpResponse:
    """More cards: the gallery's next page, a kanban stack's "show more", as HTML."""
    kind, ctx = _typed(request, base_id, view_id)
    return kind.cards(request, ctx)


@login_required
@require_POST
def view_move(request: HtmxHttpRequest, base_id: str, view_id: str) -> HttpResponse:
    """A drop: a card to another stack or place (kanban), a chip to another day (calendar)."""
    kind, ctx = _typed(request, base_id, view_id)
    try:
        return kind.move(request, ctx)
    except DomainError as exc:  # the page's script shows the message
        return JsonResponse(exc.as_dict(), status=exc.status)


@login_required
@require_POST
def view_add(request: HtmxHttpRequest, base_id: str, view_id: str) -> HttpResponse:
    """A new record in a stack (kanban) or on a day (calendar)."""
    kind, ctx = _typed(request, base_id, view_id)
    return kind.add(request, ctx)


@login_required
@require_POST
def view_settings(request: HtmxHttpRequest, base_id: str, view_id: str) -> HttpResponse:
    """Save the posted settings of the view's type (the keys posted; others kept)."""
    kind, ctx = _typed(request, base_id, view_id)
    view = ctx["view"]
    try:
        services.view_options_update(
            actor=ctx["actor"],
            view=view,
            options=kind.options_from_post(request.POST, view),
        )
    except DomainError as exc:
        # htmx swaps only 2xx answers: the message goes into the settings panel.
        status = 200 if request.htmx else exc.status
        response = render(
            request, "views/error_partial.html", {"error": exc}, status=status
        )
        return reswap(retarget(response, "#view-settings-error"), "innerHTML")
    return HttpResponseClientRefresh()
