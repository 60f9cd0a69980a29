"""HTML pages of a user's account: sign-up, password change, API tokens.

Thin: parse the form, call a service, render; form-level problems are shown next to the form
with the user's input kept.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST

from bases import selectors
from nocoplatform.errors import DomainError
from permissions.accounts import account_signup
from permissions.forms import CountedPasswordChangeForm, SignupForm, TokenForm
from permissions.middleware import HtmxHttpRequest
from permissions.models import ApiToken
from permissions.services import api_token_create, api_token_revoke


def signup(request: HtmxHttpRequest) -> HttpResponse:
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
def tokens(request: HtmxHttpRequest) -> HttpResponse:
    actor = request.actor
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
        "permissions/tokens.html",
        {"form": form, "tokens": items, "new_token": new_token},
    )


@login_required
@require_POST
def token_revoke(request: HtmxHttpRequest, token_id: int) -> HttpResponse:
    api_token_revoke(user=request.user, token_id=token_id)
    messages.success(request, "Token revoked.")
    return redirect("tokens")
