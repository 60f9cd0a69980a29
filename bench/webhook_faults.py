"""Webhooks under faults: the delivery delay after a worker is killed, writes while Redis hangs.

    .venv/bin/python bench/webhook_faults.py [--runs 3] [--events 40] [--receiver-delay 3]

1. Worker kill. A Celery worker with the README's flags (`--pool threads --concurrency 16`)
   delivers `--events` insert events to a slow receiver (every call answered after
   `--receiver-delay` s). When 16 calls are in flight it is SIGKILLed and a new worker is started.
   Measured: seconds from the new worker's start (its spawn) to every event recorded delivered in
   the outbox; calls received twice; events lost.
2. Redis hang. One-row inserts through the records API on a table with a webhook (Celery
   runner): `--writes` with Redis answering, then `--writes` while it is frozen by SIGSTOP (one
   every 0.5 s); medians and maxima. Then seconds from SIGCONT to every event delivered. By
   default the processes keep the channel layer in memory (tests/webhooks/broker_settings.py), so
   the write's only use of Redis is the webhook's publish; `--settings
   nocoplatform.settings.local` puts realtime's channel layer on the same Redis too.

Everything runs for real, with the default delivery settings: a redis-server of its own on a free
port, uvicorn, Celery worker(s) and one beat on a throwaway SQLite meta DB, and the receiver in
this process. Writes bench/results/webhook-faults-<timestamp>.json and prints a summary.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.webhooks.receiver import start_receiver  # noqa: E402
from tests.webhooks.stack import RedisServer, Stack  # noqa: E402

THREADS = ("--pool", "threads", "--concurrency", "16")


def _stack(var: Path, redis: RedisServer, receiver, settings: str) -> tuple[Stack, str]:
    s = Stack(var, REDIS_URL=redis.url, DJANGO_SETTINGS_MODULE=settings)
    var.mkdir()
    s.setup()
    s.start_server()
    table = s.demo_table()
    s.api(
        "POST",
        f"/api/v2/meta/tables/{table}/hooks",
        {"title": "bench", "url": receiver.url, "events": ["insert"]},
    )
    return s, f"/api/v2/tables/{table}/records"


def _delivered(s: Stack) -> int:
    with sqlite3.connect(s.var / "meta.sqlite3") as db:
        return db.execute(
            "SELECT count(*) FROM webhooks_webhookevent WHERE status = 'delivered'"
        ).fetchone()[0]


def worker_kill(var: Path, events: int, delay: float, settings: str) -> dict:
    receiver, server = start_receiver()
    redis = RedisServer(var.parent).start()
    s, records = _stack(var, redis, receiver, settings)
    try:
        receiver.delay = delay
        first = s.worker("w1", *THREADS)
        s.beat()
        s.wait_ready("w1.log")
        s.api("POST", records, [{"name": f"c{i}"} for i in range(events)])
        receiver.wait_for(16, timeout=60)
        Stack.kill(first)
        started = time.monotonic()
        s.worker("w2", *THREADS)
        s.wait_ready("w2.log")
        ready = time.monotonic() - started
        while _delivered(s) < events and time.monotonic() - started < 600:
            time.sleep(0.05)
        took = time.monotonic() - started
        ids = [r.headers["webhook-id"] for r in receiver.requests]
        return {
            "events": events,
            "receiver_delay_s": delay,
            "new_worker_ready_s": round(ready, 2),
            "all_delivered_after_new_worker_s": round(took, 2),
            "duplicates": len(ids) - len(set(ids)),
            "lost": events - _delivered(s),
        }
    finally:
        s.stop_all()
        redis.stop()
        server.shutdown()


def redis_hang(var: Path, writes: int, settings: str) -> dict:
    receiver, server = start_receiver()
    redis = RedisServer(var.parent).start()
    s, records = _stack(var, redis, receiver, settings)
    try:
        s.worker("w1", *THREADS)
        s.beat()
        s.wait_ready("w1.log")

        def insert(name: str) -> float:
            start = time.monotonic()
            s.api("POST", records, {"name": name}, timeout=120)
            return (time.monotonic() - start) * 1000

        normal = [insert(f"n{i}") for i in range(writes)]
        redis.freeze()
        try:
            hung = []
            for i in range(writes):
                hung.append(insert(f"h{i}"))
                time.sleep(0.5)
        finally:
            redis.thaw()
        thawed = time.monotonic()
        while _delivered(s) < 2 * writes and time.monotonic() - thawed < 600:
            time.sleep(0.05)
        return {
            "settings": settings,
            "writes_per_case": writes,
            "median_ms_normal": round(statistics.median(normal), 1),
            "max_ms_normal": round(max(normal), 1),
            "median_ms_redis_hung": round(statistics.median(hung), 1),
            "max_ms_redis_hung": round(max(hung), 1),
            "all_delivered_after_sigcont_s": round(time.monotonic() - thawed, 2),
            "lost": 2 * writes - _delivered(s),
        }
    finally:
        s.stop_all()
        redis.stop()
        server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--receiver-delay", type=float, default=3.0)
    parser.add_argument("--writes", type=int, default=20)
    parser.add_argument("--settings", default="tests.webhooks.broker_settings")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="noco-bench-faults-"))
    results: dict = {
        "when": dt.datetime.now(dt.UTC).isoformat(),
        "kill": [],
        "hang": [],
    }
    for n in range(args.runs):
        results["kill"].append(
            worker_kill(
                tmp / f"kill{n}", args.events, args.receiver_delay, args.settings
            )
        )
        print("kill:", results["kill"][-1], flush=True)
        results["hang"].append(redis_hang(tmp / f"hang{n}", args.writes, args.settings))
        print("hang:", results["hang"][-1], flush=True)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    name = f"webhook-faults-{dt.datetime.now(dt.UTC):%Y-%m-%dT%H%M%S%z}.json"
    (out / name).write_text(json.dumps(results, indent=2))
    print(f"results: bench/results/{name}\n")
    print(
        "| run | new worker ready | all delivered after new worker start | duplicates | lost |\n"
        "|---|---|---|---|---|"
    )
    for n, r in enumerate(results["kill"], 1):
        print(
            f"| {n} | {r['new_worker_ready_s']} s | {r['all_delivered_after_new_worker_s']} s "
            f"| {r['duplicates']} | {r['lost']} |"
        )
    print(
        "\n| run | insert median / max, Redis answering | insert median / max, Redis hung "
        "| all delivered after SIGCONT | lost |\n|---|---|---|---|---|"
    )
    for n, r in enumerate(results["hang"], 1):
        print(
            f"| {n} | {r['median_ms_normal']} / {r['max_ms_normal']} ms "
            f"| {r['median_ms_redis_hung']} / {r['max_ms_redis_hung']} ms "
            f"| {r['all_delivered_after_sigcont_s']} s | {r['lost']} |"
        )


if __name__ == "__main__":
    main()
