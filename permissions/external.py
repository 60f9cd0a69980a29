"""Users of external identity providers as platform users: one link per (issuer, subject).

Shared by Bearer JWTs (permissions/jwt_auth.py) and OpenID Connect sign-in
(permissions/oidc.py). An identity is linked to an existing account only through an email the
provider says it verified; otherwise a new account is made (when the provider's settings allow
it), which is a member of no base and so sees nothing until someone invites it.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from permissions.models import ExternalIdentity


class IdentityRefused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def user_for_identity(**kwargs):
    """The platform user of `subject` at `issuer` (see identity_user)."""
    return identity_user(**kwargs)[0]


def identity_user(
    *,
    issuer: str,
    subject: str,
    email: str | None,
    email_verified: bool,
    link_by_email: bool,
    create: bool,
):
    """(user, created) for `subject` at `issuer`: the user linked before, or linked now by
    verified email (when `link_by_email`), or created (when `create`). Raises
    IdentityRefused."""
    link = (
        ExternalIdentity.objects.select_related("user")
        .filter(issuer=issuer, subject=subject)
        .first()
    )
    created = False
    if link is not None:
        user = link.user
    else:
        user, created = _find_or_create(
            issuer=issuer,
            subject=subject,
            email=(email or "").strip(),
            email_verified=email_verified,
            link_by_email=link_by_email,
            create=create,
        )
    if not user.is_active:
        raise IdentityRefused("ACCOUNT_DISABLED", "This account is disabled.")
    return user, created


def _find_or_create(*, issuer, subject, email, email_verified, link_by_email, create):
    model = get_user_model()
    user, created = None, False
    if link_by_email:
        if not email or not email_verified:
            raise IdentityRefused(
                "EMAIL_NOT_VERIFIED",
                "The identity provider did not give a verified email address.",
            )
        user = model._default_manager.filter(email__iexact=email).order_by("pk").first()
    if user is None:
        if not create:
            raise IdentityRefused(
                "UNKNOWN_USER", "No account is linked to this identity."
            )
        # A verified email names the new account; otherwise the subject at the issuer does
        # (an unverified email is no one's name).
        usable = email if email and email_verified else ""
        username = (usable or f"{subject}@{_host(issuer)}")[:150]
        try:
            with transaction.atomic():
                user = model._default_manager.create_user(
                    username=username, email=usable, password=None
                )
                created = True
        except IntegrityError:
            raise IdentityRefused(
                "ACCOUNT_EXISTS",
                "An account with this name exists and cannot be linked to this identity.",
            )
    try:
        with transaction.atomic():
            ExternalIdentity.objects.create(
                issuer=issuer, subject=subject, user=user, email=email[:254]
            )
    except IntegrityError:
        # Linked by a concurrent request in the meantime: theirs stands.
        user = ExternalIdentity.objects.get(issuer=issuer, subject=subject).user
        created = False
    return user, created


def _host(issuer: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(issuer).hostname or "external"
