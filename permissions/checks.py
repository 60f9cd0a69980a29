"""The one permission check: `can(actor, operation, target)`.

Roles are cumulative sets of named operations (the table below). Every page, API endpoint and
service asks this module before touching a base; nothing reads memberships directly.
A base the actor is not a member of does not exist for them: `require` raises NotFound (404),
exactly as for a missing base, and Forbidden (403) only for members lacking the operation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from nocoplatform.errors import Forbidden, NotFound

if TYPE_CHECKING:
    from bases.models import Base
    from permissions.models import ApiToken

READ = {"base.read", "table.read", "records.read", "views.read"}
COMMENT = READ | {"comments.create"}
EDIT = COMMENT | {"records.update"}
CREATE = EDIT | {
    "records.create",
    "records.delete",
    "table.create",
    "table.update",
    "table.delete",
    "fields.create",
    "fields.update",
    "fields.delete",
    "views.create",
    "views.update",
    "views.delete",
    "views.share",
    "webhooks.manage",
    "members.invite",
    "base.sync",
}
OWN = CREATE | {"base.update", "base.delete", "source.manage", "members.manage"}

ROLE_OPERATIONS: dict[str, frozenset[str]] = {
    "owner": frozenset(OWN),
    "creator": frozenset(CREATE),
    "editor": frozenset(EDIT),
    "commenter": frozenset(COMMENT),
    "viewer": frozenset(READ),
}
READ_ONLY_OPERATIONS = frozenset(READ)


@dataclass(frozen=True)
class Actor:
    """A user, possibly acting through an API token that narrows what they may do."""

    user: object
    token: ApiToken | None = None

    @property
    def is_authenticated(self) -> bool:
        return bool(
            self.user is not None and getattr(self.user, "is_authenticated", False)
        )


def actor_from_request(request) -> Actor:
    token = getattr(request, "auth", None)
    from permissions.models import ApiToken

    return Actor(
        user=getattr(request, "user", None),
        token=token if isinstance(token, ApiToken) else None,
    )


def role_of(actor: Actor, base: Base) -> str | None:
    if not actor.is_authenticated:
        return None
    if actor.token is not None and actor.token.base_id not in (None, base.pk):
        return None
    cache = getattr(actor.user, "_noco_roles", None)
    if cache is None:
        cache = {}
        try:
            actor.user._noco_roles = cache
        except AttributeError:
            pass
    if base.pk not in cache:
        from permissions.models import Membership

        cache[base.pk] = (
            Membership.objects.filter(base_id=base.pk, user_id=actor.user.pk)
            .values_list("role", flat=True)
            .first()
        )
    return cache[base.pk]


def can(actor: Actor, operation: str, base: Base) -> bool:
    role = role_of(actor, base)
    if role is None:
        return False
    allowed = ROLE_OPERATIONS[role]
    if actor.token is not None and actor.token.read_only:
        allowed = allowed & READ_ONLY_OPERATIONS
    return operation in allowed


def require(actor: Actor, operation: str, base: Base) -> None:
    """Raise NotFound if the base does not exist for the actor, Forbidden if it may not do this."""
    if role_of(actor, base) is None:
        raise NotFound("Base not found.", code="BASE_NOT_FOUND")
    if not can(actor, operation, base):
        if (
            actor.token is not None
            and actor.token.read_only
            and operation in ROLE_OPERATIONS[role_of(actor, base)]
        ):
            raise Forbidden("This API token is read-only.", code="TOKEN_READ_ONLY")
        raise Forbidden(f"Your role does not allow '{operation}' in this base.")


def visible_bases(actor: Actor):
    from bases.models import Base

    if not actor.is_authenticated:
        return Base.objects.none()
    qs = Base.objects.filter(memberships__user_id=actor.user.pk)
    if actor.token is not None and actor.token.base_id:
        qs = qs.filter(pk=actor.token.base_id)
    return qs.distinct()
