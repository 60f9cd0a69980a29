"""Writes for memberships and API tokens."""

import secrets

from django.db import transaction
from django.utils import timezone

from bases.models import Base
from nocoplatform.errors import InvalidInput, NotFound
from permissions.checks import Actor, role_of
from permissions.models import ApiToken, Membership, Role, hash_token

TOKEN_PREFIX = "nc_"


def membership_create(*, base: Base, user, role: str) -> Membership:
    if role not in Role.values:
        raise InvalidInput(f"Unknown role '{role}'.")
    membership, _ = Membership.objects.update_or_create(
        base=base, user=user, defaults={"role": role}
    )
    return membership


@transaction.atomic
def api_token_create(
    *, user, name: str, base: Base | None = None, read_only: bool = False
) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is shown this once and never again."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput("A token needs a name.", code="INVALID_INPUT")
    if len(name) > 200:
        raise InvalidInput("A token name is at most 200 characters.")
    if base is not None and role_of(Actor(user=user), base) is None:
        raise NotFound("Base not found.", code="BASE_NOT_FOUND")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        token_hash=hash_token(raw),
        prefix=raw[:10],
        base=base,
        read_only=read_only,
    )
    return token, raw


def api_token_revoke(*, user, token_id: int) -> None:
    updated = ApiToken.objects.filter(
        pk=token_id, user=user, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if not updated:
        raise NotFound("Token not found.", code="TOKEN_NOT_FOUND")
