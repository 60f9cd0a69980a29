"""Celery app. Broker is Redis when REDIS_URL is set; the embedded default runs without one."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nocoplatform.settings.local")

app = Celery("nocoplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _survive_broker_loss() -> None:
    """Keep a busy worker alive when Redis goes away (kombu 5.7; found by test_faults.py).

    When the connection drops while the worker holds unacknowledged messages (deliveries in
    flight), kombu later uses the dead channel again — to hand those messages back, or to
    acknowledge one whose task has just finished — and, its transport being gone, fails with
    AttributeError ('NoneType' object has no attribute 'hostname' / 'client') instead of a
    connection error. Celery treats that as unrecoverable and the worker exits. Raised as the
    connection error it is, kombu and Celery ignore it as they do other connection errors, and
    nothing is lost: the messages stay in Redis's unacked index, which hands them out again after
    the visibility timeout, and their events are in the outbox anyway.
    """
    import redis
    from kombu.transport import redis as kombu_redis

    connparams = getattr(kombu_redis.Channel, "_connparams", None)
    if connparams is None or getattr(connparams, "survives_broker_loss", False):
        return  # another kombu: test_faults.py says whether it still needs this

    def _connparams(self, asynchronous=False):
        if self.connection is None or self.connection.client is None:
            raise redis.exceptions.ConnectionError("the broker connection was closed")
        return connparams(self, asynchronous=asynchronous)

    _connparams.survives_broker_loss = True
    kombu_redis.Channel._connparams = _connparams


_survive_broker_loss()
