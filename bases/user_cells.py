"""Cells that hold base members (User, CreatedBy, LastModifiedBy: `holds_users` types).

Stored as user ids, comma-joined text (`"3,7"`); read back in NocoDB's collaborator shape,
`{"id", "email", "display_name"}` — a list for User, one object for CreatedBy and
LastModifiedBy — with one meta-DB query per page (never one per row). A user id that no
longer names a user reads as `{"id": …}` alone.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from bases.fieldtypes import field_type_for


def me(actor) -> str | None:
    """The user id `@me` stands for in `actor`'s filters: theirs; nobody's for a public
    link's visitors (the link acts for its creator, who is not the one looking)."""
    user = actor.user if actor.share is None else None
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return str(user.pk)


def person(user) -> dict:
    return {
        "id": user.pk,
        "email": user.email,
        "display_name": user.get_full_name() or user.username,
    }


def members(base_id) -> list[dict]:
    """The base's members as collaborator objects (the User picker's list)."""
    from permissions.models import Membership

    rows = (
        Membership.objects.filter(base_id=base_id)
        .select_related("user")
        .order_by("created_at", "id")
    )
    return [person(m.user) for m in rows]


def member_keys(field) -> dict[str, str]:
    """id and lower-cased email of each member of `field`'s base -> the id stored."""
    from bases.models import Table

    base_id = Table.objects.filter(pk=field.table_id).values_list("base_id", flat=True)
    out: dict[str, str] = {}
    for p in members(base_id.first()):
        out[str(p["id"])] = str(p["id"])
        if p["email"]:
            out[p["email"].lower()] = str(p["id"])
    return out


def _ids(value) -> list[str]:
    if value is None or isinstance(value, (list, dict)):
        return []
    return [v for v in str(value).split(",") if v.strip()]


def expand(fields, rows: list[dict]) -> None:
    """Replace the stored ids of user-holding `fields` in `rows` by collaborator objects."""
    fields = [f for f in fields if field_type_for(f).holds_users]
    if not fields or not rows:
        return
    wanted = {i for f in fields for row in rows for i in _ids(row.get(f.title))}
    numeric = [int(i) for i in wanted if i.strip().isdigit()]
    people = {
        str(u.pk): person(u) for u in get_user_model().objects.filter(pk__in=numeric)
    }
    for f in fields:
        many = field_type_for(f).multiple
        for row in rows:
            if f.title not in row:
                continue
            found = [people.get(i) or {"id": i} for i in _ids(row[f.title])]
            row[f.title] = (found or None) if many else (found[0] if found else None)


def stored(value):
    """A cell read back by `expand` as the ids it stores (what a row's version hashes)."""
    if isinstance(value, dict):
        return str(value.get("id"))
    if isinstance(value, list):
        return ",".join(
            str(v.get("id")) if isinstance(v, dict) else str(v) for v in value
        )
    return value


def names(values) -> dict[str, str]:
    """Stored user-id text (`"3,7"`) -> the names it stands for (`"Ada, Bob"`), in one
    query for all of them: what a group header shows."""
    wanted = {i for v in values for i in _ids(v)}
    numeric = [int(i) for i in wanted if i.strip().isdigit()]
    people = {
        str(u.pk): person(u)["display_name"]
        for u in get_user_model().objects.filter(pk__in=numeric)
    }
    return {
        str(v): ", ".join(people.get(i, i) for i in _ids(v)) for v in values if _ids(v)
    }
