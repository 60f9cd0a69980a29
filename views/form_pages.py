"""Form views over HTTP: the builder (members) and the public form (anyone with its link).

The public form: GET shows it (defaults, then URL parameters prefill by field id or title;
a field marked "hidden when prefilled" becomes a hidden input); POST checks every field on the
server and shows the form again with field-level messages and the typed values, or creates the
row (views/form_view.py) and answers as configured. Anti-spam: a honeypot input (a filled one
gets a fake success and creates nothing) and NOCO_FORM_RATE_LIMIT submissions per address and
form within NOCO_FORM_RATE_WINDOW seconds.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse

from bases import attachments, records
from bases.fieldtypes import field_type_for
from bases.query.where import Condition
from bases.table_meta import TableMeta
from nocoplatform.clientip import client_address
from nocoplatform.errors import DomainError, NotFound
from nocoplatform.limits import accepts_uploads
from permissions.checks import can
from permissions.middleware import HtmxHttpRequest
from records.writes import insert_rows
from views import form_view, shares
from views.models import View, ViewShare
from views.toolbar import load_view

HONEYPOT = "website_url"  # a name bots like to fill; hidden from people
LINK_RESULTS = 20
LINK_SEARCHES_PER_SUBMISSION = 25  # link searches allowed per allowed submission


# --------------------------------------------------------------------------------------------
# The builder


def _builder_fields(view, meta):
    """Every fillable field with its form settings (in the form's order, then the rest)."""
    cfg = form_view.config(view)
    settings_by_id = {item["id"]: item for item in cfg["fields"]}
    fillable = [f for f in meta.fields if form_view.fillable(f, meta)]
    order = [i["id"] for i in cfg["fields"]]
    fillable.sort(key=lambda f: order.index(f.id) if f.id in order else len(order))
    return [
        {"field": f, "on": f.id in settings_by_id, **settings_by_id.get(f.id, {})}
        for f in fillable
    ]


def _posted_config(post) -> dict:
    data = {
        k: post.get(k, "")
        for k in (
            "title",
            "description",
            "cover_url",
            "submit_text",
            "after",
            "message",
            "redirect_url",
        )
    }
    chosen = []
    for fid in post.getlist("field"):
        if post.get(f"on_{fid}") != "on":
            continue
        try:
            position = int(post.get(f"order_{fid}") or 0)
        except ValueError:
            position = 0
        chosen.append(
            (
                position,
                len(chosen),
                {
                    "id": fid,
                    "label": post.get(f"label_{fid}", ""),
                    "help": post.get(f"help_{fid}", ""),
                    "required": post.get(f"required_{fid}") == "on",
                    "default": post.get(f"default_{fid}", ""),
                    "hidden_prefill": post.get(f"hidden_{fid}") == "on",
                    "show_if": {
                        "field": post.get(f"show_field_{fid}", ""),
                        "op": post.get(f"show_op_{fid}", "filled"),
                        "value": post.get(f"show_value_{fid}", ""),
                    },
                },
            )
        )
    data["fields"] = [item for _, _, item in sorted(chosen, key=lambda c: c[:2])]
    return data


@login_required
def form_builder(request: HtmxHttpRequest, base_id: str, view_id: str) -> HttpResponse:
    base, table, view = load_view(request, base_id, view_id)
    if view.type != View.Type.FORM:
        raise NotFound("This view is not a form.", code="NOT_A_FORM")
    actor = request.actor
    error = ""
    if request.method == "POST":
        try:
            form_view.form_config_save(
                actor=actor, view=view, data=_posted_config(request.POST)
            )
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            error = exc.message
        else:
            return redirect("form_builder", base.pk, view.pk)
    meta = TableMeta.of(table, actor=actor)
    share = ViewShare.objects.filter(view=view).first()
    return render(
        request,
        "views/form_builder.html",
        {
            "base": base,
            "table": table,
            "view": view,
            "cfg": form_view.config(view),
            "rows": _builder_fields(view, meta),
            "error": error,
            "can_update": can(actor, "views.update", table),
            "share": share,
            "back": reverse("table_view", args=[base.pk, table.pk, view.pk]),
        },
        status=400 if error else 200,
    )


# --------------------------------------------------------------------------------------------
# The public form


def _form_share(token: str) -> ViewShare | None:
    try:
        return shares.share_by_token(token, form=True)
    except NotFound:
        return None


def _rate_key(share: ViewShare, address: str) -> str:
    digest = hashlib.sha256(f"{share.pk}|{address}".encode()).hexdigest()[:32]
    return f"noco:form-rate:{digest}"


def _over_rate(
    share: ViewShare, address: str, *, kind: str = "submit", limit: int | None = None
) -> bool:
    """Count this request; True when the address is over its limit for this form."""
    key = _rate_key(share, f"{kind}|{address}")
    window = settings.NOCO_FORM_RATE_WINDOW
    cache.add(key, 0, window)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, window)
        count = 1
    return count > (settings.NOCO_FORM_RATE_LIMIT if limit is None else limit)


def _prefill(request: HtmxHttpRequest, fields) -> None:
    for ff in fields:
        given = request.GET.get(ff.field.id)
        if given is None:
            given = request.GET.get(ff.field.title)
        if given is not None:
            ff.value = given[: form_view.MAX_TEXT]
            ff.hidden = ff.hidden_prefill
        else:
            ff.value = ff.default


def _render(request, share, fields, *, status=200, error="", done=False):
    cfg = form_view.config(share.view)
    asked = form_view.visibility(fields, {ff.field.id: ff.value for ff in fields})
    for ff in fields:
        ff.asked = asked[ff.field.id]
        if field_type_for(ff.field).multiple:
            ff.selected = [v for v in ff.value.split(",") if v]
    return render(
        request,
        "views/public_form.html",
        {
            "share": share,
            "cfg": cfg,
            "description": form_view.simple_markdown(cfg["description"]),
            "message": form_view.simple_markdown(cfg["message"]),
            "cover_url": form_view.safe_url(cfg["cover_url"]),
            "fields": fields,
            "error": error,
            "done": done,
            "honeypot": HONEYPOT,
        },
        status=status,
    )


@accepts_uploads  # attachment fields (nocoplatform/limits.py)
def public_form(request: HtmxHttpRequest, token: str) -> HttpResponse:
    share = _form_share(token)
    if share is None:
        return render(request, "views/public_error.html", status=404)
    creator = shares.creator_actor(share)
    fields = form_view.form_fields(share.view, creator)
    if request.method != "POST":
        _prefill(request, fields)
        return _render(request, share, fields)
    address = client_address(request)
    if _over_rate(share, address):
        form_view.check_submission(
            fields, request.POST, TableMeta.of(share.view.table, actor=creator)
        )
        return _render(
            request,
            share,
            fields,
            status=429,
            error="Too many submissions from your address; please try again later.",
        )
    cfg = form_view.config(share.view)
    if request.POST.get(HONEYPOT):
        return _render(request, share, [], done=True)  # a bot: pretend, create nothing
    meta = TableMeta.of(share.view.table, actor=creator)
    row, ok = form_view.check_submission(fields, request.POST, meta, request.FILES)
    if not ok:
        return _render(
            request,
            share,
            fields,
            status=400,
            error="Please correct the fields marked.",
        )
    stored: list = []
    try:
        for ff in fields:
            if field_type_for(ff.field).holds_files and ff.field.title in row:
                entries = attachments.attachments_store(
                    table=share.view.table, field=ff.field, files=row[ff.field.title]
                )
                stored += entries
                row[ff.field.title] = entries
        insert_rows(
            share.view.table,
            [row],
            actor=shares.form_actor(share, [ff.field for ff in fields]),
            max_rows=1,
        )
    except DomainError as exc:
        attachments.discard(stored)
        if exc.status == 404:
            return render(request, "views/public_error.html", status=404)
        return _render(request, share, fields, status=400, error=exc.message)
    if cfg["after"] == "redirect" and form_view.safe_url(cfg["redirect_url"]):
        return HttpResponseRedirect(form_view.safe_url(cfg["redirect_url"]))
    return _render(request, share, [], done=True)


def public_form_links(
    request: HtmxHttpRequest, token: str, field_id: str
) -> HttpResponse:
    """Options for a link field of the form: the linked table's records whose display field
    matches `q` (that field only; at most LINK_RESULTS)."""
    share = _form_share(token)
    if share is None:
        return HttpResponse(status=404)
    # Searching reveals display values of the linked table: bounded per address as well.
    limit = settings.NOCO_FORM_RATE_LIMIT * LINK_SEARCHES_PER_SUBMISSION
    if _over_rate(share, client_address(request), kind="search", limit=limit):
        return HttpResponse("Too many searches; try again later.", status=429)
    creator = shares.creator_actor(share)
    fields = form_view.form_fields(share.view, creator)
    link = next(
        (
            ff.field
            for ff in fields
            if ff.field.id == field_id and field_type_for(ff.field).is_link
        ),
        None,
    )
    if link is None:
        return HttpResponse(status=404)
    related = link.related_table
    actor = shares.form_actor(share, [ff.field for ff in fields])
    try:
        meta = TableMeta.of(related, actor=actor)
        pv = meta.pv
        ref = meta.internal.by_column.get((link.options or {}).get("ref_column"))
        if pv is None or ref is None:
            return HttpResponse(status=404)
        q = (request.GET.get("q") or "").strip()[:100]
        params = {"fields": [pv.id, ref.id], "limit": str(LINK_RESULTS), "sort": pv.id}
        where = Condition(pv.id, "like", q) if q else None
        page = records.list_records(related, params, actor=actor, where=where)
    except DomainError:
        return HttpResponse(status=404)
    options = [(row.get(ref.title), row.get(pv.title)) for row in page]
    return render(
        request,
        "views/public_form.html#link-options",
        {"options": options, "empty": not options},
    )
