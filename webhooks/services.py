"""Webhook writes and reads, each checked with `webhooks.manage` on the table's base.

Every change bumps the data source's `meta_version`, which is what the write path's cache of
active hooks (webhooks.events) is keyed by, so all processes see it on their next write.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit import log as audit
from bases.models import DataSource, Table
from bases.records import TableMeta
from nocoplatform.errors import InvalidInput, NotFound
from permissions.checks import SYSTEM, Actor, require
from webhooks import delivery, events, http, signing
from webhooks.models import EVENT_TYPES, Webhook, WebhookDelivery, WebhookEvent

EVENTS = ("insert", "update", "delete")
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
EDITABLE = (
    "title",
    "events",
    "condition",
    "condition_mode",
    "watch_fields",
    "method",
    "url",
    "headers",
    "active",
    "batch_size",
)


def _bump(table: Table) -> None:
    DataSource.objects.filter(pk=table.source_id).update(
        meta_version=F("meta_version") + 1
    )


# --- reads -----------------------------------------------------------------------------------


def _activity(actor: Actor, hook: Webhook, action: str, **details) -> None:
    # The receiver's host only: a URL may carry credentials in its path or query.
    details["host"] = urlsplit(hook.url).hostname or ""
    audit.record(
        actor,
        hook.table.base_id,
        action,
        target=f"{hook.table.title} › {hook.title}",
        target_id=hook.pk,
        **details,
    )


def webhook_list(*, actor: Actor, table: Table) -> list[Webhook]:
    require(actor, "webhooks.read", table)
    return list(Webhook.objects.filter(table=table))


def webhook_get(*, actor: Actor, webhook_id: str) -> Webhook:
    hook = (
        Webhook.objects.select_related("table__base", "table__source")
        .filter(pk=webhook_id)
        .first()
    )
    if hook is None:
        raise NotFound("Webhook not found.", code="WEBHOOK_NOT_FOUND")
    try:
        require(actor, "webhooks.read", hook.table)
    except NotFound:
        raise NotFound("Webhook not found.", code="WEBHOOK_NOT_FOUND")
    return hook


def delivery_list(
    *, actor: Actor, webhook: Webhook, limit: int = 50, offset: int = 0
) -> list[WebhookDelivery]:
    require(actor, "webhooks.read", webhook.table)
    qs = WebhookDelivery.objects.filter(webhook=webhook).order_by("-created_at", "-id")
    return list(qs[offset : offset + limit])


# --- validation --------------------------------------------------------------------------------


def _clean(table: Table, data: dict, current: Webhook | None, actor: Actor) -> dict:
    if not isinstance(data, dict):
        raise InvalidInput("Send the webhook as a JSON object.", code="INVALID_BODY")
    unknown = set(data) - set(EDITABLE) - {"id", "secret", "fk_model_id"}
    if unknown:
        raise InvalidInput(
            f"Unknown webhook setting(s): {', '.join(sorted(unknown))}.",
            code="INVALID_WEBHOOK",
        )
    out: dict = {}
    # Conditions and watched fields may name only fields the webhook's author can see.
    meta = TableMeta.of(table, actor=actor)
    if "title" in data or current is None:
        title = data.get("title")
        if not isinstance(title, str) or not title.strip() or len(title) > 200:
            raise InvalidInput(
                "`title` is required (at most 200 characters).", code="INVALID_WEBHOOK"
            )
        out["title"] = title.strip()
    if "events" in data:
        ev = data["events"]
        if not isinstance(ev, list) or any(e not in EVENTS for e in ev):
            raise InvalidInput(
                "`events` is a list of: insert, update, delete.", code="INVALID_WEBHOOK"
            )
        out["events"] = [e for e in EVENTS if e in ev]
    elif current is None:
        out["events"] = ["insert"]
    if "url" in data or current is None:
        url = data.get("url")
        http.check_url(url)
        out["url"] = url.strip()
    if "method" in data:
        method = str(data["method"]).upper()
        if method not in Webhook.Method.values:
            raise InvalidInput(
                "`method` is one of POST, PUT, PATCH, GET.", code="INVALID_WEBHOOK"
            )
        out["method"] = method
    if "headers" in data:
        out["headers"] = _headers(data["headers"])
    if "condition" in data:
        cond = data["condition"] or ""
        if not isinstance(cond, str):
            raise InvalidInput(
                "`condition` is a filter in the `where` syntax, e.g. (Status,eq,Done).",
                code="INVALID_WEBHOOK",
            )
        out["condition"] = events.validate_condition(table, meta, cond)
    if "condition_mode" in data:
        if data["condition_mode"] not in Webhook.Mode.values:
            raise InvalidInput(
                "`condition_mode` is becomes_true or every_match.",
                code="INVALID_WEBHOOK",
            )
        out["condition_mode"] = data["condition_mode"]
    if "watch_fields" in data:
        wanted = data["watch_fields"] or []
        if not isinstance(wanted, list):
            raise InvalidInput(
                "`watch_fields` is a list of field ids or titles.",
                code="INVALID_WEBHOOK",
            )
        ids = []
        for name in wanted:
            field = next(
                (f for f in meta.fields if name in (f.id, f.title, f.column_name)), None
            )
            if field is None:
                raise InvalidInput(
                    f"`watch_fields`: unknown field '{name}'.", code="FIELD_NOT_FOUND"
                )
            ids.append(field.id)
        out["watch_fields"] = ids
    if "active" in data:
        if not isinstance(data["active"], bool):
            raise InvalidInput("`active` is true or false.", code="INVALID_WEBHOOK")
        out["active"] = data["active"]
    if "batch_size" in data:
        size = data["batch_size"]
        limit = settings.NOCO_WEBHOOKS_BATCH_LIMIT
        if (
            not isinstance(size, int)
            or isinstance(size, bool)
            or not 1 <= size <= limit
        ):
            raise InvalidInput(
                f"`batch_size` is 1 (one call per row) to {limit} rows per call.",
                code="INVALID_WEBHOOK",
            )
        out["batch_size"] = size
    return out


def _headers(value) -> dict:
    if not isinstance(value, dict):
        raise InvalidInput(
            "`headers` is an object of header names to values.", code="INVALID_WEBHOOK"
        )
    out = {}
    for name, val in value.items():
        if not HEADER_NAME.match(str(name)):
            raise InvalidInput(
                f"`headers`: '{name}' is not a valid header name.",
                code="INVALID_WEBHOOK",
            )
        if not isinstance(val, str) or "\r" in val or "\n" in val or len(val) > 4000:
            raise InvalidInput(
                f"`headers`: the value of '{name}' must be one line of text.",
                code="INVALID_WEBHOOK",
            )
        if name.lower() in delivery._OURS:
            raise InvalidInput(
                f"`headers`: '{name}' is set by the platform.", code="INVALID_WEBHOOK"
            )
        out[str(name)] = val
    return out


# --- writes ------------------------------------------------------------------------------------


@transaction.atomic
def webhook_create(*, actor: Actor, table: Table, data: dict) -> tuple[Webhook, str]:
    """Create a webhook; returns it and its secret, which is shown this once only."""
    require(actor, "webhooks.manage", table)
    values = _clean(table, data, None, actor)
    secret = signing.new_secret()
    hook = Webhook.objects.create(
        table=table,
        secret_encrypted=signing.seal(secret),
        created_by=actor.user,
        **values,
    )
    _bump(table)
    _activity(actor, hook, "webhook.create", events=hook.events)
    return hook, secret


@transaction.atomic
def webhook_update(*, actor: Actor, webhook: Webhook, data: dict) -> Webhook:
    require(actor, "webhooks.manage", webhook.table)
    values = _clean(webhook.table, data, webhook, actor)
    if values.get("active"):
        # Switched back on by hand: the failure streak and the notice are cleared.
        values["consecutive_failures"] = 0
        values["disabled_reason"] = ""
    for key, value in values.items():
        setattr(webhook, key, value)
    webhook.save()
    _bump(webhook.table)
    _activity(actor, webhook, "webhook.update", changed=sorted(values))
    return webhook


@transaction.atomic
def webhook_delete(*, actor: Actor, webhook: Webhook) -> None:
    require(actor, "webhooks.manage", webhook.table)
    table = webhook.table
    WebhookEvent.objects.filter(webhook=webhook).delete()
    _activity(actor, webhook, "webhook.delete")
    webhook.delete()
    _bump(table)


def webhook_rotate_secret(*, actor: Actor, webhook: Webhook) -> str:
    """A new secret, effective for every call from now on (events not yet sent included)."""
    require(actor, "webhooks.manage", webhook.table)
    secret = signing.new_secret()
    webhook.secret_encrypted = signing.seal(secret)
    webhook.save(update_fields=["secret_encrypted", "updated_at"])
    _bump(webhook.table)
    _activity(actor, webhook, "webhook.rotate_secret")
    return secret


def webhook_test(*, actor: Actor, webhook: Webhook) -> WebhookDelivery:
    """Send a sample payload now (not through the outbox) and log the answer."""
    require(actor, "webhooks.manage", webhook.table)
    table = webhook.table
    meta = TableMeta.unrestricted(table)
    event_id = uuid.uuid4()
    row = _sample_row(table, meta, webhook)
    body = {
        "type": EVENT_TYPES["insert"],
        "id": str(event_id),
        "base_id": table.base_id,
        "created_at": timezone.now().isoformat(),
        "test": True,
        "data": {
            "table_id": table.pk,
            "table_name": table.title,
            "previous_rows": [],
            "rows": [row],
        },
    }
    raw = events._render(body)
    reply = delivery.call(webhook, str(event_id), raw)
    return delivery.log_attempt(webhook, None, "test", 1, reply)


def _sample_row(table: Table, meta: TableMeta, webhook: Webhook) -> dict:
    from bases.records import list_records

    fields = events.payload_fields(webhook, meta)
    try:
        rows = list_records(
            table, actor=SYSTEM, fields=[f.title for f in fields], limit=1
        ).rows
    except Exception:  # an unreachable database still lets the test call go out
        rows = []
    if rows:
        return rows[0]
    return {f.title: None for f in fields}


def webhook_resend(*, actor: Actor, webhook: Webhook, log_id: int) -> WebhookEvent:
    """Deliver a logged event again, with the same event id (receivers may de-duplicate)."""
    require(actor, "webhooks.manage", webhook.table)
    entry = WebhookDelivery.objects.filter(pk=log_id, webhook=webhook).first()
    if entry is None:
        raise NotFound("Delivery not found.", code="DELIVERY_NOT_FOUND")
    if entry.event_id is None:
        raise InvalidInput(
            "A test call cannot be resent; use “send test” again.",
            code="NOT_RESENDABLE",
        )
    event = WebhookEvent.objects.filter(pk=entry.event_id).first()
    if event is None:
        raise NotFound(
            "This event is past the log's retention and cannot be resent.",
            code="DELIVERY_NOT_FOUND",
        )
    WebhookEvent.objects.filter(pk=event.pk).update(
        status=WebhookEvent.Status.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        queued_at=timezone.now(),
        locked_until=None,
    )
    transaction.on_commit(lambda: events.dispatch([event.pk]))
    event.refresh_from_db()
    return event


def webhook_trigger(*, actor: Actor, webhook: Webhook, record_id) -> WebhookEvent:
    """The manual "send this row" trigger: one event carrying the row as it is now."""
    from bases.records import rows_by_key

    require(actor, "webhooks.manage", webhook.table)
    require(actor, "records.read", webhook.table)
    table = webhook.table
    meta = TableMeta.of(table, actor=actor)
    found = rows_by_key(table, [meta.parse_record_id(record_id)], meta=meta)
    if not found:
        raise NotFound("Record not found.", code="RECORD_NOT_FOUND")
    [event] = events.build_events(webhook, table, meta, "manual", [(None, found[0][1])])
    events.save_events([event])
    return event
