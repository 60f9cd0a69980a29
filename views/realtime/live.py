"""Live fragments: what a gallery, kanban or calendar page — and a shared view's visitor —
is sent when records change, rendered here for that recipient.

A socket opened with `?view=<id>` on a view of one of those types (and the visitor socket of
a shared view, `/s/<token>/ws`) "watches" it. When a write's message reaches such a socket
(views/realtime/consumer.py), it is turned into HTML through the view type's `live()` (or
`shared_rows()` for a visitor), read through the records layer with the recipient's actor:
their fields (a hidden one is never selected, so never in the HTML), the view's filter, the
page's search (a visitor's own sort and filter too). Records it no longer shows are `gone`.
Each fragment says where it goes (the card before it; a kanban stack; a calendar's days) and
static/js/views/live.js puts it there, or offers a refresh where the page cannot tell.

Sockets of the same process that would receive the same thing (same view, user, search and
visible fields; same link and parameters) share one rendering per message (consumer.py).
Record values go from here straight to the socket: never through the channel layer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from permissions.checks import Actor

log = logging.getLogger(__name__)

# Above this many changed records a page is offered a refresh instead of that many fragments.
MAX_PLACED = 50
# The parameters a visitor's page (views/share_pages.Visit) reads; nothing else is kept.
VISITOR_PARAMS = ("q", "sort", "ff", "fo", "fv", "cursor")


@dataclass(frozen=True)
class ViewWatch:
    """A member's page showing a gallery, kanban or calendar view."""

    view_id: str
    actor: Actor
    q: str

    def key(self, fields: set) -> tuple:
        return ("view", self.view_id, self.actor.user.pk, self.q, frozenset(fields))

    def render(self, event: str, ids: list[str], many: bool) -> dict | None:
        return render_view(self, event, ids, many)


@dataclass(frozen=True)
class ShareWatch:
    """A visitor of a shared view: the link (as it was when the socket opened), the page's
    parameters, and what the link shows."""

    token: str
    unlock: (
        str  # shares.unlock_value at connect: a new token or password stops the socket
    )
    view_id: str
    table_id: str
    base_id: str
    fields: frozenset
    params: tuple  # ((name, value), ...) of VISITOR_PARAMS

    def key(self, fields: set) -> tuple:
        return ("share", self.token, self.params, frozenset(fields))

    def render(self, event: str, ids: list[str], many: bool) -> dict | None:
        return render_share(self, event, ids, many)


# --- members ---------------------------------------------------------------------------------


def watch_view(table_id: str, view_id: str, actor: Actor, q: str) -> ViewWatch | None:
    """A watch when `view_id` is a gallery, kanban or calendar view of this table (a grid
    page re-fetches its rows itself: None)."""
    from views.models import View
    from views.types import view_type

    view = View.objects.filter(pk=view_id, table_id=table_id).first()
    if view is None or view_type(view.type) is None:
        return None
    return ViewWatch(view_id=view.pk, actor=actor, q=q.strip()[:200])


def render_view(
    watch: ViewWatch, event: str, ids: list[str], many: bool
) -> dict | None:
    from nocoplatform.errors import DomainError
    from views.models import View
    from views.types import view_type
    from views.view_pages import view_context

    view = (
        View.objects.select_related("table__base", "table__source")
        .filter(pk=watch.view_id)
        .first()
    )
    kind = view_type(view.type) if view is not None else None
    if kind is None:
        return None  # deleted or retyped: view.changed tells the page
    message = {"type": "cards", "view": view.pk, "event": event}
    if many or len(ids) > MAX_PLACED:
        return {**message, "refresh": True}
    try:
        ctx = view_context(
            base=view.table.base,
            table=view.table,
            view=view,
            actor=watch.actor,
            q=watch.q,
        )
        return {**message, **kind.live(ctx, ids, deleted=event == "rows.deleted")}
    except DomainError as exc:  # e.g. the view's filter no longer fits the table
        log.info("live cards of %s: %s", view.pk, exc)
        return {**message, "refresh": True}


# --- shared-view visitors --------------------------------------------------------------------


def watch_share(token: str, cookies: dict, query: dict) -> ShareWatch | None:
    """The visitor's watch, or None: no such link (revoked, regenerated, a form's link, its
    creator may no longer share), or a password the visitor has not entered."""
    from nocoplatform.errors import NotFound
    from views import shares
    from views.share_pages import Visit

    try:
        share = shares.share_by_token(token, form=False)
    except NotFound:
        return None
    if not shares.cookies_unlock(cookies, share):
        return None
    params = tuple(
        (k, str(query[k])[:2000])
        for k in VISITOR_PARAMS
        if query.get(k) not in (None, "")
    )
    visit = Visit(dict(params), share)
    return ShareWatch(
        token=share.token,
        unlock=shares.unlock_value(share),
        view_id=share.view_id,
        table_id=share.view.table_id,
        base_id=share.view.table.base_id,
        fields=frozenset(f.id for f in visit.fields),
        params=params,
    )


def share_fields(watch: ShareWatch) -> frozenset | None:
    """What the link shows now, or None when the visitor must stop receiving: the link was
    revoked or regenerated, its password changed, or its creator may no longer share."""
    from nocoplatform.errors import NotFound
    from views import shares

    try:
        share = shares.share_by_token(watch.token, form=False)
    except NotFound:
        return None
    if shares.unlock_value(share) != watch.unlock or share.view_id != watch.view_id:
        return None
    return frozenset(f.id for f in shares.shown_fields(share))


def render_share(watch: ShareWatch, event: str, ids: list[str], many: bool) -> dict:
    """A visitor's rows: the changed ones the link shows (with the visitor's search, sort and
    filter), each with the row before it; keys are the link's opaque row keys."""
    from django.template.loader import render_to_string

    from nocoplatform.errors import DomainError, NotFound
    from views import shares
    from views.realtime.placing import previous_id, rows_by_ids
    from views.share_pages import Visit

    try:
        share = shares.share_by_token(watch.token, form=False)
    except NotFound:
        return {"close": True}
    if shares.unlock_value(share) != watch.unlock:
        return {"close": True}
    message = {"type": "shared.rows"}
    if many or len(ids) > MAX_PLACED:
        return {**message, "refresh": True}
    visit = Visit(dict(watch.params), share)
    table, view, actor = visit.table, visit.view, visit.actor
    rows = []
    found: set[str] = set()
    try:
        if event != "rows.deleted":
            placed = rows_by_ids(
                table,
                ids,
                actor=actor,
                view=view,
                fields=",".join(f.id for f in visit.fields),
                search=visit.q or None,
                params=visit.params(1),
            )
            found = placed.ids()
            for rid, row in placed.rows:
                html = render_to_string(
                    "views/shared_view.html#row",
                    {
                        "row": {
                            "key": shares.row_key(share, rid),
                            "cells": visit.cells(row),
                        }
                    },
                ).strip()
                after = previous_id(placed, row, table=table, actor=actor, view=view)
                rows.append(
                    {
                        "key": shares.row_key(share, rid),
                        "html": html,
                        "after": shares.row_key(share, after) if after else None,
                    }
                )
        total = visit.page(limit=1).page_info
    except DomainError as exc:
        log.info("live rows of share %s: %s", share.pk, exc)
        return {**message, "refresh": True}
    return {
        **message,
        "rows": rows,
        "gone": [shares.row_key(share, i) for i in ids if i not in found],
        "total": {
            "count": total.get("totalRows"),
            "estimated": bool(total.get("totalRowsEstimated")),
        },
    }
