"""Celery tasks (production profile, REDIS_URL set): deliver one event; sweep lost ones.

Tasks receive the event id only; the outbox row holds everything else, so a task message can be
lost or run twice without harm (the claim in webhooks.delivery lets one attempt through). The
guarantee and the settings behind it are in the README, "Webhooks".
"""

import logging

from celery import shared_task

from webhooks import delivery, publisher

log = logging.getLogger(__name__)


@shared_task(name="webhooks.tasks.deliver", ignore_result=True)
def deliver(event_id: str) -> None:
    # A failed attempt leaves its retry to the sweeper (delivery._record), not to a delayed
    # message: with late acknowledgement it would sit unacknowledged for the whole backoff.
    delivery.deliver_event(event_id)


@shared_task(name="webhooks.tasks.sweep", ignore_result=True, acks_late=False)
def sweep() -> int:
    """Queue the events no message will bring to a worker (retries due, a killed worker's,
    those Redis could not take); beat runs it every NOCO_WEBHOOKS_SWEEP_INTERVAL seconds."""
    ids = delivery.lost_events(1000, broker_idle=broker_idle())
    if ids:
        publisher.send(ids)
    sweep_logs()
    return len(ids)


def broker_idle() -> bool:
    """Whether the broker's queue is empty, so an unclaimed event has no message waiting."""
    from nocoplatform.celery import app

    try:
        with app.connection_for_read() as conn:
            ok = conn.default_channel.queue_declare(
                queue=app.conf.task_default_queue, passive=True
            )
            return ok.message_count == 0
    except Exception as exc:  # noqa: BLE001 - unknown answers count as "not idle"
        # kombu's virtual transports answer NOT_FOUND for a queue no message was ever sent to
        if "NOT_FOUND" in str(exc):
            return True
        log.warning("webhooks: could not read the broker's queue length: %s", exc)
        return False


_last_prune = [0.0]


def sweep_logs() -> None:
    import time

    if time.monotonic() - _last_prune[0] > 3600:
        _last_prune[0] = time.monotonic()
        delivery.prune_logs()
        from webhooks.dispatcher import prune_history, prune_imports

        prune_history()  # the record history's retention, on the same hourly beat
        prune_imports()  # import jobs and their files (imports/prune.py)
