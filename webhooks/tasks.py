"""Celery tasks (production profile, REDIS_URL set): deliver one event; sweep lost ones.

Tasks receive the event id only; the outbox row holds everything else, so a task message can be
lost or run twice without harm (the claim in webhooks.delivery lets one attempt through).
"""

from celery import shared_task

from webhooks import delivery


@shared_task(name="webhooks.tasks.deliver", ignore_result=True)
def deliver(event_id: str) -> None:
    outcome = delivery.deliver_event(event_id)
    if outcome.retry_in is not None:
        # Same event id, next attempt after the backoff; if this message is lost (worker or
        # broker restart) the sweeper queues the event again once it is due.
        deliver.apply_async((event_id,), countdown=outcome.retry_in)


@shared_task(name="webhooks.tasks.sweep", ignore_result=True)
def sweep() -> int:
    """Queue again the events that are due but were not picked up (task lost, worker killed)."""
    from django.conf import settings

    grace = min(settings.NOCO_WEBHOOKS_SWEEP_INTERVAL, 30.0)
    ids = delivery.lost_events(1000, grace=grace)
    for event_id in ids:
        deliver.delay(str(event_id))
    sweep_logs()
    return len(ids)


_last_prune = [0.0]


def sweep_logs() -> None:
    import time

    if time.monotonic() - _last_prune[0] > 3600:
        _last_prune[0] = time.monotonic()
        delivery.prune_logs()
        from webhooks.dispatcher import prune_history

        prune_history()  # the record history's retention, on the same hourly beat
