"""Recording and reading the activity log of a base.

    record(actor, base, "field.create", target=f"{table.title} › {field.title}",
           target_id=field.pk, uidt=field.uidt)

Called by the service that made the change, inside its transaction (a rolled-back change
leaves no entry). Never raises for the caller's sake: the change matters more than its entry —
a failure is logged.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time

from django.conf import settings
from django.utils import timezone

log = logging.getLogger(__name__)

# action -> what the activity page says
ACTIONS = {
    "base.create": "created the base",
    "base.connect": "connected the base to a database",
    "base.update": "changed the base",
    "base.sync": "applied a schema sync",
    "source.update": "changed the data source",
    "table.create": "created a table",
    "table.update": "changed a table",
    "table.delete": "deleted a table",
    "field.create": "added a field",
    "field.update": "changed a field",
    "field.delete": "deleted a field",
    "link.create": "added a link",
    "link.delete": "deleted a link",
    "member.invite": "invited someone",
    "member.invite_revoke": "withdrew an invitation",
    "member.join": "joined the base",
    "member.role": "changed a member's role",
    "member.remove": "removed a member",
    "table_role.set": "set a table role",
    "table_role.clear": "removed a table role",
    "field_rule.set": "changed who sees or edits a field",
    "token.create": "created an API token",
    "token.revoke": "revoked an API token",
    "share.enable": "shared a view",
    "share.update": "changed a shared view",
    "share.regenerate": "renewed a shared view's link",
    "share.revoke": "stopped sharing a view",
    "webhook.create": "added a webhook",
    "webhook.update": "changed a webhook",
    "webhook.delete": "deleted a webhook",
    "webhook.rotate_secret": "renewed a webhook's secret",
    "import.done": "imported a file",
    "import.failed": "tried to import a file",
    "import.cancelled": "cancelled an import",
}
FAMILIES = {
    "schema": ("base.", "source.", "table.", "field.", "link."),
    "access": ("member.", "table_role.", "field_rule.", "token."),
    "shares": ("share.",),
    "webhooks": ("webhook.",),
    "imports": ("import.",),
}
PRUNE_EVERY = 3600.0
_last_prune = [0.0]


def who(actor) -> tuple[object | None, str]:
    """(user or None, the text naming who acted)."""
    if actor is None or getattr(actor, "system", False):
        return None, "system"
    user = actor.user if getattr(actor, "is_authenticated", False) else None
    text = user.get_username() if user is not None else "anonymous"
    token = getattr(actor, "token", None)
    if token is not None:
        text += f" (token {token.name!r})"
    return user, text[:300]


def record(
    actor, base, action: str, *, target: str = "", target_id="", **details
) -> None:
    from audit.models import Activity

    if action not in ACTIONS:
        raise ValueError(
            f"unknown activity {action!r}"
        )  # a programming error: fail loudly
    base_id = getattr(base, "pk", base)
    if not base_id:
        return
    try:
        user, text = who(actor)
        Activity.objects.create(
            base_id=base_id,
            user=user,
            who=text,
            action=action,
            target=str(target)[:300],
            target_id=str(target_id or "")[:40],
            details=details,
        )
    except Exception:
        log.exception("could not record %s in the activity log of %s", action, base_id)
        return
    if time.monotonic() - _last_prune[0] > PRUNE_EVERY:
        _last_prune[0] = time.monotonic()
        prune()


def prune(now: dt.datetime | None = None) -> int:
    """Delete entries older than NOCO_ACTIVITY_DAYS (0: keep them forever)."""
    from audit.models import Activity

    days = settings.NOCO_ACTIVITY_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    return Activity.objects.filter(at__lt=cutoff).delete()[0]


def entries(base, *, family: str = "", user: str = "", since=None, until=None):
    """The base's entries, newest first, filtered (selectors call this after checking access)."""
    from django.db.models import Q

    from audit.models import Activity

    qs = Activity.objects.filter(base=base)
    if family:
        prefixes = FAMILIES.get(family)
        if prefixes is None:
            from nocoplatform.errors import InvalidInput

            raise InvalidInput(
                f"Unknown activity kind {family!r}: use one of {', '.join(FAMILIES)}.",
                code="INVALID_FILTER",
            )
        cond = Q()
        for prefix in prefixes:
            cond |= Q(action__startswith=prefix)
        qs = qs.filter(cond)
    if user:
        qs = qs.filter(who__icontains=user[:200])
    if since:
        qs = qs.filter(at__gte=since)
    if until:
        qs = qs.filter(at__lt=until)
    return qs


def as_json(entry) -> dict:
    return {
        "id": entry.pk,
        "at": entry.at.isoformat(),
        "who": entry.who,
        "user_id": entry.user_id,
        "action": entry.action,
        "description": ACTIONS.get(entry.action, entry.action),
        "target": entry.target,
        "target_id": entry.target_id,
        "details": entry.details,
    }


def audited(action: str, *, base, target, details=None, when=None):
    """Record `action` each time the decorated service succeeds.

    The service takes keyword arguments (`actor=…` among them); `base(kw, result)` gives the
    base, `target(kw, result)` the (text, id) of what was changed and `details(kw, result)` a
    dict of details. For actions that remove their target, these are read before the call
    (result None). `when(kw, result)` may veto the entry (a service that delegated to another
    audited one). Put on the service's definition, so that no caller can forget it:

        @audited("field.delete", base=lambda kw, r: kw["field"].table.base_id,
                 target=lambda kw, r: (kw["field"].title, kw["field"].pk))
        def field_delete(*, actor, field): ...
    """
    removes = action.rsplit(".", 1)[-1] in (
        "delete",
        "remove",
        "revoke",
        "clear",
        "invite_revoke",
    )

    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kw):
            early = (
                (base(kw, None), target(kw, None), details(kw, None) if details else {})
                if removes
                else None
            )
            result = fn(*args, **kw)
            if when is not None and not when(kw, result):
                return result
            if removes:
                base_id, (text, target_id), extra = early
            else:
                base_id, (text, target_id) = base(kw, result), target(kw, result)
                extra = details(kw, result) if details else {}
            record(
                kw.get("actor"),
                base_id,
                action,
                target=text,
                target_id=target_id,
                **extra,
            )
            return result

        return inner

    return wrap


def parse_filters(params) -> dict:
    """The filters of the activity page and API from query parameters: `kind` (schema,
    access, shares, webhooks), `who` (part of a user's email or name), `from` / `to` (dates,
    YYYY-MM-DD, `to` inclusive). A malformed one is a 400 naming it."""
    from nocoplatform.errors import InvalidInput

    out: dict = {
        "family": (params.get("kind") or "").strip()[:20],
        "user": (params.get("who") or "").strip()[:200],
    }
    if out["family"] and out["family"] not in FAMILIES:
        raise InvalidInput(
            f"Unknown activity kind {out['family']!r}: use one of {', '.join(FAMILIES)}.",
            code="INVALID_FILTER",
        )
    for key, name, shift in (("since", "from", 0), ("until", "to", 1)):
        text = (params.get(name) or "").strip()
        if not text:
            continue
        try:
            day = dt.date.fromisoformat(text[:10])
        except ValueError:
            raise InvalidInput(
                f"`{name}` must be a date like 2026-12-24.", code="INVALID_FILTER"
            ) from None
        out[key] = dt.datetime.combine(
            day + dt.timedelta(days=shift), dt.time(), tzinfo=dt.UTC
        )
    return out


def export_rows(entries_qs):
    """CSV lines (header first) of `entries_qs`, streamed in chunks; text that a spreadsheet
    would run as a formula is made inert."""
    import csv
    import io
    import json

    def safe(value) -> str:
        text = str(value)
        return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["when (UTC)", "who", "action", "what", "target id", "details"])
    yield buffer.getvalue()
    for entry in entries_qs.iterator(chunk_size=500):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(
            [
                entry.at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
                safe(entry.who),
                entry.action,
                safe(entry.target),
                entry.target_id,
                safe(json.dumps(entry.details, ensure_ascii=False, sort_keys=True)),
            ]
        )
        yield buffer.getvalue()
