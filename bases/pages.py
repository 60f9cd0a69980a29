"""HTML pages of bases: home (the bases list), a new base, a base, its data-source settings,
schema sync and API docs.

Thin: parse the form, call a service or selector, render. Domain errors raised here become a
friendly error page (nocoplatform.errors.DomainErrorMiddleware); form-level problems are shown
next to the form with the user's input kept. htmx fragments (the connection test, the schema
diff) are partials of their page's template.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from bases import erd, netpolicy, schema_services, selectors, services
from bases.forms import BaseForm, SourceSettingsForm, TableForm
from bases.sources import config_of
from nocoplatform import csp
from nocoplatform.errors import DomainError, Forbidden
from permissions.checks import can, role_of
from permissions.middleware import HtmxHttpRequest


@login_required
def home(request: HtmxHttpRequest) -> HttpResponse:
    """The bases the user can see, each with its table count, database kind and the user's role."""
    actor = request.actor
    bases = (
        selectors.base_list(actor=actor)
        .annotate(table_count=Count("tables", filter=Q(tables__is_junction=False)))
        .prefetch_related("sources")
    )
    cards = []
    for base in bases:
        source = min(base.sources.all(), key=lambda s: s.created_at, default=None)
        cards.append(
            {
                "base": base,
                "tables": base.table_count,
                "source": source,
                "role": role_of(actor, base),
            }
        )
    return render(request, "bases/home.html", {"cards": cards})


@login_required
def base_new(request: HtmxHttpRequest) -> HttpResponse:
    form = BaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            config = form.connection_config()
            actor = request.actor
            if config is None:
                base = services.base_create(
                    actor=actor, title=form.cleaned_data["title"]
                )
            else:
                base, changes = services.base_connect(
                    actor=actor,
                    title=form.cleaned_data["title"],
                    config=config,
                    allow_data_edit=form.cleaned_data["allow_data_edit"],
                    allow_schema_edit=form.cleaned_data["allow_schema_edit"],
                )
                messages.success(
                    request, f"Connected: {base.tables.count()} tables and views found."
                )
            return redirect("base", base_id=base.pk)
        except DomainError as exc:
            form.add_error(None, exc.message)
    return render(request, "bases/base_new.html", {"form": form})


@login_required
@require_POST
def connection_test(request: HtmxHttpRequest) -> HttpResponse:
    """htmx: test the connection details typed so far, without saving anything."""
    form = BaseForm(request.POST)
    ok, message = False, "Fill in the connection details."
    if form.is_valid():
        try:
            config = form.connection_config()
            if config is None:
                message = "A base from scratch needs no connection."
                ok = True
            else:
                netpolicy.connection_check(actor=request.actor, config=config)
                ok, message = True, "Connected successfully."
        except DomainError as exc:
            message = f"{exc.message} ({exc.code})"
    else:
        message = "; ".join(f"{k}: {', '.join(v)}" for k, v in form.errors.items())
    return render(
        request, "bases/base_new.html#connection-result", {"ok": ok, "message": message}
    )


def base_context(
    request: HtmxHttpRequest, base_id: str, operation: str = "base.read"
) -> dict:
    actor = request.actor
    base = selectors.base_get(actor=actor, base_id=base_id, operation=operation)
    tables = selectors.table_list(actor=actor, base=base)
    return {
        "base": base,
        "tables": tables,
        "source": base.sources.order_by("created_at").first(),
        "role": role_of(actor, base),
        "can_schema": can(actor, "table.create", base),
        "can_manage": can(actor, "source.manage", base),
        "can_sync": can(actor, "base.sync", base),
        "can_invite": can(actor, "members.invite", base),
    }


@login_required
def base_page(request: HtmxHttpRequest, base_id: str) -> HttpResponse:
    ctx = base_context(request, base_id)
    table_form = TableForm(request.POST or None)
    if request.method == "POST":
        if not ctx["can_schema"]:
            # The form is not shown to this user; a hand-made POST is refused, not half-shown.
            raise Forbidden("Your role does not allow creating tables in this base.")
        if table_form.is_valid():
            try:
                table = schema_services.table_create(
                    actor=request.actor,
                    base=ctx["base"],
                    title=table_form.cleaned_data["title"],
                )
                return redirect("table", base_id=base_id, table_id=table.pk)
            except DomainError as exc:
                table_form.add_error("title", exc.message)
    ctx["table_form"] = table_form
    return render(request, "bases/base.html", ctx)


@login_required
@require_POST
def field_delete(request: HtmxHttpRequest, base_id: str, field_id: str) -> HttpResponse:
    field = selectors.field_get(actor=request.actor, field_id=field_id)
    schema_services.field_delete(actor=request.actor, field=field)
    messages.success(request, f"Field '{field.title}' deleted.")
    return redirect("table", base_id=base_id, table_id=field.table_id)


@login_required
def source_settings(request: HtmxHttpRequest, base_id: str) -> HttpResponse:
    ctx = base_context(request, base_id)
    base = ctx["base"]
    source = base.sources.order_by("created_at").first()
    form = SourceSettingsForm(
        None if request.POST.get("action") == "replicas" else request.POST or None,
        initial={
            "allow_data_edit": source.allow_data_edit,
            "allow_schema_edit": source.allow_schema_edit,
        },
    )
    replicas_error, replicas_typed = "", ""
    if request.method == "POST" and request.POST.get("action") == "replicas":
        if not ctx["can_manage"]:
            raise Forbidden("Only owners change data-source settings.")
        replicas_typed = request.POST.get("replicas", "")[:10_000]
        try:
            services.source_update(
                actor=request.actor, source=source, replicas=replicas_typed.splitlines()
            )
            messages.success(request, "Read replicas saved.")
            return redirect("source_settings", base_id=base_id)
        except DomainError as exc:
            replicas_error = exc.message
    elif request.method == "POST":
        if not ctx["can_manage"]:
            raise Forbidden("Only owners change data-source settings.")
        if form.is_valid():
            services.source_update(
                actor=request.actor,
                source=source,
                allow_data_edit=form.cleaned_data["allow_data_edit"],
                allow_schema_edit=form.cleaned_data["allow_schema_edit"],
            )
            messages.success(request, "Settings saved.")
            return redirect("source_settings", base_id=base_id)
    ctx.update(
        {
            "source": source,
            "config": {} if source.is_builtin else config_of(source).public(),
            "form": form,
            "show_replicas": not source.is_builtin and source.kind == "pg",
            "max_lag": settings.NOCO_REPLICA_MAX_LAG,
            "replicas_error": replicas_error,
            "replicas_typed": replicas_typed,
        }
    )
    return render(request, "bases/source_settings.html", ctx)


@login_required
def sync_diff(request: HtmxHttpRequest, base_id: str) -> HttpResponse:
    """htmx: the schema diff, with an Apply button; POST applies it."""
    actor = request.actor
    base = selectors.base_get(actor=actor, base_id=base_id, operation="base.sync")
    apply = request.method == "POST"
    changes = services.base_sync(actor=actor, base=base, apply=apply)
    return render(
        request,
        "bases/source_settings.html#sync-diff",
        {"base": base, "changes": changes, "applied": apply},
    )


@login_required
def swagger(request: HtmxHttpRequest, base_id: str) -> HttpResponse:
    ctx = base_context(request, base_id)
    ctx["spec_url"] = f"/api/v2/meta/bases/{base_id}/swagger.json"
    return render(request, "bases/swagger.html", ctx)


@login_required
def erd_page(request: HtmxHttpRequest, base_id: str) -> HttpResponse:
    """The base's tables and links as a diagram (only what the user may see)."""
    ctx = base_context(request, base_id)
    diagram = erd.diagram(ctx["base"], actor=request.actor)
    for box in diagram["tables"]:
        box["url"] = reverse("table", args=[base_id, box["id"]])
    ctx["diagram"] = diagram
    return render(request, "bases/erd.html", ctx)


@login_required
def graphiql(request: HtmxHttpRequest, base_id: str) -> HttpResponse:
    """GraphiQL on the base's GraphQL endpoint (assets from the npm packages, served here)."""
    ctx = base_context(request, base_id)
    ctx["endpoint"] = f"/api/v2/bases/{base_id}/graphql"
    response = render(request, "bases/graphiql.html", ctx)
    # GraphiQL's stylesheet embeds its fonts as data: URLs; this page alone allows them.
    response[csp.HEADER] = csp.policy(request, allow={"font-src": ["data:"]})
    return response
