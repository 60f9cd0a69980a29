"""The one permission check: `can(actor, operation, target)`, target a Base, Table or Field.

Roles are cumulative sets of named operations (the table below). Every page, API endpoint and
service asks this module before touching a base; nothing reads memberships directly.

- A base the actor is not a member of does not exist for them: `require` raises NotFound (404),
  exactly as for a missing base, and Forbidden (403) only for members lacking the operation.
- On a Table, a member's table override (permissions.models.TableRole) replaces their base role;
  "none" makes the table 404 for them.
- On a Field, the table role applies, narrowed by the field's rule (FieldRule): hidden from
  roles below a level (404, like a missing field), read-only for roles below another (403 on
  record writes).
- An API token narrows its user's rights: to one base, and to read operations when read-only.

Lookups are cached on the request's user object (`_noco_perms`) so a page or API request asks
the meta DB once; bases/metacache.py fills the cache from its version query on the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nocoplatform.errors import Forbidden, NotFound

if TYPE_CHECKING:
    from permissions.models import ApiToken

READ = {"base.read", "table.read", "records.read", "views.read"}
COMMENT = READ | {"comments.create"}
EDIT = COMMENT | {"records.update"}
CREATE = EDIT | {
    "records.create",
    "records.delete",
    "records.restore",  # the table's deleted rows (history/trash.py)
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
    "webhooks.read",  # see webhooks, their settings and delivery logs
    "webhooks.manage",
    "members.invite",
    "base.sync",
}
OWN = CREATE | {
    "base.update",
    "base.delete",
    "source.manage",
    "members.manage",
    "members.audit",  # read table overrides and field rules
    "comments.moderate",
}

ROLE_OPERATIONS: dict[str, frozenset[str]] = {
    "owner": frozenset(OWN),
    "creator": frozenset(CREATE),
    "editor": frozenset(EDIT),
    "commenter": frozenset(COMMENT),
    "viewer": frozenset(READ),
}
# What a read-only token keeps (intersected with its user's role, so audit stays owners-only).
READ_ONLY_OPERATIONS = frozenset(READ | {"members.audit", "webhooks.read"})
# Higher is more; used for "up to creator", "read-only below editor" and the like.
RANK = {"viewer": 1, "commenter": 2, "editor": 3, "creator": 4, "owner": 5}
NO_ACCESS = "none"
# Operations that write a field's value (a read-only field refuses them).
FIELD_WRITES = frozenset({"records.create", "records.update"})


@dataclass(frozen=True)
class Actor:
    """A user, possibly acting through an API token that narrows what they may do.

    `SYSTEM` (below) is the server itself (demo data, schema checks): it may do everything.

    A public link (shared view, public form: views/shares.py) acts for the user who made it,
    narrowed further: `fields` (field ids) is all it may see or write, `operations` all it may
    do. Its visitors thus never get more than the link's creator could, nor more than the link
    shows. `share` is that link (views.models.ViewShare): the record history names it, not
    its creator, as the author of what its visitors write.
    """

    user: object
    token: ApiToken | None = None
    system: bool = False
    fields: frozenset | None = None
    operations: frozenset | None = None
    share: object = None

    @property
    def is_authenticated(self) -> bool:
        return bool(
            self.user is not None and getattr(self.user, "is_authenticated", False)
        )


SYSTEM = Actor(user=None, system=True)


def actor_from_request(request) -> Actor:
    token = getattr(request, "auth", None)
    from permissions.models import ApiToken

    return Actor(
        user=getattr(request, "user", None),
        token=token if isinstance(token, ApiToken) else None,
    )


@dataclass
class PermCache:
    """What this request has learnt about its user's roles (lives on the user object)."""

    roles: dict = field(default_factory=dict)  # base id -> role or None
    table_roles: dict = field(default_factory=dict)  # table id -> override or None
    # base id -> True when the user has no override in that base, or all of them are in
    # table_roles (so a missing table id means "no override", without a query).
    overrides_known: set = field(default_factory=set)


def perm_cache(user) -> PermCache:
    cache = getattr(user, "_noco_perms", None)
    if cache is None:
        cache = PermCache()
        try:
            user._noco_perms = cache
        except AttributeError:
            pass
    return cache


def forget(user) -> None:
    """Drop the cached roles (after a membership change on this same user object)."""
    if hasattr(user, "_noco_perms"):
        del user._noco_perms


_models: tuple = ()


def _parts(target):
    """(base id, table or None, field or None) of a Base, Table or Field."""
    global _models
    if not _models:
        from bases.models import Base, Field, Table

        _models = (Base, Field, Table)
    Base, Field, Table = _models
    if isinstance(target, Table):
        return target.base_id, target, None
    if isinstance(target, Field):
        return target.table.base_id, target.table, target
    if isinstance(target, Base):
        return target.pk, None, None
    raise TypeError(f"can() needs a Base, Table or Field, not {type(target).__name__}")


def _base_role(actor: Actor, base_id) -> str | None:
    if not actor.is_authenticated:
        return None
    if actor.token is not None and actor.token.base_id not in (None, base_id):
        return None
    cache = perm_cache(actor.user)
    if base_id not in cache.roles:
        from permissions.models import Membership

        cache.roles[base_id] = (
            Membership.objects.filter(base_id=base_id, user_id=actor.user.pk)
            .values_list("role", flat=True)
            .first()
        )
    return cache.roles[base_id]


def _table_override(actor: Actor, table) -> str | None:
    cache = perm_cache(actor.user)
    if table.pk in cache.table_roles:
        return cache.table_roles[table.pk]
    if table.base_id not in cache.overrides_known:
        from permissions.models import TableRole

        # One query for every override of this user in the base: a page listing tables or a
        # record with links to other tables asks no more.
        found = dict(
            TableRole.objects.filter(
                user_id=actor.user.pk, table__base_id=table.base_id
            ).values_list("table_id", "role")
        )
        cache.table_roles.update(found)
        cache.overrides_known.add(table.base_id)
    return cache.table_roles.get(table.pk)


def role_of(actor: Actor, target) -> str | None:
    """The actor's effective role on a base, table or field; None when it does not exist for them."""
    if actor.system:
        return "owner"
    base_id, table, _ = _parts(target)
    role = _base_role(actor, base_id)
    if role is None or table is None:
        return role
    override = _table_override(actor, table)
    if override == NO_ACCESS:
        return None
    return override or role


def field_rule(field) -> tuple[str, str]:
    """(hidden_below, read_only_below) of a field; '' for no limit. Preloaded by TableMeta."""
    rule = getattr(field, "_noco_rule", None)
    if rule is None:
        from permissions.models import FieldRule

        found = (
            FieldRule.objects.filter(field_id=field.pk)
            .values_list("hidden_below", "read_only_below")
            .first()
        )
        rule = found or ("", "")
        field._noco_rule = rule
    return rule


def field_hidden(field, role: str) -> bool:
    hidden_below = field_rule(field)[0]
    return bool(hidden_below) and RANK[role] < RANK[hidden_below]


def field_read_only(field, role: str) -> bool:
    read_only_below = field_rule(field)[1]
    return bool(read_only_below) and RANK[role] < RANK[read_only_below]


def outside_whitelist(actor: Actor, field) -> bool:
    """A field a public link's actor may not see (not among the fields it shows)."""
    return actor.fields is not None and field.pk not in actor.fields


def allowed_operations(actor: Actor, role: str) -> frozenset[str]:
    allowed = ROLE_OPERATIONS[role]
    if actor.token is not None and actor.token.read_only:
        allowed = allowed & READ_ONLY_OPERATIONS
    if actor.operations is not None:
        allowed = allowed & actor.operations
    return allowed


def _check(actor: Actor, operation: str, target) -> tuple[str | None, object, bool]:
    """(effective role, field or None, allowed) — one role lookup for can() and require()."""
    _, _, field = _parts(target)
    role = role_of(actor, target)
    if role is None or operation not in allowed_operations(actor, role):
        return role, field, False
    if field is not None:
        if field_hidden(field, role) or outside_whitelist(actor, field):
            return role, field, False
        if operation in FIELD_WRITES and field_read_only(field, role):
            return role, field, False
    return role, field, True


def can(actor: Actor, operation: str, target) -> bool:
    if actor.system:
        return True
    return _check(actor, operation, target)[2]


def require(actor: Actor, operation: str, target) -> None:
    """Raise NotFound if the target does not exist for the actor, Forbidden if it may not do this."""
    if actor.system:
        return
    role, field, allowed = _check(actor, operation, target)
    if allowed:
        return
    if role is None:
        if isinstance(target, _models[0]):
            raise NotFound("Base not found.", code="BASE_NOT_FOUND")
        if field is not None:
            raise NotFound("Field not found.", code="FIELD_NOT_FOUND")
        raise NotFound("Table not found.", code="TABLE_NOT_FOUND")
    if field is not None and (
        field_hidden(field, role) or outside_whitelist(actor, field)
    ):
        raise NotFound("Field not found.", code="FIELD_NOT_FOUND")
    if (
        actor.token is not None
        and actor.token.read_only
        and operation in ROLE_OPERATIONS[role]
    ):
        raise Forbidden("This API token is read-only.", code="TOKEN_READ_ONLY")
    if field is not None and operation in FIELD_WRITES:
        raise Forbidden(
            f"'{field.title}' is read-only for you.", code="FIELD_READ_ONLY"
        )
    where = "base" if isinstance(target, _models[0]) else "table"
    raise Forbidden(f"Your role does not allow '{operation}' in this {where}.")


def visible_bases(actor: Actor):
    from bases.models import Base

    if not actor.is_authenticated:
        return Base.objects.none()
    qs = Base.objects.filter(memberships__user_id=actor.user.pk)
    if actor.token is not None and actor.token.base_id:
        qs = qs.filter(pk=actor.token.base_id)
    return qs.distinct()


def visible_tables(actor: Actor, tables) -> list:
    """The tables (of one base) that exist for the actor, in the given order."""
    return [t for t in tables if role_of(actor, t) is not None]
