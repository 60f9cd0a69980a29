"""Signing in and signing up: the limits on wrong passwords, and a sign-up that does not tell
whether an address has an account.

Wrong passwords are counted by django-axes (settings: NOCO_LOGIN_*, docs/security.md) per
account and per address (nocoplatform.clientip). The login pages reach it through Django's
`authenticate`; other pages that check a password call `password_check_allowed` before and
`password_check_failed` after a wrong one, so they share the same counts and the same lock.
"""

from __future__ import annotations

import math
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.signals import user_login_failed
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

# --- django-axes hooks (AXES_USERNAME_CALLABLE, AXES_LOCKOUT_CALLABLE) -----------------------


def lockout_username(
    request: HttpRequest, credentials: dict | None = None
) -> str | None:
    """The name a try is counted under: trimmed and lower-cased, so `Ada@X.com ` and
    `ada@x.com` share one count (sign-up stores addresses lower-cased, and a MySQL meta DB
    matches names regardless of case); at most 255 characters (the column's size)."""
    if credentials:
        value = credentials.get("username")
    else:
        value = request.POST.get("username") if request.method == "POST" else None
    if value is None:
        return None
    return str(value).strip().lower()[:255]


def _lock_ends(request: HttpRequest, credentials: dict | None) -> datetime:
    """When signing in is possible again: for each count that is at the limit, the moment
    enough of its failures are older than the lock time."""
    from axes.handlers.proxy import AxesProxyHandler
    from axes.helpers import get_client_parameters, get_cool_off, get_failure_limit
    from axes.models import AccessAttempt

    AxesProxyHandler.update_request(request)
    cool_off = get_cool_off(request)
    limit = get_failure_limit(request, credentials)
    now = timezone.now()
    ends = now
    for filters in get_client_parameters(
        lockout_username(request, credentials),
        request.axes_ip_address,
        request.axes_user_agent,
        request,
        credentials,
    ):
        rows = list(
            AccessAttempt.objects.filter(attempt_time__gte=now - cool_off, **filters)
            .order_by("attempt_time")
            .values_list("attempt_time", "failures_since_start")
        )
        total = sum(n for _, n in rows)
        for at, n in rows:
            if total < limit:
                break
            total -= n
            ends = max(ends, at + cool_off)
    return ends if ends > now else now + cool_off


def lockout_response(request: HttpRequest, *args) -> HttpResponse:
    """The 429 page: what happened and when to try again (also as Retry-After).

    axes calls this as (request, response, credentials) or, from its async middleware,
    (request, credentials); the credentials it saved on the request are used either way.
    """
    credentials = getattr(request, "axes_credentials", None)
    if credentials is None:
        credentials = next((a for a in args if isinstance(a, dict)), None)
    ends = _lock_ends(request, credentials)
    seconds = max(1, math.ceil((ends - timezone.now()).total_seconds()))
    response = render(
        request,
        "registration/locked_out.html",
        {"retry_at": ends, "minutes": math.ceil(seconds / 60)},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response


# --- other pages that check a password -------------------------------------------------------


def password_check_allowed(request: HttpRequest, user) -> bool:
    """False when the account or the address is locked: the caller must not check the
    password, and AxesMiddleware answers with the lockout page."""
    from axes.handlers.proxy import AxesProxyHandler

    credentials = {"username": user.get_username()}
    if AxesProxyHandler.is_allowed(request, credentials):
        return True
    request.axes_locked_out = True
    request.axes_credentials = credentials
    return False


def password_check_failed(request: HttpRequest, user) -> None:
    """Count a wrong password for `user` as a failed sign-in (django-axes listens to this
    signal); at the limit it marks the request locked and the lockout page answers."""
    user_login_failed.send(
        sender=__name__, credentials={"username": user.get_username()}, request=request
    )


# --- sign-up -------------------------------------------------------------------------------


def account_signup(*, email: str, password: str) -> None:
    """Create an account for `email` unless the address (or a username equal to it) is
    taken; return the same (nothing) either way, so the caller's answer cannot differ.

    The taken path hashes the password too: creating an account hashes it, and a path that
    skipped the slow hash would be told apart by its time.
    """
    email = email.strip().lower()
    users = get_user_model().objects
    if users.filter(Q(email__iexact=email) | Q(username__iexact=email)).exists():
        make_password(password)
        return
    try:
        with transaction.atomic():
            users.create_user(username=email, email=email, password=password)
    except IntegrityError:
        pass  # the same address signed up a moment ago by another request: same answer
