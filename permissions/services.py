"""Writes for memberships, invites, table overrides, field rules and API tokens.

Member rules (the product's promise): owners change roles and remove members; creators invite up
to creator; nobody raises their own role; the last owner of a base can be neither removed nor
demoted. Every service checks `require()` itself, so the API and the pages agree.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit import log as audit
from bases.models import Base, DataSource, Field, Table
from nocoplatform.errors import Conflict, Forbidden, InvalidInput, NotFound
from permissions import authcache, object_perms
from permissions.checks import (
    NO_ACCESS,
    RANK,
    Actor,
    can,
    forget,
    require,
    role_of,
)
from permissions.models import (
    ApiToken,
    FieldRule,
    Invite,
    Membership,
    Role,
    TableRole,
    hash_token,
)
from records import meta_events

TOKEN_PREFIX = "nc_"
INVITE_DAYS = 14


def membership_create(*, base: Base, user, role: str) -> Membership:
    """Make `user` a member (used by base creation and accepted invites; no actor check)."""
    if role not in Role.values:
        raise InvalidInput(f"Unknown role '{role}'.", code="INVALID_ROLE")
    membership, _ = Membership.objects.update_or_create(
        base=base, user=user, defaults={"role": role}
    )
    object_perms.sync_access(user, base)
    forget(user)
    meta_events.access_changed(base.pk)  # after the rights it re-checks are in place
    return membership


def _clean_role(role, allowed=Role.values) -> str:
    if not isinstance(role, str) or role not in allowed:
        raise InvalidInput(
            f"`role` must be one of: {', '.join(allowed)}.", code="INVALID_ROLE"
        )
    return role


def _int_id(value, what: str = "user_id") -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInput(f"`{what}` must be a number.", code="INVALID_PARAMETER")
    if number < 1 or number > 2**62:
        raise InvalidInput(f"`{what}` must be a number.", code="INVALID_PARAMETER")
    return number


def _membership(base: Base, user_id) -> Membership:
    user_id = _int_id(user_id)
    membership = (
        Membership.objects.select_related("user")
        .filter(base=base, user_id=user_id)
        .first()
    )
    if membership is None:
        raise NotFound("Member not found.", code="MEMBER_NOT_FOUND")
    return membership


def _other_owners(base: Base, user_id) -> int:
    return (
        Membership.objects.filter(base=base, role=Role.OWNER)
        .exclude(user_id=user_id)
        .count()
    )


def member_list(*, actor: Actor, base: Base) -> list[Membership]:
    require(actor, "base.read", base)
    return list(
        Membership.objects.filter(base=base)
        .select_related("user")
        .order_by("created_at", "id")
    )


@transaction.atomic
def member_update(*, actor: Actor, base: Base, user_id, role: str) -> Membership:
    """Change a member's role (owners only); nobody raises themselves; one owner must stay."""
    require(actor, "members.manage", base)
    role = _clean_role(role)
    membership = _membership(base, user_id)
    # Lock the owners so two owners demoting each other at once cannot leave none.
    list(Membership.objects.select_for_update().filter(base=base, role=Role.OWNER))
    if membership.user_id == actor.user.pk and RANK[role] > RANK[membership.role]:
        raise Forbidden("You cannot raise your own role.", code="SELF_ESCALATION")
    if (
        membership.role == Role.OWNER
        and role != Role.OWNER
        and not _other_owners(base, membership.user_id)
    ):
        raise Conflict(
            "The last owner of a base cannot be demoted; make someone else owner first.",
            code="LAST_OWNER",
        )
    audit.record(
        actor,
        base,
        "member.role",
        target=membership.user.get_username(),
        target_id=membership.user_id,
        before=membership.role,
        after=role,
    )
    membership.role = role
    membership.save(update_fields=["role"])
    meta_events.access_changed(base.pk)
    object_perms.sync_access(membership.user_id, base)
    forget(membership.user)
    authcache.forget_on_commit()
    return membership


@transaction.atomic
def member_remove(*, actor: Actor, base: Base, user_id) -> None:
    """Owners remove members; anyone may leave. The last owner can do neither."""
    leaving = actor.is_authenticated and str(user_id) == str(actor.user.pk)
    require(actor, "base.read" if leaving else "members.manage", base)
    if leaving and actor.token is not None:
        require(actor, "members.manage", base)  # a token does not leave for its user
    membership = _membership(base, user_id)
    list(Membership.objects.select_for_update().filter(base=base, role=Role.OWNER))
    if membership.role == Role.OWNER and not _other_owners(base, membership.user_id):
        raise Conflict(
            "The last owner of a base cannot be removed; make someone else owner first.",
            code="LAST_OWNER",
        )
    TableRole.objects.filter(user_id=membership.user_id, table__base=base).delete()
    ApiToken.objects.filter(user_id=membership.user_id, base=base).update(
        revoked_at=timezone.now()
    )
    membership.delete()
    audit.record(
        actor,
        base,
        "member.remove",
        target=membership.user.get_username(),
        target_id=membership.user_id,
        role=membership.role,
        left=leaving,
    )
    meta_events.access_changed(base.pk)
    object_perms.sync_access(membership.user_id, base)
    forget(membership.user)
    authcache.forget_on_commit()


# --- invites ---------------------------------------------------------------------------------


def email_configured() -> bool:
    """True when the server can send mail (a backend other than Django's unconfigured SMTP)."""
    backend = settings.EMAIL_BACKEND
    return (
        not (
            backend == "django.core.mail.backends.smtp.EmailBackend"
            and settings.EMAIL_HOST in ("", "localhost")
            and not getattr(settings, "NOCO_SMTP_ENABLED", False)
        )
        and "dummy" not in backend
    )


@transaction.atomic
def invite_create(
    *, actor: Actor, base: Base, email, role: str, accept_url: str = ""
) -> tuple[Invite, str, bool]:
    """Invite someone by email. Returns (invite, secret token, whether an email was sent).

    Owners invite with any role; creators up to creator; nobody above their own role.
    `accept_url` is the link with `{token}` in it; it is emailed when mail is configured,
    otherwise the caller shows it to the inviter.
    """
    require(actor, "members.invite", base)
    role = _clean_role(role)
    email = str(email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(f"'{email}' is not an email address.", code="INVALID_EMAIL")
    own = role_of(actor, base)
    ceiling = RANK["owner"] if can(actor, "members.manage", base) else RANK["creator"]
    if RANK[role] > min(ceiling, RANK[own]):
        raise Forbidden(
            f"Your role ({own}) cannot invite someone as {role}.",
            code="ROLE_TOO_HIGH",
        )
    if Membership.objects.filter(base=base, user__email__iexact=email).exists():
        raise Conflict(f"{email} is already a member.", code="ALREADY_MEMBER")
    raw = secrets.token_urlsafe(32)
    invite = Invite.objects.create(
        base=base,
        email=email,
        role=role,
        token_hash=hash_token(raw),
        invited_by=actor.user,
    )
    audit.record(
        actor, base, "member.invite", target=email, target_id=invite.pk, role=role
    )
    sent = False
    if accept_url and email_configured():
        link = accept_url.format(token=raw)
        transaction.on_commit(
            lambda: send_mail(
                f"You are invited to {base.title}",
                f"{actor.user.email or actor.user} invited you to the base "
                f"'{base.title}' as {role}.\n\nAccept: {link}\n",
                None,
                [email],
                fail_silently=True,
            )
        )
        sent = True
    return invite, raw, sent


def invite_list(*, actor: Actor, base: Base) -> list[Invite]:
    require(actor, "members.invite", base)
    return list(base.invites.filter(accepted_at__isnull=True))


def invite_revoke(*, actor: Actor, base: Base, invite_id) -> None:
    require(actor, "members.invite", base)
    invite_id = _int_id(invite_id, "invite_id")
    invite = base.invites.filter(pk=invite_id, accepted_at__isnull=True).first()
    if invite is None:
        raise NotFound("Invite not found.", code="INVITE_NOT_FOUND")
    invite.delete()
    audit.record(
        actor, base, "member.invite_revoke", target=invite.email, target_id=invite_id
    )


def invite_get(*, raw_token: str) -> Invite:
    invite = (
        Invite.objects.select_related("base", "invited_by")
        .filter(token_hash=hash_token(str(raw_token or "")), accepted_at__isnull=True)
        .first()
    )
    if invite is None or (timezone.now() - invite.created_at).days > INVITE_DAYS:
        raise NotFound(
            "This invite link is not valid (used, revoked or expired).",
            code="INVITE_NOT_FOUND",
        )
    return invite


@transaction.atomic
def invite_accept(*, user, raw_token: str) -> Membership:
    """Join the base with the invite's role. The account's email must be the invited one."""
    invite = invite_get(raw_token=raw_token)
    if (user.email or "").strip().lower() != invite.email:
        raise Forbidden(
            f"This invite is for {invite.email}; sign in with that address.",
            code="INVITE_EMAIL_MISMATCH",
        )
    existing = Membership.objects.filter(base=invite.base, user=user).first()
    if existing is not None and RANK[existing.role] >= RANK[invite.role]:
        membership = existing  # an invite never lowers a role
    else:
        membership = membership_create(base=invite.base, user=user, role=invite.role)
    Invite.objects.filter(pk=invite.pk).update(
        accepted_at=timezone.now(), accepted_by=user
    )
    audit.record(
        Actor(user=user),
        invite.base,
        "member.join",
        target=user.get_username(),
        target_id=user.pk,
        role=membership.role,
        invited_by=invite.invited_by.get_username() if invite.invited_by else "",
    )
    return membership


# --- table overrides and field rules ---------------------------------------------------------


def _bump(source_id) -> None:
    # Field rules are table metadata, cached with it: bump the version so caches reload them.
    DataSource.objects.filter(pk=source_id).update(meta_version=F("meta_version") + 1)
    authcache.forget_on_commit()


def table_role_list(*, actor: Actor, table: Table) -> list[TableRole]:
    require(actor, "members.audit", table.base)
    return list(table.member_roles.select_related("user").order_by("id"))


@transaction.atomic
def table_role_set(*, actor: Actor, table: Table, user_id, role: str) -> TableRole:
    """Raise or lower a member's role for one table ("none": the table is 404 for them)."""
    require(actor, "members.manage", table.base)
    role = _clean_role(role, [c[0] for c in TableRole.ROLE_CHOICES])
    membership = _membership(table.base, user_id)
    if membership.user_id == actor.user.pk and role != NO_ACCESS:
        if RANK[role] > RANK[membership.role]:
            raise Forbidden("You cannot raise your own role.", code="SELF_ESCALATION")
    override, _ = TableRole.objects.update_or_create(
        table=table, user_id=membership.user_id, defaults={"role": role}
    )
    audit.record(
        actor,
        table.base_id,
        "table_role.set",
        target=f"{table.title} · {membership.user.get_username()}",
        target_id=table.pk,
        role=role,
    )
    meta_events.access_changed(table.base_id)
    object_perms.sync_access(membership.user_id, table.base_id)
    forget(membership.user)
    authcache.forget_on_commit()
    return override


@transaction.atomic
def table_role_clear(*, actor: Actor, table: Table, user_id) -> None:
    require(actor, "members.manage", table.base)
    user_id = _int_id(user_id)
    deleted, _ = TableRole.objects.filter(table=table, user_id=user_id).delete()
    if not deleted:
        raise NotFound("No override for this member.", code="OVERRIDE_NOT_FOUND")
    audit.record(
        actor,
        table.base_id,
        "table_role.clear",
        target=table.title,
        target_id=table.pk,
        user_id=user_id,
    )
    meta_events.access_changed(table.base_id)
    object_perms.sync_access(user_id, table.base_id)
    authcache.forget_on_commit()


def field_rule_get(*, actor: Actor, field: Field) -> FieldRule | None:
    require(actor, "members.audit", field.table.base)
    return FieldRule.objects.filter(field=field).first()


@transaction.atomic
def field_rule_set(
    *, actor: Actor, field: Field, hidden_below: str = "", read_only_below: str = ""
) -> FieldRule | None:
    """Hide a field from roles below `hidden_below`, make it read-only below
    `read_only_below` ('' = no limit). Owners only; a primary key is never hidden."""
    require(actor, "members.manage", field.table.base)
    allowed = ["", *Role.values]
    hidden_below = _clean_role(hidden_below or "", allowed)
    read_only_below = _clean_role(read_only_below or "", allowed)
    if hidden_below and field.is_pk:
        raise InvalidInput(
            "A primary key cannot be hidden: rows need it.", code="INVALID_RULE"
        )
    if hidden_below == Role.OWNER.value:
        raise InvalidInput("Owners always see every field.", code="INVALID_RULE")
    if not hidden_below and not read_only_below:
        removed, _ = FieldRule.objects.filter(field=field).delete()
        rule = None
    else:
        removed = 0
        rule, _ = FieldRule.objects.update_or_create(
            field=field,
            defaults={
                "hidden_below": hidden_below,
                "read_only_below": read_only_below,
            },
        )
    _bump(field.table.source_id)
    if rule is not None or removed:  # clearing no rule changes nobody's rights
        meta_events.access_changed(field.table.base_id)
        audit.record(
            actor,
            field.table.base_id,
            "field_rule.set",
            target=f"{field.table.title} › {field.title}",
            target_id=field.pk,
            hidden_below=hidden_below,
            read_only_below=read_only_below,
        )
    return rule


# --- API tokens ------------------------------------------------------------------------------


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
    _token_activity(user, token, "token.create")
    return token, raw


def _token_activity(user, token: ApiToken, action: str) -> None:
    """A token limited to a base is that base's business; one of the whole account reaches
    every base of its user, so each of them notes it."""
    bases = (
        [token.base_id]
        if token.base_id
        else Membership.objects.filter(user=user).values_list("base_id", flat=True)
    )
    for base_id in bases:
        audit.record(
            Actor(user=user),
            base_id,
            action,
            target=f"{token.name} ({token.prefix}…)",
            target_id=token.pk,
            read_only=token.read_only,
            whole_account=token.base_id is None,
        )


def api_token_revoke(*, user, token_id: int) -> None:
    updated = ApiToken.objects.filter(
        pk=token_id, user=user, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if not updated:
        raise NotFound("Token not found.", code="TOKEN_NOT_FOUND")
    _token_activity(user, ApiToken.objects.get(pk=token_id), "token.revoke")
    authcache.forget_on_commit()
