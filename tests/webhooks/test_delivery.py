"""Retries, timeouts, switch-off after repeated failures, resend, the log and its retention."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.webhooks.test_events import hook, records
from webhooks import signing
from webhooks.delivery import backoff, drain, lost_events, prune_logs
from webhooks.models import Webhook, WebhookDelivery, WebhookEvent

pytestmark = pytest.mark.django_db


def logs(api, hook_id):
    return api.get(f"/api/v2/meta/hooks/{hook_id}/logs").json()["list"]


def test_retries_on_500_with_the_same_event_id(api, tasks_table, receiver):
    made = hook(api, tasks_table, url=receiver.url, events=["insert"])
    receiver.plan.extend([500, 503])
    api.post(records(tasks_table), {"title": "a"}, format="json")
    drain()
    got = receiver.wait_for(3)
    assert len({r.headers["webhook-id"] for r in got}) == 1
    # Each attempt is signed afresh (its own timestamp) with the same secret.
    for r in got:
        assert signing.verify(
            made["secret"],
            r.headers["webhook-id"],
            r.headers["webhook-timestamp"],
            r.body,
            r.headers["webhook-signature"],
        )
    entries = logs(api, made["id"])
    assert [(e["attempt"], e["status"], e["ok"]) for e in entries] == [
        (3, 200, True),
        (2, 503, False),
        (1, 500, False),
    ]
    event = WebhookEvent.objects.get()
    assert event.status == "delivered" and event.attempts == 3


def test_retries_on_timeout(api, tasks_table, receiver, settings):
    settings.NOCO_WEBHOOKS_TIMEOUT = 0.3
    made = hook(api, tasks_table, url=receiver.url, events=["insert"])
    receiver.plan.append(("sleep", 1.0))
    api.post(records(tasks_table), {"title": "a"}, format="json")
    drain()
    receiver.wait_for(2)
    first, second = reversed(logs(api, made["id"]))
    assert first["status"] is None and "timed out" in first["error"]
    assert first["duration_ms"] < 1000
    assert second["ok"]


def test_backoff_grows_exponentially_with_jitter(settings):
    settings.NOCO_WEBHOOKS_BACKOFF_BASE = 2
    settings.NOCO_WEBHOOKS_BACKOFF_MAX = 100
    for attempt, full in [(1, 2), (2, 4), (3, 8), (6, 64), (10, 100)]:
        values = {backoff(attempt) for _ in range(20)}
        assert all(full / 2 <= v <= full for v in values)
        assert len(values) > 1  # jitter


def test_gives_up_after_max_attempts_then_switches_the_webhook_off(
    api, tasks_table, receiver
):
    # test settings: 3 attempts per event, switched off after 2 failed events
    made = hook(api, tasks_table, url=receiver.url, events=["insert"])
    receiver.plan.extend([500] * 6)
    api.post(records(tasks_table), {"title": "a"}, format="json")
    drain()
    assert len(receiver.requests) == 3
    assert WebhookEvent.objects.get().status == "failed"
    assert Webhook.objects.get().active  # one failed event is not enough
    api.post(records(tasks_table), {"title": "b"}, format="json")
    drain()
    assert len(receiver.requests) == 6
    read = api.get(f"/api/v2/meta/hooks/{made['id']}").json()
    assert read["active"] is False
    assert "could not be delivered" in read["disabled_reason"]
    # Switched off: writes no longer make events.
    api.post(records(tasks_table), {"title": "c"}, format="json")
    assert WebhookEvent.objects.count() == 2
    # Switched back on by hand: the notice is cleared, events flow again.
    on = api.patch(f"/api/v2/meta/hooks/{made['id']}", {"active": True}, format="json")
    assert on.json()["disabled_reason"] == "" and on.json()["consecutive_failures"] == 0
    api.post(records(tasks_table), {"title": "d"}, format="json")
    drain()
    assert receiver.requests[-1].json["data"]["rows"][0]["title"] == "d"


def test_a_success_resets_the_failure_streak(api, tasks_table, receiver):
    hook(api, tasks_table, url=receiver.url, events=["insert"])
    receiver.plan.extend([500, 500, 500, 200, 500, 500, 500])
    for title in "abc":
        api.post(records(tasks_table), {"title": title}, format="json")
        drain()
    assert Webhook.objects.get().active


def test_resend_a_logged_delivery_with_the_same_id(api, tasks_table, receiver):
    made = hook(api, tasks_table, url=receiver.url, events=["insert"])
    api.post(records(tasks_table), {"title": "a"}, format="json")
    drain()
    [entry] = logs(api, made["id"])
    res = api.post(f"/api/v2/meta/hooks/{made['id']}/logs/{entry['id']}/resend")
    assert res.status_code == 200 and res.json()["status"] == "pending"
    drain()
    first, again = receiver.wait_for(2)
    assert first.headers["webhook-id"] == again.headers["webhook-id"]
    assert first.body == again.body
    missing = api.post(f"/api/v2/meta/hooks/{made['id']}/logs/999999/resend")
    assert missing.status_code == 404


def test_send_test_shows_the_answer(api, tasks_table, receiver):
    made = hook(api, tasks_table, url=receiver.url, events=["insert"])
    api.post(records(tasks_table), {"title": "sample", "points": 2}, format="json")
    WebhookEvent.objects.all().delete()
    res = api.post(f"/api/v2/meta/hooks/{made['id']}/test")
    assert res.status_code == 200, res.content
    body = res.json()
    assert body["ok"] and body["status"] == 200 and '"received"' in body["response"]
    [r] = receiver.requests
    assert r.json["test"] is True and r.json["data"]["rows"][0]["title"] == "sample"
    assert logs(api, made["id"])[0]["event_type"] == "test"


def test_manual_trigger_sends_one_row(api, tasks_table, receiver):
    made = hook(api, tasks_table, url=receiver.url, events=[])
    rid = api.post(records(tasks_table), {"title": "a"}, format="json").json()["id"]
    assert not WebhookEvent.objects.exists()
    res = api.post(
        f"/api/v2/meta/hooks/{made['id']}/trigger", {"rowId": rid}, format="json"
    )
    assert res.status_code == 200, res.content
    drain()
    [r] = receiver.wait_for(1)
    assert r.json["type"] == "records.manual.trigger"
    assert r.json["data"]["rows"] == [
        {"id": rid, "title": "a", "status": None, "points": None}
    ]
    missing = api.post(
        f"/api/v2/meta/hooks/{made['id']}/trigger", {"rowId": 4242}, format="json"
    )
    assert missing.status_code == 404


def test_rotated_secret_signs_from_now_on(api, tasks_table, receiver):
    made = hook(api, tasks_table, url=receiver.url, events=["insert"])
    new = api.post(f"/api/v2/meta/hooks/{made['id']}/secret").json()["secret"]
    assert new != made["secret"]
    api.post(records(tasks_table), {"title": "a"}, format="json")
    drain()
    [r] = receiver.wait_for(1)
    args = (r.headers["webhook-id"], r.headers["webhook-timestamp"], r.body)
    assert signing.verify(new, *args, r.headers["webhook-signature"])
    assert not signing.verify(made["secret"], *args, r.headers["webhook-signature"])
    stored = Webhook.objects.get().secret_encrypted
    assert new not in stored and new.removeprefix("whsec_") not in stored


def test_log_retention_by_age_and_count(api, tasks_table, receiver, settings):
    made = hook(api, tasks_table, url=receiver.url, events=["insert"])
    api.post(records(tasks_table), [{"title": str(i)} for i in range(6)], format="json")
    drain()
    assert WebhookDelivery.objects.count() == 6
    old = list(WebhookDelivery.objects.order_by("id")[:2].values_list("id", flat=True))
    WebhookDelivery.objects.filter(id__in=old).update(
        created_at=timezone.now() - timedelta(days=30)
    )
    settings.NOCO_WEBHOOKS_LOG_DAYS = 14
    settings.NOCO_WEBHOOKS_LOG_MAX = 3
    assert prune_logs() == 3
    kept = logs(api, made["id"])
    assert len(kept) == 3
    assert max(old) < min(e["id"] for e in kept)


def test_publish_to_a_refusing_broker_fails_fast_and_keeps_the_event(
    api, tasks_table, receiver, caplog
):
    """What the publisher thread does when Redis refuses connections: gives up quickly, marks
    the event unpublished, and the sweeper sends it later. (That the write itself never waits
    is tested on real processes in test_faults.py.)"""
    import time

    from nocoplatform.celery import app
    from webhooks import publisher

    hook(api, tasks_table, url=receiver.url, events=["insert"])
    api.post(records(tasks_table), {"title": "a"}, format="json")
    [event] = WebhookEvent.objects.all()
    old = app.conf.broker_url

    def use_broker(url):
        # Celery caches its connection and producer pools: drop them so `url` is used.
        if app._pool is not None:
            app._pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None
        app.conf.broker_url = url

    use_broker("redis://127.0.0.1:1/0")
    try:
        start = time.monotonic()
        with caplog.at_level("WARNING", logger="webhooks.publisher"):
            assert publisher.send([event.pk]) == [event.pk]
        assert time.monotonic() - start < 5
        assert "could not queue 1 events" in caplog.text
    finally:
        use_broker(old)
    event.refresh_from_db()
    assert event.status == "pending" and event.queued_at is None
    assert lost_events(10, broker_idle=False) == [event.pk]  # the sweeper's pick
    drain()
    assert receiver.wait_for(1)[0].headers["webhook-id"] == str(event.pk)


def test_sweeper_requeues_only_lost_events(api, tasks_table, receiver):
    from webhooks.tasks import sweep

    hook(api, tasks_table, url=receiver.url, events=["insert"])
    api.post(records(tasks_table), [{"title": str(i)} for i in range(4)], format="json")
    backlog, died, unsent, ancient = WebhookEvent.objects.order_by("created_at")
    past = timezone.now() - timedelta(seconds=60)
    WebhookEvent.objects.filter(
        pk__in=[e.pk for e in (backlog, died, unsent, ancient)]
    ).update(next_attempt_at=past)
    WebhookEvent.objects.filter(pk=backlog.pk).update(queued_at=timezone.now())
    WebhookEvent.objects.filter(pk=died.pk).update(
        locked_until=timezone.now() - timedelta(seconds=1), attempts=1
    )
    WebhookEvent.objects.filter(pk=unsent.pk).update(queued_at=None)
    WebhookEvent.objects.filter(pk=ancient.pk).update(
        queued_at=timezone.now() - timedelta(hours=1)
    )
    assert sweep() == 3  # queued again (on the in-memory broker here)
    assert sweep() == 0  # ...and not again on the next sweep
    died.refresh_from_db()
    assert died.locked_until is None and died.queued_at is not None


def test_unclaimed_event_is_lost_once_the_broker_queue_is_empty(api, tasks_table):
    """A message a dead worker had taken but not started: the event was never claimed. While
    messages still wait in the broker's queue it may be among them; once the queue is empty
    (and PICKUP_GRACE has passed) it cannot be, and the sweeper queues it again."""
    from webhooks.delivery import PICKUP_GRACE

    hook(api, tasks_table, url="http://127.0.0.1:9/", events=["insert"])
    api.post(records(tasks_table), [{"title": "a"}, {"title": "b"}], format="json")
    taken, fresh = WebhookEvent.objects.order_by("created_at")
    WebhookEvent.objects.filter(pk=taken.pk).update(
        queued_at=timezone.now() - PICKUP_GRACE - timedelta(seconds=1)
    )
    assert lost_events(10, broker_idle=False) == []  # a backlog: left alone
    assert lost_events(10, broker_idle=True) == [taken.pk]  # fresh: still within grace
    assert lost_events(10, broker_idle=True) == []  # queued again just now


def test_a_retry_waits_for_the_sweeper_until_it_is_due(api, tasks_table, receiver):
    hook(api, tasks_table, url=receiver.url, events=["insert"])
    receiver.plan.append(500)
    api.post(records(tasks_table), {"title": "a"}, format="json")
    [event] = WebhookEvent.objects.all()
    from webhooks.delivery import deliver_event

    assert deliver_event(event.pk).retry_in is not None
    event.refresh_from_db()
    assert event.queued_at is None and event.next_attempt_at > timezone.now()
    assert lost_events(10, broker_idle=True) == []  # not due yet
    WebhookEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now())
    assert lost_events(10, broker_idle=False) == [event.pk]


def test_publish_queue_full_leaves_events_to_the_sweeper(api, tasks_table, monkeypatch):
    """Redis unreachable long enough to fill the publisher's queue: the write still does not
    wait; the events it cannot queue are marked unpublished for the sweeper."""
    import os
    import queue

    from webhooks import publisher

    hook(api, tasks_table, url="http://127.0.0.1:9/", events=["insert"])
    api.post(records(tasks_table), {"title": "a"}, format="json")
    [event] = WebhookEvent.objects.all()
    full = queue.Queue(1)
    full.put("someone else's")
    monkeypatch.setattr(publisher, "_queue", full)
    monkeypatch.setattr(publisher, "_owner", os.getpid())  # its thread is "busy"
    publisher.publish_soon([event.pk])
    event.refresh_from_db()
    assert event.queued_at is None
    assert lost_events(10, broker_idle=False) == [event.pk]
