"""At-least-once delivery across real process deaths.

Embedded runner: the web server is killed after a failed attempt; the restarted server delivers
the event from the outbox. Celery on Redis: the worker is killed (SIGKILL) in the middle of a
call; once its lease expires the beat sweeper queues the event again and another worker
delivers it — with the same event id.
"""

import time

from tests.webhooks.stack import Stack


def _records(s: Stack, table_id: str) -> str:
    return f"/api/v2/tables/{table_id}/records"


def test_embedded_runner_survives_a_restart(stack, receiver):
    s = stack(NOCO_WEBHOOKS_BACKOFF_BASE="2", NOCO_WEBHOOKS_TIMEOUT="2")
    s.setup()
    server = s.start_server()
    table = s.demo_table()
    made = s.api(
        "POST",
        f"/api/v2/meta/tables/{table}/hooks",
        {"title": "r", "url": receiver.url, "events": ["insert"]},
    )
    receiver.plan.append(500)
    start = time.monotonic()
    s.api("POST", _records(s, table), {"name": "Ada"})
    assert time.monotonic() - start < 1.0  # the write does not wait for the call
    first = receiver.wait_for(1, timeout=15)[0]
    for _ in range(100):  # the failed attempt is logged, its retry (in 1-2 s) pending
        if s.api("GET", f"/api/v2/meta/hooks/{made['id']}/logs")["list"]:
            break
        time.sleep(0.05)
    Stack.kill(server)
    time.sleep(2.5)
    assert len(receiver.requests) == 1
    s.start_server()
    second = receiver.wait_for(2, timeout=20)[1]
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert second.json["data"]["rows"][0]["name"] == "Ada"
    logs = s.api("GET", f"/api/v2/meta/hooks/{made['id']}/logs")["list"]
    assert [(e["attempt"], e["status"]) for e in logs] == [(2, 200), (1, 500)]


def test_celery_worker_killed_mid_delivery_still_delivers(
    stack, redis_server, receiver
):
    s = stack(
        REDIS_URL=redis_server.url,
        NOCO_WEBHOOKS_TIMEOUT="2",
        NOCO_WEBHOOKS_SWEEP_INTERVAL="1",
        NOCO_WEBHOOKS_BACKOFF_BASE="1",
    )
    s.setup()
    s.start_server()
    table = s.demo_table()
    made = s.api(
        "POST",
        f"/api/v2/meta/tables/{table}/hooks",
        {"title": "r", "url": receiver.url, "events": ["insert"]},
    )
    receiver.plan.append(("sleep", 60))  # the first call hangs...
    s.api("POST", _records(s, table), {"name": "Grace"})
    first_worker = s.worker("w1")
    s.beat()
    try:  # a Celery worker can take a while to start on a loaded machine
        first = receiver.wait_for(1, timeout=90)[0]
    except AssertionError:
        raise AssertionError(s.read_log("w1.log") + s.read_log("beat.log"))
    Stack.kill(first_worker)  # ...and its worker dies in the middle of it
    s.worker("w2")
    try:
        second = receiver.wait_for(2, timeout=90)[1]
    except AssertionError:
        raise AssertionError(s.read_log("w2.log") + s.read_log("beat.log"))
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert second.json["data"]["rows"][0]["name"] == "Grace"
    for _ in range(50):
        logs = s.api("GET", f"/api/v2/meta/hooks/{made['id']}/logs")["list"]
        if logs:
            break
        time.sleep(0.1)
    # The killed attempt left no log line; the one that got through is attempt 2.
    assert [(e["attempt"], e["status"], e["ok"]) for e in logs] == [(2, 200, True)]
