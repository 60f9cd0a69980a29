"""Delivering one outbox event: claim it, sign, send, log, and decide what happens next.

The same function serves the Celery task, the embedded dispatcher and the tests. An attempt
first *claims* the event with one conditional UPDATE (pending, due, not leased by someone else),
which also counts the attempt; the lease lasts the timeout plus a margin, so if the process dies
mid-call the lease simply expires and the sweeper hands the event out again (at-least-once; the
`webhook-id` header stays the event id so receivers can de-duplicate).
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from bases.models import DataSource
from webhooks import http, signing
from webhooks.models import Webhook, WebhookDelivery, WebhookEvent

log = logging.getLogger(__name__)
LEASE_MARGIN = 5.0  # seconds beyond the timeout before a silent attempt counts as lost
USER_AGENT = "nocoplatform-webhooks/1"


@dataclass
class Outcome:
    delivered: bool = False
    retry_in: float | None = None  # seconds until the next attempt, when one is due
    claimed: bool = True


def backoff(attempt: int) -> float:
    """Exponential backoff with jitter: base·2^(n-1), capped, the upper half random."""
    full = min(
        settings.NOCO_WEBHOOKS_BACKOFF_MAX,
        settings.NOCO_WEBHOOKS_BACKOFF_BASE * 2 ** max(attempt - 1, 0),
    )
    return full / 2 + random.uniform(0, full / 2)  # noqa: S311 - jitter, not crypto


def lease() -> timedelta:
    return timedelta(seconds=settings.NOCO_WEBHOOKS_TIMEOUT + LEASE_MARGIN)


def _claim(event_id) -> bool:
    now = timezone.now()
    return bool(
        WebhookEvent.objects.filter(
            pk=event_id,
            status=WebhookEvent.Status.PENDING,
            next_attempt_at__lte=now,
        )
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + lease(), attempts=F("attempts") + 1)
    )


def request_headers(hook: Webhook, event_id: str, body: bytes) -> dict:
    timestamp = int(time.time())
    headers = {
        k: str(v) for k, v in (hook.headers or {}).items() if k.lower() not in _OURS
    }
    headers.update(
        {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": event_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signing.sign(
                signing.unseal(hook.secret_encrypted), event_id, timestamp, body
            ),
        }
    )
    return headers


_OURS = {
    "content-type",
    "content-length",
    "host",
    "user-agent",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
}


def call(hook: Webhook, event_id: str, body: bytes) -> http.Response:
    if hook.method == "GET":
        body = b""  # a GET is a signed ping without a body; the signature covers b""
    return http.send(
        hook.method,
        hook.url,
        headers=request_headers(hook, event_id, body),
        body=body,
        timeout=settings.NOCO_WEBHOOKS_TIMEOUT,
    )


def log_attempt(
    hook: Webhook, event: WebhookEvent | None, event_type: str, attempt: int, reply
) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        webhook=hook,
        event=event,
        event_type=event_type,
        attempt=attempt,
        url=hook.url,
        status_code=reply.status,
        ok=reply.ok,
        duration_ms=reply.duration_ms,
        response_excerpt=reply.excerpt,
        error=reply.error,
    )


def deliver_event(event_id) -> Outcome:
    """One attempt at one event, if it is due and nobody else holds it."""
    if not _claim(event_id):
        return Outcome(claimed=False)
    try:
        event = WebhookEvent.objects.select_related("webhook").get(pk=event_id)
    except WebhookEvent.DoesNotExist:  # its webhook was deleted meanwhile
        return Outcome()
    hook = event.webhook
    if not hook.active:
        WebhookEvent.objects.filter(pk=event.pk).update(
            status=WebhookEvent.Status.SKIPPED,
            locked_until=None,
            last_error="the webhook is switched off",
        )
        return Outcome()
    reply = call(hook, str(event.pk), event.body.encode())
    # The log line and the outcome in one transaction: one commit per attempt, and never a
    # logged success whose event still looks pending.
    with transaction.atomic():
        return _record(hook, event, reply)


def _record(hook: Webhook, event: WebhookEvent, reply: http.Response) -> Outcome:
    log_attempt(hook, event, event.type, event.attempts, reply)
    now = timezone.now()
    if reply.ok:
        WebhookEvent.objects.filter(pk=event.pk).update(
            status=WebhookEvent.Status.DELIVERED,
            delivered_at=now,
            locked_until=None,
            last_error="",
        )
        if hook.consecutive_failures:
            Webhook.objects.filter(pk=hook.pk).update(consecutive_failures=0)
        return Outcome(delivered=True)
    error = reply.error or f"HTTP {reply.status}"
    # A refused address will not become allowed by waiting: no retry.
    final = event.attempts >= settings.NOCO_WEBHOOKS_MAX_ATTEMPTS or reply.refused
    if not final:
        delay = backoff(event.attempts)
        # No message waits for the retry (a delayed Celery message would sit unacknowledged
        # in a worker, and be handed out again every visibility timeout): the sweeper queues
        # it once it is due.
        WebhookEvent.objects.filter(pk=event.pk).update(
            next_attempt_at=now + timedelta(seconds=delay),
            queued_at=None,
            locked_until=None,
            last_error=error,
        )
        return Outcome(retry_in=delay)
    WebhookEvent.objects.filter(pk=event.pk).update(
        status=WebhookEvent.Status.FAILED, locked_until=None, last_error=error
    )
    _count_failure(hook)
    return Outcome()


def _count_failure(hook: Webhook) -> None:
    """Called inside _record's transaction."""
    Webhook.objects.filter(pk=hook.pk).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    failures = (
        Webhook.objects.filter(pk=hook.pk)
        .values_list("consecutive_failures", flat=True)
        .first()
    )
    limit = settings.NOCO_WEBHOOKS_DISABLE_AFTER
    if failures is None or not limit or failures < limit:
        return
    switched = Webhook.objects.filter(pk=hook.pk, active=True).update(
        active=False,
        disabled_reason=(
            f"Switched off on {timezone.now():%Y-%m-%d %H:%M} UTC after {failures} "
            "events in a row could not be delivered. Check the delivery log, fix the "
            "receiver, then switch it back on."
        ),
    )
    if switched:
        # The write path's cache of active hooks is keyed by this version.
        DataSource.objects.filter(pk=hook.table.source_id).update(
            meta_version=F("meta_version") + 1
        )
        log.warning("webhook %s switched off after %s failures", hook.pk, failures)


# A message normally reaches a worker, which claims its event, well within PICKUP_GRACE; after
# LOST_AFTER a message is presumed lost even while other messages are still waiting.
PICKUP_GRACE = timedelta(seconds=10)
LOST_AFTER = timedelta(minutes=10)


def lost_events(limit: int, *, broker_idle: bool) -> list:
    """Pending, due events that no Celery message will bring to a worker, marked queued now.

    - the lease of an attempt expired: its worker died mid-call;
    - no message was sent: a retry come due, or a publish that failed (Redis down or hung);
    - a message was sent PICKUP_GRACE ago and nobody claimed the event although the broker's
      queue is empty (`broker_idle`): the message was lost — held by a worker that died before
      starting it, or with a Redis that restarted empty, or its process died before sending it;
    - a message was sent LOST_AFTER ago and never ran, whatever the queue holds.
    A backlog that workers are still chewing through is left alone: its messages are queued.
    """
    now = timezone.now()
    unclaimed = Q(locked_until__isnull=True)
    lost = (
        Q(locked_until__lt=now)
        | (unclaimed & Q(queued_at__isnull=True))
        | (unclaimed & Q(queued_at__lt=now - LOST_AFTER))
    )
    if broker_idle:
        lost |= unclaimed & Q(queued_at__lt=now - PICKUP_GRACE)
    ids = list(
        WebhookEvent.objects.filter(
            status=WebhookEvent.Status.PENDING, next_attempt_at__lte=now
        )
        .filter(lost)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    if ids:
        WebhookEvent.objects.filter(pk__in=ids).filter(
            Q(locked_until__isnull=True) | Q(locked_until__lt=now)
        ).update(queued_at=now, locked_until=None)
    return ids


def due_events(limit: int = 100, *, grace: float = 0.0) -> list:
    """Ids of pending events due (for `grace` seconds already) and not leased."""
    now = timezone.now()
    return list(
        WebhookEvent.objects.filter(
            status=WebhookEvent.Status.PENDING,
            next_attempt_at__lte=now - timedelta(seconds=grace),
        )
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def run_due(*, limit: int = 100) -> int:
    """Attempt every due event once (the embedded dispatcher and tests); how many were sent."""
    sent = 0
    for event_id in due_events(limit):
        if deliver_event(event_id).claimed:
            sent += 1
    return sent


def drain(*, deadline: float = 10.0) -> None:
    """Deliver until nothing is pending (retries included) or `deadline` seconds pass."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        run_due()
        if not WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING).exists():
            return
        time.sleep(0.01)


def prune_logs() -> int:
    """Drop log entries older than NOCO_WEBHOOKS_LOG_DAYS and beyond LOG_MAX per webhook."""
    cutoff = timezone.now() - timedelta(days=settings.NOCO_WEBHOOKS_LOG_DAYS)
    removed, _ = WebhookDelivery.objects.filter(created_at__lt=cutoff).delete()
    keep = settings.NOCO_WEBHOOKS_LOG_MAX
    for hook_id in (
        WebhookDelivery.objects.values_list("webhook_id", flat=True)
        .distinct()
        .order_by()
    ):
        boundary = (
            WebhookDelivery.objects.filter(webhook_id=hook_id)
            .order_by("-created_at", "-id")
            .values_list("id", flat=True)[keep : keep + 1]
        )
        boundary = list(boundary)
        if boundary:
            n, _ = WebhookDelivery.objects.filter(
                webhook_id=hook_id, id__lte=boundary[0]
            ).delete()
            removed += n
    # Finished events older than the log are no longer needed either.
    WebhookEvent.objects.filter(created_at__lt=cutoff).exclude(
        status=WebhookEvent.Status.PENDING
    ).delete()
    return removed
