"""Shared views: the link's settings page (members) and the public read-only page (anyone).

The public page accepts only its own parameters, each checked against the fields the link
shows: `q` (search), `sort` (one field id, `-` for descending), `ff`/`fo`/`fv` (one temporary
filter: field id, operator, value) and `cursor` (next page). Anything else (`where`, `fields`,
`viewId`…) is ignored, and the view's own filter is always ANDed in by the records layer, so a
visitor can narrow the rows but never widen them.
"""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.http import (
    HttpResponse,
    HttpResponseNotFound,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from bases import attachments, records
from bases.crypto import decrypt_json, encrypt_json
from bases.fieldtypes import field_type_for
from bases.table_meta import TableMeta
from nocoplatform.clientip import client_address
from nocoplatform.errors import DomainError, NotFound
from permissions.checks import can
from permissions.middleware import HtmxHttpRequest
from views import filters, shares
from views.attachment_pages import file_response
from views.grid.cells import display_html, raw_text
from views.models import View, ViewShare
from views.toolbar import load_view

PAGE_SIZE = 100
CSV_PAGE = 1000
# The temporary filter's operators (a short list; the saved filter stays the view's).
VISITOR_OPS = {
    "like": "contains",
    "eq": "is",
    "neq": "is not",
    "gt": ">",
    "lt": "<",
    "blank": "is empty",
    "notblank": "is not empty",
}


# --------------------------------------------------------------------------------------------
# Members: the link's settings


def _share_context(request, base, table, view, *, error: str = "") -> dict:
    share = ViewShare.objects.filter(view=view).first()
    public = ""
    if share is not None:
        name = "public_form" if view.type == View.Type.FORM else "shared_view"
        public = request.build_absolute_uri(reverse(name, args=[share.token]))
    return {
        "base": base,
        "table": table,
        "view": view,
        "share": share,
        "public_url": public,
        "can_share": can(request.actor, "views.share", table),
        "error": error,
        "back": reverse("table_view", args=[base.pk, table.pk, view.pk]),
    }


@login_required
def share_settings(
    request: HtmxHttpRequest, base_id: str, view_id: str
) -> HttpResponse:
    """GET: the link and its settings. POST `action`: enable, update, regenerate, revoke."""
    base, table, view = load_view(request, base_id, view_id)
    error = ""
    if request.method == "POST":
        actor = request.actor
        action = request.POST.get("action", "")
        try:
            share = ViewShare.objects.filter(view=view).first()
            if action == "enable":
                shares.share_enable(actor=actor, view=view)
            elif share is None:
                raise NotFound("This view has no link.", code="SHARE_NOT_FOUND")
            elif action == "update":
                shares.share_update(
                    actor=actor,
                    share=share,
                    password=request.POST.get("password") or None,
                    clear_password=request.POST.get("clear_password") == "on",
                    allow_csv=request.POST.get("allow_csv") == "on",
                )
            elif action == "regenerate":
                shares.share_regenerate(actor=actor, share=share)
            elif action == "revoke":
                shares.share_revoke(actor=actor, share=share)
            else:
                raise NotFound(f"Unknown action '{action}'.")
        except DomainError as exc:
            if exc.status in (401, 403):
                raise
            error = exc.message
        else:
            return redirect("view_share", base.pk, view.pk)
    return render(
        request,
        "views/share_settings.html",
        _share_context(request, base, table, view, error=error),
        status=400 if error else 200,
    )


# --------------------------------------------------------------------------------------------
# Visitors


def _not_found(request) -> HttpResponse:
    return render(request, "views/public_error.html", status=404)


class Visit:
    """A visitor's reading of a shared view: the fields shown and the checked parameters."""

    def __init__(self, query, share: ViewShare):
        """`query`: the visitor's parameters (the page's GET, or the live socket's query)."""
        self.share = share
        self.view = share.view
        self.table = share.view.table
        self.fields = shares.shown_fields(share)
        self.actor = shares.share_actor(share, self.fields)
        by_id = {f.id: f for f in self.fields}
        g = query
        self.q = (g.get("q") or "").strip()[:200]
        sort = (g.get("sort") or "").strip()
        key = sort.lstrip("-")
        self.sort = sort if key in by_id and _sortable(by_id[key]) else ""
        ff, fo, fv = g.get("ff") or "", g.get("fo") or "", (g.get("fv") or "")[:500]
        self.filter = None
        if ff in by_id and fo in VISITOR_OPS and filters.filterable(by_id[ff]):
            self.filter = {"field": ff, "op": fo, "value": fv}
        self.cursor = (g.get("cursor") or "")[:2000]

    def params(self, limit: int) -> dict:
        p = {"fields": [f.id for f in self.fields], "limit": str(limit)}
        if self.sort:
            p["sort"] = self.sort
        if self.filter:
            op = self.filter["op"]
            condition = {"type": "condition", **self.filter}
            if op in ("blank", "notblank"):
                condition["value"] = None
            p["where"] = filters.tree_to_where(
                {"type": "group", "logic": "and", "children": [condition]}
            )
        return p

    def page(self, *, limit: int = PAGE_SIZE, cursor: str = ""):
        """A page of rows with the shown fields, plus the key (for `key()`, never shown).

        The search is applied to the shown fields before the key is added, so a visitor
        cannot probe a key the view hides."""
        params = self.params(limit)
        if cursor:
            params["cursor"] = cursor
        meta, query = records.query_for(
            self.table, params, actor=self.actor, view=self.view, search=self.q or None
        )
        query.fields = [*query.fields, *(f for f in meta.pk if f not in query.fields)]
        self.meta = meta
        return records.list_records(self.table, actor=self.actor, query=query)

    def key(self, row: dict) -> str:
        """The row's opaque key on this link (live updates find rows by it)."""
        if not self.meta.pk:
            return ""
        return shares.row_key(
            self.share, self.meta.record_id([row.get(f.title) for f in self.meta.pk])
        )

    def cells(self, row: dict) -> list[str]:
        """A row's cells as HTML; images of attachment cells as thumbnails (their URLs
        need the row's key: read along by `page`, and by the live updates' reads)."""
        meta = getattr(self, "meta", None) or TableMeta.of(self.table, actor=self.actor)
        values = [row.get(f.title) for f in meta.pk]
        record_id = meta.record_id(values) if values and None not in values else None
        out = []
        for f in self.fields:
            file_url = None
            if field_type_for(f).holds_files and record_id is not None:
                file_url = self._file_url(record_id, f)
            out.append(display_html(f, row.get(f.title), file_url))
        return out

    def _file_url(self, record_id, field):
        prefix = f"/s/{self.share.token}/files/"
        return lambda entry: (
            prefix + file_ref(self.share, record_id, field.id, entry.get("id"))
        )

    def query_string(self, **extra) -> str:
        p = {"q": self.q, "sort": self.sort}
        if self.filter:
            p.update(
                ff=self.filter["field"], fo=self.filter["op"], fv=self.filter["value"]
            )
        p.update(extra)
        return urlencode({k: v for k, v in p.items() if v})


def _share_or_404(token: str) -> ViewShare | None:
    try:
        return shares.share_by_token(token, form=False)
    except NotFound:
        return None


def shared_view(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """The public read-only page (GET), or the password form's answer (POST)."""
    share = _share_or_404(token)
    if share is None:
        return _not_found(request)
    if request.method == "POST":
        return _unlock(request, share)
    if not shares.is_unlocked(request, share):
        return render(request, "views/share_password.html", {"share": share})
    visit = Visit(request.GET, share)
    error, rows, info = "", [], {}
    try:
        page = visit.page(cursor=visit.cursor)
        rows = [{"key": visit.key(row), "cells": visit.cells(row)} for row in page]
        info = page.page_info
    except DomainError as exc:
        if exc.status == 404:
            return _not_found(request)
        error = exc.message
    context = {
        "share": share,
        "view": visit.view,
        "title": visit.view.title,
        "fields": visit.fields,
        "filterable": [f for f in visit.fields if filters.filterable(f)],
        "sortable": [f for f in visit.fields if _sortable(f)],
        "ops": VISITOR_OPS,
        "visit": visit,
        "rows": rows,
        "info": info,
        "error": error,
        "next_url": (
            "?" + visit.query_string(cursor=info["next"]) if info.get("next") else ""
        ),
        "csv_url": (
            reverse("shared_view_csv", args=[share.token]) + "?" + visit.query_string()
            if share.allow_csv
            else ""
        ),
        # static/js/realtime.js: live rows through the link's socket (views/realtime/).
        "realtime_config": {"ws": f"/s/{share.token}/ws", "share": True},
    }
    return render(
        request, "views/shared_view.html", context, status=400 if error else 200
    )


def _unlock(request: HtmxHttpRequest, share: ViewShare) -> HttpResponse:
    try:
        shares.password_check(
            share, request.POST.get("password", ""), address=client_address(request)
        )
    except DomainError as exc:
        return render(
            request,
            "views/share_password.html",
            {"share": share, "error": exc.message},
            status=exc.status if exc.status in (403, 429) else 403,
        )
    response = redirect("shared_view", share.token)
    response.set_signed_cookie(
        shares.cookie_name(share),
        shares.unlock_value(share),
        salt="noco.share",
        max_age=None,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
        path=f"/s/{share.token}/",
    )
    return response


class _Echo:
    def write(self, value):
        return value


def _csv_safe(text: str) -> str:
    """Spreadsheet formula injection: text starting like a formula is prefixed with a quote.
    Used for every cell written, the header row's field titles included (a title is user text)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_line(writer, texts) -> str:
    return writer.writerow([_csv_safe(text) for text in texts])


def shared_view_csv(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """The shared rows as CSV (only the shown fields, the view's filter and the visitor's
    search/sort/filter applied), streamed page by page."""
    share = _share_or_404(token)
    if share is None or not share.allow_csv or not shares.is_unlocked(request, share):
        return _not_found(request)
    visit = Visit(request.GET, share)
    try:
        first = visit.page(limit=CSV_PAGE)
    except DomainError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain")

    def rows():
        writer = csv.writer(_Echo())
        yield "\ufeff" + _csv_line(writer, [f.title for f in visit.fields])
        page = first
        while True:
            for row in page:
                yield _csv_line(
                    writer, [raw_text(f, row.get(f.title)) for f in visit.fields]
                )
            cursor = page.page_info.get("next")
            if not cursor:
                return
            page = visit.page(limit=CSV_PAGE, cursor=cursor)

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    name = "".join(c for c in visit.view.title if c.isalnum() or c in " -_")[:60]
    response["Content-Disposition"] = (
        f'attachment; filename="{name.strip() or "view"}.csv"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --------------------------------------------------------------------------------------------
# Thumbnails of attachment cells


def file_ref(share: ViewShare, record_id, field_id: str, file_id) -> str:
    """An opaque, unforgeable name for one file of one row of a shared view: encrypted, so
    the row's key (perhaps a field the view hides) is never shown to visitors."""
    return encrypt_json(
        {"s": share.pk, "r": str(record_id), "f": field_id, "i": str(file_id)}
    )


def shared_view_file(request: HtmxHttpRequest, token: str, ref: str) -> HttpResponse:
    """The thumbnail of an image in a shared view's attachment cell.

    Checked again on every request: the link and its password, the field still shown, the
    row still in the view's filter (a row that left it is 404), the file still in the cell.
    Only pictures are served (images without a thumbnail as themselves); other files are
    not reachable from a shared view.
    """
    share = _share_or_404(token)
    if share is None or not shares.is_unlocked(request, share):
        return HttpResponseNotFound()
    try:
        data = decrypt_json(ref)
        record_id, field_id, file_id = data["r"], data["f"], data["i"]
        if data["s"] != share.pk:
            raise ValueError("another link's file")
    except (ValueError, KeyError, TypeError):
        return HttpResponseNotFound()
    fields = shares.shown_fields(share)
    field = next((f for f in fields if f.id == field_id), None)
    if field is None or not field_type_for(field).holds_files:
        return HttpResponseNotFound()
    keyed = shares.key_actor(share, fields)
    table = share.view.table
    meta = TableMeta.of(table, actor=keyed)
    try:
        values = meta.parse_record_id(record_id)
        where = filters.tree_to_node(
            {
                "type": "group",
                "logic": "and",
                "children": [
                    {"type": "condition", "field": f.id, "op": "eq", "value": str(v)}
                    for f, v in zip(meta.pk, values, strict=True)
                ],
            }
        )
        page = records.list_records(
            table,
            {"fields": field.id, "limit": "1"},
            actor=keyed,
            view=share.view,
            where=where,
        )
        if not page.rows:
            raise NotFound("Row not found.")
        served = attachments.serve_entry(
            table, field, page.rows[0].get(field.title) or [], file_id, thumb=True
        )
    except (DomainError, ValueError):
        return HttpResponseNotFound()
    if not served.inline:
        served.file.close()
        return HttpResponseNotFound()
    return file_response(served)


def _sortable(field) -> bool:
    """A shown field a visitor may sort by (columns and computed fields, by their type)."""
    return field_type_for(field).sortable(field)
