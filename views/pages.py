"""HTML pages: accounts, home, base, table, data-source settings, API tokens.

Thin: parse the form, call a service or selector, render. Domain errors raised here become a
friendly error page (nocoplatform.errors.DomainErrorMiddleware); form-level problems are shown
next to the form with the user's input kept.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST

from bases import netpolicy, schema_services, selectors, services
from bases.sources import config_of
from nocoplatform.errors import DomainError, Forbidden
from permissions.accounts import account_signup
from permissions.checks import Actor, can, role_of
from permissions.models import ApiToken
from permissions.services import api_token_create, api_token_revoke
from views.forms import (
    BaseForm,
    CountedPasswordChangeForm,
    SignupForm,
    SourceSettingsForm,
    TableForm,
    TokenForm,
)


def _actor(request: HttpRequest) -> Actor:
    return Actor(user=request.user)


def signup(request: HttpRequest) -> HttpResponse:
    """Sign-up answers the same whether or not the address has an account (docs/security.md,
    "Sign-in, sign-up and client addresses"): both go to the login page with one message, and
    neither signs in (signing in a new address at once would tell it apart from a taken one)."""
    if not settings.NOCO_SIGNUP_ENABLED:
        raise Http404("Sign-up is switched off on this server.")
    form = SignupForm(
        request.POST or None, initial={"email": request.GET.get("email", "")}
    )
    # `next`: back to an invite link after signing up (only a path on this site).
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        account_signup(email=email, password=form.cleaned_data["password1"])
        messages.info(
            request,
            f"If {email} had no account yet, it has one now: log in with it and the "
            "password you chose. If it had one already, log in with that account's password.",
        )
        query = {"username": email, **({"next": next_url} if next_url else {})}
        return redirect(f"{reverse('login')}?{urlencode(query)}")
    return render(request, "registration/signup.html", {"form": form, "next": next_url})


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's, with wrong old passwords counted towards the sign-in limits."""

    form_class = CountedPasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The bases the user can see, each with its table count, database kind and the user's role."""
    from django.db.models import Count, Q

    actor = _actor(request)
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
    return render(request, "views/home.html", {"cards": cards})


@login_required
def base_new(request: HttpRequest) -> HttpResponse:
    form = BaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            config = form.connection_config()
            actor = _actor(request)
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
    return render(request, "views/base_new.html", {"form": form})


@login_required
@require_POST
def connection_test(request: HttpRequest) -> HttpResponse:
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
                netpolicy.connection_check(actor=_actor(request), config=config)
                ok, message = True, "Connected successfully."
        except DomainError as exc:
            message = f"{exc.message} ({exc.code})"
    else:
        message = "; ".join(f"{k}: {', '.join(v)}" for k, v in form.errors.items())
    return render(
        request, "views/partials/connection_result.html", {"ok": ok, "message": message}
    )


def _base_context(
    request: HttpRequest, base_id: str, operation: str = "base.read"
) -> dict:
    actor = _actor(request)
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
def base_page(request: HttpRequest, base_id: str) -> HttpResponse:
    ctx = _base_context(request, base_id)
    table_form = TableForm(request.POST or None)
    if request.method == "POST":
        if not ctx["can_schema"]:
            # The form is not shown to this user; a hand-made POST is refused, not half-shown.
            raise Forbidden("Your role does not allow creating tables in this base.")
        if table_form.is_valid():
            try:
                table = schema_services.table_create(
                    actor=_actor(request),
                    base=ctx["base"],
                    title=table_form.cleaned_data["title"],
                )
                return redirect("table", base_id=base_id, table_id=table.pk)
            except DomainError as exc:
                table_form.add_error("title", exc.message)
    ctx["table_form"] = table_form
    return render(request, "views/base.html", ctx)


@login_required
@require_POST
def field_delete(request: HttpRequest, base_id: str, field_id: str) -> HttpResponse:
    field = selectors.field_get(actor=_actor(request), field_id=field_id)
    schema_services.field_delete(actor=_actor(request), field=field)
    messages.success(request, f"Field '{field.title}' deleted.")
    return redirect("table", base_id=base_id, table_id=field.table_id)


@login_required
def source_settings(request: HttpRequest, base_id: str) -> HttpResponse:
    ctx = _base_context(request, base_id)
    base = ctx["base"]
    source = base.sources.order_by("created_at").first()
    form = SourceSettingsForm(
        request.POST or None,
        initial={
            "allow_data_edit": source.allow_data_edit,
            "allow_schema_edit": source.allow_schema_edit,
        },
    )
    if request.method == "POST":
        if not ctx["can_manage"]:
            raise Forbidden("Only owners change data-source settings.")
        if form.is_valid():
            services.source_update(
                actor=_actor(request),
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
        }
    )
    return render(request, "views/source_settings.html", ctx)


@login_required
def sync_diff(request: HttpRequest, base_id: str) -> HttpResponse:
    """htmx: the schema diff, with an Apply button; POST applies it."""
    actor = _actor(request)
    base = selectors.base_get(actor=actor, base_id=base_id, operation="base.sync")
    apply = request.method == "POST"
    changes = services.base_sync(actor=actor, base=base, apply=apply)
    return render(
        request,
        "views/partials/sync_diff.html",
        {"base": base, "changes": changes, "applied": apply},
    )


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    bases = list(selectors.base_list(actor=actor))
    form = TokenForm(request.POST or None, bases=bases)
    new_token = None
    if request.method == "POST" and form.is_valid():
        base = next((b for b in bases if b.pk == form.cleaned_data["base"]), None)
        try:
            _, new_token = api_token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                base=base,
                read_only=form.cleaned_data["read_only"],
            )
            form = TokenForm(bases=bases)
        except DomainError as exc:
            form.add_error(None, exc.message)
    items = ApiToken.objects.filter(
        user=request.user, revoked_at__isnull=True
    ).select_related("base")
    return render(
        request,
        "views/tokens.html",
        {"form": form, "tokens": items, "new_token": new_token},
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    api_token_revoke(user=request.user, token_id=token_id)
    messages.success(request, "Token revoked.")
    return redirect("tokens")


@login_required
def swagger(request: HttpRequest, base_id: str) -> HttpResponse:
    ctx = _base_context(request, base_id)
    ctx["spec_url"] = f"/api/v2/meta/bases/{base_id}/swagger.json"
    return render(request, "views/swagger.html", ctx)
