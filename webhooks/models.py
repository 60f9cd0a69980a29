"""Webhooks, their event outbox and the delivery log (all in the meta DB).

The outbox is the durable queue: an event row is written right after the data change commits and
stays until it is delivered or has used its attempts, so a lost task or a killed worker never
loses an event (the sweeper re-queues it). The delivery log keeps one row per HTTP attempt.
"""

import secrets
import uuid

from django.conf import settings
from django.db import models

EVENT_TYPES = {
    "insert": "records.after.insert",
    "update": "records.after.update",
    "delete": "records.after.delete",
    "manual": "records.manual.trigger",
}


def new_webhook_id() -> str:
    return "hk" + secrets.token_hex(7)


class Webhook(models.Model):
    class Mode(models.TextChoices):
        BECOMES_TRUE = "becomes_true", "When a row starts matching"
        EVERY_MATCH = "every_match", "On every change of a matching row"

    class Method(models.TextChoices):
        POST = "POST", "POST"
        PUT = "PUT", "PUT"
        PATCH = "PATCH", "PATCH"
        GET = "GET", "GET"

    id = models.CharField(
        primary_key=True, max_length=20, default=new_webhook_id, editable=False
    )
    table = models.ForeignKey(
        "bases.Table", on_delete=models.CASCADE, related_name="webhooks"
    )
    title = models.CharField(max_length=200)
    # Subset of EVENT_TYPES keys: "insert", "update", "delete" (manual is always allowed).
    events = models.JSONField(default=list)
    # The filter builder's tree, stored in the `where` dialect (bases/query/where/).
    condition = models.TextField(blank=True, default="")
    condition_mode = models.CharField(
        max_length=20, choices=Mode.choices, default=Mode.BECOMES_TRUE
    )
    # Field ids: on update, fire only when one of them changed. Empty: any change.
    watch_fields = models.JSONField(default=list, blank=True)
    method = models.CharField(max_length=6, choices=Method.choices, default="POST")
    url = models.URLField(max_length=2000)
    headers = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)
    # 1 = one call per row; more = one call per write carrying up to this many rows.
    batch_size = models.PositiveIntegerField(default=1)
    # Fernet-encrypted (bases.crypto): usable for HMAC, never stored in clear nor returned.
    secret_encrypted = models.TextField()
    consecutive_failures = models.PositiveIntegerField(default=0)
    # Why the platform switched it off (shown to owners); blank when switched off by hand.
    disabled_reason = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.title


class WebhookEvent(models.Model):
    """One call to make (a row, or a batch of rows of one write): the outbox."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"
        SKIPPED = "skipped"  # the webhook was switched off before it could be sent

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=40)
    # The exact JSON body: every attempt sends the same bytes (and the same webhook-id).
    body = models.TextField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # Set while an attempt is in flight; a worker that dies leaves it to expire.
    locked_until = models.DateTimeField(null=True, blank=True)
    # When a Celery message for it was last sent; NULL when none is on its way (a retry waiting
    # for its time, a publish Redis did not take): the sweeper sends one once it is due. A sent
    # message is presumed lost only when the broker's queue is empty or long after
    # (webhooks.delivery.lost_events), so a backlog is not queued again on every sweep.
    queued_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.type} {self.pk}"


class WebhookDelivery(models.Model):
    """The delivery log: one row per HTTP attempt (and per "send test")."""

    webhook = models.ForeignKey(
        Webhook, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(
        WebhookEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    event_type = models.CharField(max_length=40)
    attempt = models.PositiveIntegerField(default=1)
    url = models.CharField(max_length=2000)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["webhook", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.event_type} attempt {self.attempt}: {self.status_code or self.error}"
