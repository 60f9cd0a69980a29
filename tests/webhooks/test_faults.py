"""Webhooks under real faults: a Celery worker SIGKILLed mid-delivery, a Redis frozen by SIGSTOP.

Each test runs the production pieces as processes (uvicorn web server, Celery workers with the
README's flags, one beat) on a redis-server of its own (tests/webhooks/stack.py), with the
project's default delivery settings, and a slow receiver in this process. The guarantee under
test (README, "Webhooks"): every event arrives, a killed worker's events within 30 s of a new
worker starting, duplicates only for calls that were in flight and always with the same
`webhook-id`; a write never waits on Redis.
"""

import sqlite3
import time
from collections import defaultdict

import pytest

from tests.webhooks.stack import Stack

pytestmark = pytest.mark.faults

THREADS = ("--pool", "threads", "--concurrency", "16")


def _hooked_stack(stack, redis_server, receiver, **env) -> tuple[Stack, str]:
    s = stack(REDIS_URL=redis_server.url, **env)
    s.setup()
    s.start_server()
    table = s.demo_table()
    s.api(
        "POST",
        f"/api/v2/meta/tables/{table}/hooks",
        {"title": "r", "url": receiver.url, "events": ["insert"]},
    )
    return s, f"/api/v2/tables/{table}/records"


def _ids_by_name(receiver) -> dict[str, set]:
    seen = defaultdict(set)
    for r in list(receiver.requests):
        seen[r.json["data"]["rows"][0]["name"]].add(r.headers["webhook-id"])
    return seen


def _wait_names(receiver, names: set, deadline: float) -> set:
    while time.monotonic() < deadline:
        if names <= set(_ids_by_name(receiver)):
            break
        time.sleep(0.05)
    return names - set(_ids_by_name(receiver))


def _outbox(s: Stack) -> dict[str, int]:
    with sqlite3.connect(s.var / "meta.sqlite3") as db:
        return dict(
            db.execute(
                "SELECT status, count(*) FROM webhooks_webhookevent GROUP BY status"
            ).fetchall()
        )


def _logs(s: Stack, *names: str) -> str:
    return "\n".join(f"--- {n}\n{s.read_log(n)}" for n in names)


def test_killed_worker_events_arrive_within_30s_of_a_new_worker(
    stack, redis_server, receiver
):
    s, records = _hooked_stack(stack, redis_server, receiver)
    receiver.delay = 3.0  # a slow receiver: every call takes 3 s
    first = s.worker("w1", *THREADS)
    s.beat()
    s.wait_ready("w1.log")
    names = {f"c{i}" for i in range(40)}
    s.api("POST", records, [{"name": n} for n in sorted(names)])
    receiver.wait_for(16, timeout=20)  # all 16 threads of w1 are in a call...
    Stack.kill(first)  # ...when it dies
    in_flight = {r.headers["webhook-id"] for r in list(receiver.requests)}
    started = time.monotonic()
    s.worker("w2", *THREADS)
    # Delivered means the receiver answered and the outbox recorded it (a call that reached
    # the receiver from the dying worker does not count).
    while time.monotonic() < started + 30 and _outbox(s) != {"delivered": len(names)}:
        time.sleep(0.1)
    took = time.monotonic() - started
    assert _outbox(s) == {"delivered": len(names)}, (
        f"not all delivered 30 s after the new worker started: {_outbox(s)}\n"
        + _logs(s, "w1.log", "w2.log", "beat.log")
    )
    print(f"all delivered {took:.1f} s after the new worker started")
    assert not _wait_names(receiver, names, time.monotonic())
    # Each row's event keeps one webhook-id; only calls in flight at the kill came twice.
    seen = _ids_by_name(receiver)
    assert all(len(ids) == 1 for ids in seen.values()), seen
    counts = defaultdict(int)
    for r in receiver.requests:
        counts[r.headers["webhook-id"]] += 1
    repeated = {i for i, n in counts.items() if n > 1}
    assert repeated <= in_flight
    assert max(counts.values()) <= 2


def test_hung_redis_does_not_hold_a_write_and_loses_no_event(
    stack, redis_server, receiver
):
    # Redis as the broker only: realtime's channel layer, on the same Redis in production,
    # has its own fault test; here the write's one use of Redis is the webhook's publish.
    s, records = _hooked_stack(
        stack,
        redis_server,
        receiver,
        DJANGO_SETTINGS_MODULE="tests.webhooks.broker_settings",
    )
    s.worker("w1", *THREADS)
    s.beat()
    s.wait_ready("w1.log")

    def insert(name: str) -> float:
        start = time.monotonic()
        s.api("POST", records, {"name": name})
        return time.monotonic() - start

    normal = [insert(f"before{i}") for i in range(3)]
    receiver.wait_for(3, timeout=20)
    redis_server.freeze()
    try:
        hung = []
        for i in range(3):
            hung.append(insert(f"hung{i}"))
            time.sleep(1)
        time.sleep(5)  # frozen well past every timeout of a publish
    finally:
        redis_server.thaw()
    thawed = time.monotonic()
    print(f"insert: {max(normal):.3f} s normally, {max(hung):.3f} s with Redis hung")
    assert max(hung) < 1.0, hung
    missing = _wait_names(receiver, {f"hung{i}" for i in range(3)}, thawed + 30)
    assert not missing, _logs(s, "w1.log", "beat.log", "server.log")
    assert all(len(ids) == 1 for ids in _ids_by_name(receiver).values())


def test_refused_redis_does_not_slow_a_write_and_the_event_follows(
    stack, redis_server, receiver
):
    """Redis stopped (connections refused), then back empty: writes keep their pace, the
    events made meanwhile wait in the outbox and arrive once Redis is back."""
    s, records = _hooked_stack(stack, redis_server, receiver)
    s.worker("w1", *THREADS)
    s.beat()
    s.wait_ready("w1.log")

    def insert(name: str) -> float:
        start = time.monotonic()
        s.api("POST", records, {"name": name})
        return time.monotonic() - start

    insert("before")
    receiver.wait_for(1, timeout=20)
    redis_server.stop()
    down = [insert(f"down{i}") for i in range(3)]
    redis_server.start()  # same port, empty: every message it held is gone
    back = time.monotonic()
    assert max(down) < 1.0, down
    missing = _wait_names(receiver, {f"down{i}" for i in range(3)}, back + 30)
    assert not missing, _logs(s, "w1.log", "beat.log", "server.log")
    print(f"delivered {time.monotonic() - back:.1f} s after Redis came back")
