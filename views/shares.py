"""Public links of views: shared (read-only) views and public forms.

A link is a ViewShare: a random token (views.models.new_share_token), an optional password
(Django's hashers), and whether CSV download is allowed. Creating, changing, regenerating and
revoking a link needs `views.share` on the table.

A visitor reads through the records layer like everybody else, as `share_actor(share)`: the
link's creator (so their table role and field rules still apply, and a creator who lost the
right to share takes the link down with them), narrowed to the fields the view shows and to
reading (or, for a form, to creating rows with the form's fields). Nothing else is reachable
with that actor: no other table, no hidden field, no write.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.db import transaction

from audit import log as audit
from bases.fieldtypes import field_type_for
from bases.models import Field
from bases.query.params import view_fields
from bases.table_meta import TableMeta
from nocoplatform.errors import Forbidden, InvalidInput, NotFound, RateLimited
from permissions.checks import Actor, can, require
from views.models import View, ViewShare, new_share_token
from views.realtime import notices

SHARE_READ = frozenset({"records.read", "table.read", "views.read"})
FORM_WRITE = frozenset({"records.read", "records.create"})
MAX_PASSWORD = 200


# --------------------------------------------------------------------------------------------
# Managing links (members with views.share)


def _activity(actor: Actor, view: View, action: str, **details) -> None:
    """The base's activity log: a change to `view`'s public link."""
    audit.record(
        actor,
        view.table.base_id,
        action,
        target=f"{view.table.title} › {view.title}",
        target_id=view.pk,
        **details,
    )


def share_enable(*, actor: Actor, view: View) -> ViewShare:
    """The view's link, created on first call (without password, no CSV)."""
    require(actor, "views.share", view.table)
    share = ViewShare.objects.filter(view=view).first()
    if share is None:
        share, created = ViewShare.objects.get_or_create(
            view=view, defaults={"created_by": actor.user}
        )
        if created:
            notices.share_changed(share)
            _activity(actor, view, "share.enable")
    return share


def share_update(
    *,
    actor: Actor,
    share: ViewShare,
    password: str | None = None,
    clear_password: bool = False,
    allow_csv: bool | None = None,
) -> ViewShare:
    """Set or clear the password and the CSV option. A new password signs visitors out."""
    require(actor, "views.share", share.view.table)
    if password:
        if len(password) > MAX_PASSWORD:
            raise InvalidInput(
                f"A password is at most {MAX_PASSWORD} characters.",
                code="INVALID_PASSWORD",
            )
        share.password = make_password(password)
    elif clear_password:
        share.password = ""
    if allow_csv is not None:
        share.allow_csv = bool(allow_csv)
    # Whoever changes the link answers for it from now on (their rights bound it).
    share.created_by = actor.user
    share.save()
    notices.share_changed(share)
    _activity(
        actor,
        share.view,
        "share.update",
        password="set" if password else "removed" if clear_password else "unchanged",
        allow_csv=share.allow_csv,
    )
    return share


def share_regenerate(*, actor: Actor, share: ViewShare) -> ViewShare:
    """A new token: the old link answers 404 everywhere at once."""
    require(actor, "views.share", share.view.table)
    share.token = new_share_token()
    share.created_by = actor.user
    share.save(update_fields=["token", "created_by", "updated_at"])
    notices.share_changed(share)
    _activity(actor, share.view, "share.regenerate")
    return share


def share_revoke(*, actor: Actor, share: ViewShare) -> None:
    require(actor, "views.share", share.view.table)
    with transaction.atomic():
        share.delete()
        notices.share_changed(share)
        _activity(actor, share.view, "share.revoke")


# --------------------------------------------------------------------------------------------
# Visitors


def share_by_token(token: str, *, form: bool | None = None) -> ViewShare:
    """The live link with this token, or NotFound (also when its creator may no longer share,
    or when a form link is opened as a shared view and the other way round)."""
    token = str(token or "")
    if not token or len(token) > 64:
        raise NotFound("This link does not exist.", code="SHARE_NOT_FOUND")
    share = (
        ViewShare.objects.select_related(
            "view__table__source", "view__table__base", "created_by"
        )
        .filter(token=token)
        .first()
    )
    if share is None or share.created_by is None or not share.created_by.is_active:
        raise NotFound("This link does not exist.", code="SHARE_NOT_FOUND")
    if form is not None and (share.view.type == View.Type.FORM) != form:
        raise NotFound("This link does not exist.", code="SHARE_NOT_FOUND")
    if not can(Actor(user=share.created_by), "views.share", share.view.table):
        raise NotFound("This link does not exist.", code="SHARE_NOT_FOUND")
    return share


def creator_actor(share: ViewShare) -> Actor:
    return Actor(user=share.created_by)


def shown_fields(share: ViewShare) -> list[Field]:
    """The view's visible fields that the link's creator may see, in the view's order."""
    meta = TableMeta.of(share.view.table, actor=creator_actor(share))
    return view_fields(share.view, meta.fields)


def _display_fields(share: ViewShare, fields: list[Field]) -> set[str]:
    """Display-value fields of the tables the shown link fields point to (their chips)."""
    creator = creator_actor(share)
    out = set()
    for f in fields:
        if field_type_for(f).is_link and f.related_table is not None:
            if can(creator, "records.read", f.related_table):
                pv = TableMeta.of(f.related_table, actor=creator).pv
                if pv is not None:
                    out.add(pv.id)
    return out


def share_actor(share: ViewShare, fields: list[Field] | None = None) -> Actor:
    """The actor a visitor reads (or, for a form, creates rows) with."""
    fields = shown_fields(share) if fields is None else fields
    ids = {f.id for f in fields} | _display_fields(share, fields)
    operations = FORM_WRITE if share.view.type == View.Type.FORM else SHARE_READ
    return Actor(
        user=share.created_by,
        fields=frozenset(ids),
        operations=operations,
        share=share,
    )


def key_actor(share: ViewShare, fields: list[Field]) -> Actor:
    """The visitor's actor plus the table's key: for server-side reads that must tell rows
    apart (the thumbnails of attachment cells), never for what a visitor names or sees."""
    meta = TableMeta.of(share.view.table, actor=creator_actor(share))
    base = share_actor(share, fields)
    return Actor(
        user=base.user,
        fields=base.fields | {f.id for f in meta.pk},
        operations=SHARE_READ,
    )


# --------------------------------------------------------------------------------------------
# Passwords


def _attempts_key(share: ViewShare, address: str) -> str:
    digest = hashlib.sha256(f"{share.pk}|{address}".encode()).hexdigest()[:32]
    return f"noco:share-pw:{digest}"


def password_check(share: ViewShare, password: str, *, address: str) -> None:
    """Accept the password or raise: Forbidden when wrong, rate-limited per address.

    check_password compares hashes in constant time. After NOCO_SHARE_PASSWORD_ATTEMPTS wrong
    tries from one address, that address is refused (even the right password) for
    NOCO_SHARE_PASSWORD_WINDOW seconds.
    """
    limit = settings.NOCO_SHARE_PASSWORD_ATTEMPTS
    window = settings.NOCO_SHARE_PASSWORD_WINDOW
    key = _attempts_key(share, address)
    tries = cache.get(key, 0)
    if tries >= limit:
        raise RateLimited(
            "Too many wrong passwords from your address; try again later.",
            code="TOO_MANY_ATTEMPTS",
        )
    if share.password and check_password(
        str(password or "")[:MAX_PASSWORD], share.password
    ):
        return
    try:
        cache.add(key, 0, window)
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, window)
    raise Forbidden("Wrong password.", code="WRONG_PASSWORD")


def unlock_value(share: ViewShare) -> str:
    """What the signed cookie holds after the right password: bound to this token and this
    password hash, so regenerating the link or changing the password signs visitors out."""
    return hashlib.sha256(f"{share.token}|{share.password}".encode()).hexdigest()


def cookie_name(share: ViewShare) -> str:
    return f"noco_share_{share.pk}"


def is_unlocked(request, share: ViewShare) -> bool:
    if not share.password:
        return True
    value = request.get_signed_cookie(
        cookie_name(share),
        default=None,
        salt="noco.share",
        max_age=settings.NOCO_SHARE_COOKIE_AGE,
    )
    from django.utils.crypto import constant_time_compare

    return value is not None and constant_time_compare(value, unlock_value(share))


def cookies_unlock(cookies: dict, share: ViewShare) -> bool:
    """`is_unlocked` for a websocket (views/realtime): the handshake's cookies, same check."""
    from django.http import HttpRequest

    request = HttpRequest()
    request.COOKIES = dict(cookies or {})
    return is_unlocked(request, share)


def row_key(share: ViewShare, record_id) -> str:
    """A visitor's name for a row (live updates replace rows by it): opaque, so a key the
    view hides is not revealed, and stable for this link."""
    from django.utils.crypto import salted_hmac

    return salted_hmac("noco.share-row", f"{share.pk}|{record_id}").hexdigest()[:20]


def form_actor(share: ViewShare, fields: list[Field]) -> Actor:
    """A public form's actor: creates rows with the form's fields only (plus, for its link
    fields, the foreign key it sets and the linked table's display field it searches)."""
    meta = TableMeta.of(share.view.table, actor=creator_actor(share))
    ids = {f.id for f in fields}
    for f in fields:
        if field_type_for(f).is_link:
            fk = meta.internal.by_column.get((f.options or {}).get("fk_column"))
            if fk is not None:
                ids.add(fk.id)
    ids |= _display_fields(share, fields)
    return Actor(
        user=share.created_by,
        fields=frozenset(ids),
        operations=FORM_WRITE,
        share=share,
    )
