"""The sign-in pages of OpenID Connect providers: start (redirect to the provider) and the
callback it sends the browser back to (permissions/oidc.py)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET

from permissions import oidc
from permissions.external import IdentityRefused, identity_user

log = logging.getLogger(__name__)
NEXT_KEY = "noco_oidc_next"


def _provider(name: str) -> oidc.Provider:
    provider = oidc.providers().get(name)
    if provider is None:
        raise Http404("No such sign-in provider.")
    return provider


def _refuse(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    return render(
        request,
        "registration/login.html",
        {"oidc_error": message, "next": request.session.get(NEXT_KEY, "")},
        status=status,
    )


@require_GET
def oidc_login(request: HttpRequest, provider: str) -> HttpResponse:
    p = _provider(provider)
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    request.session[NEXT_KEY] = next_url
    callback = request.build_absolute_uri(reverse("oidc_callback", args=[p.name]))
    try:
        oidc.metadata(p)
        # Authlib makes state, nonce and the PKCE verifier and keeps them in the session.
        return oidc.client(p).authorize_redirect(request, callback)
    except oidc.OidcError as exc:
        return _refuse(request, str(exc), status=502)
    except Exception as exc:  # noqa: BLE001 - network, HTTP or JSON failure of the provider
        log.warning("OIDC provider %s unreachable: %s", p.name, exc)
        return _refuse(
            request, f"{p.label} cannot be reached right now; try again later.", 502
        )


@require_GET
def oidc_callback(request: HttpRequest, provider: str) -> HttpResponse:
    p = _provider(provider)
    try:
        oidc.metadata(p)
        token = oidc.client(p).authorize_access_token(request)
    except Exception as exc:  # noqa: BLE001 - Authlib, joserfc, requests: all a failed sign-in
        log.info("OIDC sign-in with %s failed: %s", p.name, exc)
        return _refuse(request, f"Signing in with {p.label} failed; try again.")
    claims = token.get("userinfo")
    if not claims:  # no ID token, or the flow had no nonce: not an OpenID sign-in
        return _refuse(request, f"{p.label} did not send an ID token.")
    email = claims.get("email") if isinstance(claims.get("email"), str) else ""
    verified = claims.get("email_verified") is True
    if not email or not verified:
        return _refuse(request, f"{p.label} did not confirm a verified email address.")
    if not p.allows(email):
        return _refuse(
            request, f"Accounts of {email.rpartition('@')[2]} cannot sign in."
        )
    try:
        with transaction.atomic():
            user, created = identity_user(
                issuer=p.issuer,
                subject=str(claims["sub"]),
                email=email,
                email_verified=verified,
                link_by_email=True,
                create=p.create_users,
            )
            if created and p.default_base:
                _join_default_base(p, user)
    except IdentityRefused as exc:
        return _refuse(request, exc.message, status=403)
    next_url = request.session.pop(NEXT_KEY, "") or settings.LOGIN_REDIRECT_URL
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, f"Signed in with {p.label}.")
    return redirect(next_url)


def _join_default_base(p: oidc.Provider, user) -> None:
    from bases.models import Base
    from permissions.models import Membership
    from permissions.services import membership_create

    base = Base.objects.filter(pk=p.default_base).first()
    if base is None:
        log.warning("OIDC provider %s: default_base %s missing", p.name, p.default_base)
        return
    if not Membership.objects.filter(base=base, user=user).exists():
        membership_create(base=base, user=user, role=p.default_role)
