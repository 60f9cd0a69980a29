"""Base and table roles mirrored as django-guardian object permissions.

The store stays Membership (base role) and TableRole (table override): the runtime check
(permissions/checks.py) reads them through the per-request cache and bases/metacache.py's one
indexed lookup, so requests cost what they did. Guardian holds a mirror, so that
`guardian.shortcuts.get_perms(user, base)`, `get_objects_for_user(user, "bases.read_base")` and
the admin's object-permission pages (bases/admin.py) tell the truth:

- on a Base, the member's base role as the capability permissions below;
- on every Table of the base, the effective table role (the override, else the base role;
  "none" gives no permission at all).

A role holds a permission when the role's operations (checks.ROLE_OPERATIONS) include the
permission's operation, so this table cannot disagree with the one that decides.

Every service that writes a Membership or a TableRole, or adds tables to a base, calls
`sync_access` / `sync_base` in its transaction; rows of deleted bases, tables and users go with
them (foreign keys: permissions.models.BaseUserObjectPermission / TableUserObjectPermission).
`drift()` compares the store with guardian (tests, `manage.py guardian_drift`).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Permission

from permissions.checks import NO_ACCESS, ROLE_OPERATIONS

# codename -> the operation a role must allow to hold it (Meta.permissions in bases/models.py).
BASE_PERMISSIONS = {
    "read_base": "base.read",
    "comment_base": "comments.create",
    "edit_base_records": "records.update",
    "build_base": "fields.create",
    "manage_base": "members.manage",
}
TABLE_PERMISSIONS = {
    "read_table": "table.read",
    "comment_table": "comments.create",
    "edit_table_records": "records.update",
    "build_table": "fields.create",
}


def base_perms(role: str | None) -> frozenset[str]:
    """The guardian codenames on a Base for a base role (None: not a member)."""
    if role is None:
        return frozenset()
    ops = ROLE_OPERATIONS[role]
    return frozenset(c for c, op in BASE_PERMISSIONS.items() if op in ops)


def table_perms(base_role: str | None, override: str | None = None) -> frozenset[str]:
    """The guardian codenames on a Table for a base role and the member's table override."""
    if base_role is None or override == NO_ACCESS:
        return frozenset()
    ops = ROLE_OPERATIONS[override or base_role]
    return frozenset(c for c, op in TABLE_PERMISSIONS.items() if op in ops)


def _permission_ids() -> dict[tuple[str, str], int]:
    """(model, codename) -> Permission id, one query (not cached: a test flush renumbers)."""
    rows = Permission.objects.filter(
        content_type__app_label="bases",
        content_type__model__in=("base", "table"),
        codename__in=[*BASE_PERMISSIONS, *TABLE_PERMISSIONS],
    ).values_list("content_type__model", "codename", "id")
    return {(model, code): pk for model, code, pk in rows}


def _plan(base_id, user_ids: Iterable | None = None):
    """(rows to delete by model, rows to create by model) bringing guardian to the store.

    Rows are (user_id, object id, permission id); `user_ids` None means every user who is a
    member of the base or holds a guardian row on it.
    """
    from bases.models import Table
    from permissions.models import (
        BaseUserObjectPermission,
        Membership,
        TableRole,
        TableUserObjectPermission,
    )

    members = Membership.objects.filter(base_id=base_id)
    overrides = TableRole.objects.filter(table__base_id=base_id)
    have_base = BaseUserObjectPermission.objects.filter(content_object_id=base_id)
    have_table = TableUserObjectPermission.objects.filter(
        content_object__base_id=base_id
    )
    if user_ids is not None:
        user_ids = list(user_ids)
        members = members.filter(user_id__in=user_ids)
        overrides = overrides.filter(user_id__in=user_ids)
        have_base = have_base.filter(user_id__in=user_ids)
        have_table = have_table.filter(user_id__in=user_ids)
    roles = dict(members.values_list("user_id", "role"))
    override_of = {
        (u, t): r for u, t, r in overrides.values_list("user_id", "table_id", "role")
    }
    table_ids = list(Table.objects.filter(base_id=base_id).values_list("pk", flat=True))
    perm = _permission_ids()

    want_base = {
        (user_id, base_id, perm["base", code])
        for user_id, role in roles.items()
        for code in base_perms(role)
    }
    want_table = {
        (user_id, table_id, perm["table", code])
        for user_id, role in roles.items()
        for table_id in table_ids
        for code in table_perms(role, override_of.get((user_id, table_id)))
    }
    plan_delete, plan_create = {}, {}
    for model, have_qs, want in (
        (BaseUserObjectPermission, have_base, want_base),
        (TableUserObjectPermission, have_table, want_table),
    ):
        have = {
            (u, o, p): pk
            for pk, u, o, p in have_qs.values_list(
                "pk", "user_id", "content_object_id", "permission_id"
            )
        }
        plan_delete[model] = [pk for row, pk in have.items() if row not in want]
        plan_create[model] = sorted(want - have.keys(), key=str)
    return plan_delete, plan_create


def _apply(plan) -> None:
    plan_delete, plan_create = plan
    for model, pks in plan_delete.items():
        if pks:
            model.objects.filter(pk__in=pks).delete()
    for model, rows in plan_create.items():
        if rows:
            model.objects.bulk_create(
                [
                    model(user_id=u, content_object_id=o, permission_id=p)
                    for u, o, p in rows
                ],
                ignore_conflicts=True,  # a concurrent sync of the same member wrote it
            )


def _pk(obj):
    return getattr(obj, "pk", obj)


def sync_access(user, base) -> None:
    """Bring one user's guardian permissions on a base and its tables to their roles.

    `user` and `base` are instances or ids. Call after every Membership/TableRole write.
    """
    _apply(_plan(_pk(base), [_pk(user)]))


def sync_base(base) -> None:
    """Bring every member's guardian permissions on a base (and its tables) to their roles.

    Call after tables are added to a base (its members gain their rights on them).
    """
    _apply(_plan(_pk(base)))


def drift(bases: Iterable | None = None) -> list[str]:
    """What guardian holds that the store does not say, and the reverse; [] when in sync."""
    from bases.models import Base

    names = {pk: (model, code) for (model, code), pk in _permission_ids().items()}
    if bases is None:
        bases = Base.objects.values_list("pk", flat=True)
    found = []
    for base in bases:
        plan_delete, plan_create = _plan(_pk(base))
        for model, pks in plan_delete.items():
            for u, o, p in model.objects.filter(pk__in=pks).values_list(
                "user_id", "content_object_id", "permission_id"
            ):
                found.append(f"extra: user {u} has {_name(names, p)} on {o}")
        for rows in plan_create.values():
            for u, o, p in rows:
                found.append(f"missing: user {u} lacks {_name(names, p)} on {o}")
    return found


def _name(names: dict, permission_id) -> str:
    model, code = names.get(permission_id, ("?", str(permission_id)))
    return f"{model}.{code}"


def sync_all() -> int:
    """Repair every base (the management command's --fix); returns the bases synced."""
    from bases.models import Base

    count = 0
    for base_id in Base.objects.values_list("pk", flat=True):
        sync_base(base_id)
        count += 1
    return count
