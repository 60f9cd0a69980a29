"""Webhook benchmarks: delivery throughput, and what one active webhook adds to a write.

    .venv/bin/python bench/webhooks.py [--events 2000] [--rounds 5] [--store-url postgresql://...]

1. Deliveries per second to a local receiver (a threaded http.server in this process, answering
   200 at once): with REDIS_URL set, 2 Celery workers (`--pool solo`, one process each) on Redis;
   and the embedded runner (no Redis: the web process's dispatcher thread). Events come from bulk
   inserts through the records API with a one-call-per-row webhook; the clock runs from the first
   insert to the last call received.
2. Write-path latency: `update_rows` / `insert_rows` of one row, in process, with no webhook and
   with one active webhook (events recorded to the outbox, not sent: NOCO_WEBHOOKS_RUNNER=manual),
   alternating blocks; medians. The added latency is the difference of the medians.

Writes bench/results/webhooks-<timestamp>.json and prints a Markdown summary.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def _wait_ready(stack, log: str, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if "ready." in stack.read_log(log):
            return
        time.sleep(0.1)
    raise RuntimeError(f"worker not ready: {stack.read_log(log)}")


def _fresh_meta_db(url: str, runner: str) -> str:
    """A new, empty PostgreSQL database for this run's meta DB; its URL."""
    import psycopg

    name = f"noco_bench_hooks_{runner}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


def deliveries(
    runner: str, events: int, meta_url: str | None = None, threads: int = 0
) -> dict:
    import redis

    from tests.webhooks.receiver import start_receiver
    from tests.webhooks.stack import Stack

    receiver, server = start_receiver()
    var = Path(tempfile.mkdtemp(prefix=f"noco-bench-hooks-{runner}-"))
    env = {"NOCO_WEBHOOKS_SWEEP_INTERVAL": "30"}
    if meta_url:
        env["DATABASE_URL"] = _fresh_meta_db(meta_url, runner)
    if runner == "celery":
        redis.Redis.from_url(REDIS_URL).flushdb()
        env["REDIS_URL"] = REDIS_URL
    stack = Stack(var, **env)
    try:
        stack.setup()
        stack.start_server()
        if runner == "celery":
            pool = ("--pool", "threads", "-c", str(threads)) if threads else ()
            stack.worker("w1", *pool)
            stack.worker("w2", *pool)
            _wait_ready(stack, "w1.log")
            _wait_ready(stack, "w2.log")
        table = stack.demo_table()
        stack.api(
            "POST",
            f"/api/v2/meta/tables/{table}/hooks",
            {"title": "bench", "url": receiver.url, "events": ["insert"]},
        )
        start = time.monotonic()
        sent = 0
        while sent < events:
            n = min(1000, events - sent)
            stack.api(
                "POST",
                f"/api/v2/tables/{table}/records",
                [{"name": f"c{sent + i}"} for i in range(n)],
            )
            sent += n
        receiver.wait_for(events, timeout=600)
        took = time.monotonic() - start
        ids = {r.headers["webhook-id"] for r in receiver.requests}
        return {
            "meta_db": "PostgreSQL" if meta_url else "SQLite file",
            "runner": runner,
            "workers": (
                (f"2 × {threads} threads" if threads else "2 (solo pool)")
                if runner == "celery"
                else "1 process, 4 sender threads"
            ),
            "events": events,
            "seconds": round(took, 2),
            "deliveries_per_s": round(events / took, 1),
            "duplicates": len(receiver.requests) - len(ids),
        }
    finally:
        stack.stop_all()
        server.shutdown()


def write_path(rounds: int, per_block: int, store_url: str | None) -> dict:
    """Run in a child process with its own Django settings (see main)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from bases import metacache, schema_services, services
    from bases.records import TableMeta
    from permissions.checks import Actor
    from records.writes import insert_rows, update_rows
    from webhooks import services as hooks

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", "bench@example.com", "x")
    actor = Actor(user=user)
    base = services.base_create(actor=actor, title="bench")
    table = schema_services.table_create(
        actor=actor,
        base=base,
        title="items",
        columns=[
            {"title": "name", "uidt": "SingleLineText"},
            {"title": "status", "uidt": "SingleLineText"},
            {"title": "n", "uidt": "Number"},
        ],
    )
    t = metacache.get_table(table.pk)
    pk = TableMeta.unrestricted(t).pk[0].title
    ids = [
        k[0]
        for k in insert_rows(t, [{"name": f"r{i}"} for i in range(100)], actor=actor)
    ]
    hook, _ = hooks.webhook_create(
        actor=actor,
        table=t,
        data={
            "title": "bench",
            "url": "http://127.0.0.1:9/",
            "events": ["insert", "update"],
        },
    )

    # The webhook work itself, timed where it happens: its `prepare` before the write (active-hook
    # look-up, previous rows) plus its Change.emit after it (current rows, conditions, outbox
    # insert), without the write in between. Both are timed into one entry per write.
    from records import dispatch
    from webhooks import events as webhook_events

    hook_ms: list[float] = []
    sub = dispatch.subscribers(dispatch.IN_TRANSACTION)
    webhook_sub = next(s for s in sub if s.name == "webhooks")
    real_prepare, real_emit = webhook_sub.prepare, webhook_events.Change.emit
    pending: list[float] = []

    def timed_prepare(*args, **kwargs):
        start = time.perf_counter()
        change = real_prepare(*args, **kwargs)
        spent = time.perf_counter() - start
        if change is None:  # no active webhook: the look-up is all the work
            hook_ms.append(spent * 1000)
        else:
            pending.append(spent)
        return change

    def timed_emit(self):
        start = time.perf_counter()
        try:
            return real_emit(self)
        finally:
            before = pending.pop() if pending else 0.0
            hook_ms.append((before + time.perf_counter() - start) * 1000)

    dispatch.subscribe(
        "webhooks",
        webhook_sub.handle,
        phase=dispatch.IN_TRANSACTION,
        prepare=timed_prepare,
    )
    webhook_events.Change.emit = timed_emit

    def block(kind: str) -> list[float]:
        out = []
        for i in range(per_block):
            tbl = metacache.get_table(table.pk)  # as a request gets it
            start = time.perf_counter()
            if kind == "update":
                update_rows(
                    tbl, {pk: ids[i % len(ids)], "n": i, "status": "x"}, actor=actor
                )
            else:
                insert_rows(tbl, {"name": "new"}, actor=actor)
            out.append((time.perf_counter() - start) * 1000)
        return out

    samples = {(k, on): [] for k in ("update", "insert") for on in (False, True)}
    own = {(k, on): [] for k in ("update", "insert") for on in (False, True)}
    for _ in range(rounds):
        for on in (False, True):
            hooks.webhook_update(actor=actor, webhook=hook, data={"active": on})
            for kind in ("update", "insert"):
                hook_ms.clear()
                samples[(kind, on)] += block(kind)
                own[(kind, on)] += hook_ms
    result = {"store": store_url or "built-in SQLite file", "samples_per_case": 0}
    for kind in ("update", "insert"):
        none = statistics.median(samples[(kind, False)])
        one = statistics.median(samples[(kind, True)])
        result[kind] = {
            "median_ms_no_hook": round(none, 3),
            "median_ms_one_hook": round(one, 3),
            "added_ms": round(one - none, 3),
            "hook_code_median_ms_no_hook": round(
                statistics.median(own[(kind, False)]), 4
            ),
            "hook_code_median_ms_one_hook": round(
                statistics.median(own[(kind, True)]), 4
            ),
        }
        result["samples_per_case"] = len(samples[(kind, False)])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-block", type=int, default=200)
    parser.add_argument("--store-url", default=None)
    parser.add_argument(
        "--meta-url",
        default=None,
        help="also measure deliveries with a PostgreSQL meta DB (a fresh database is made)",
    )
    parser.add_argument("--write-path", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--skip-delivery", action="store_true")
    args = parser.parse_args()
    if args.write_path:
        print(json.dumps(write_path(args.rounds, args.per_block, args.store_url)))
        return
    results: dict = {"when": dt.datetime.now(dt.UTC).isoformat(), "delivery": []}
    if not args.skip_delivery:
        for meta in [None, args.meta_url] if args.meta_url else [None]:
            results["delivery"].append(deliveries("celery", args.events, meta))
            results["delivery"].append(deliveries("celery", args.events, meta, 4))
            results["delivery"].append(deliveries("embedded", args.events, meta))
    results["write_path"] = []
    for store in [None, args.store_url] if args.store_url else [None]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.local",
            "NOCO_VAR_DIR": tempfile.mkdtemp(prefix="noco-bench-write-"),
            "NOCO_WEBHOOKS_RUNNER": "manual",
            "NOCO_WEBHOOKS_ALLOW_PRIVATE": "true",
            "LOG_LEVEL": "WARNING",
        }
        cmd = [sys.executable, __file__, "--write-path", "--rounds", str(args.rounds)]
        cmd += ["--per-block", str(args.per_block)]
        if store:
            env["NOCO_STORE_URL"] = store
            cmd += ["--store-url", store]
        done = subprocess.run(
            cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=True
        )
        results["write_path"].append(json.loads(done.stdout.strip().splitlines()[-1]))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    name = f"webhooks-{dt.datetime.now(dt.UTC):%Y-%m-%dT%H%M%S%z}.json"
    (out / name).write_text(json.dumps(results, indent=2))
    print(f"results: bench/results/{name}\n")
    print(
        "| meta DB | runner | workers | events | deliveries/s | duplicates |\n"
        "|---|---|---|---|---|---|"
    )
    for d in results["delivery"]:
        print(
            f"| {d['meta_db']} | {d['runner']} | {d['workers']} | {d['events']} | "
            f"{d['deliveries_per_s']} | {d['duplicates']} |"
        )
    print(
        "\n| store | write | median, no webhook | median, one webhook | difference | "
        "webhook code, no webhook | webhook code, one webhook |\n"
        "|---|---|---|---|---|---|---|"
    )
    for w in results["write_path"]:
        for kind in ("update", "insert"):
            r = w[kind]
            print(
                f"| {w['store']} | {kind} one row | {r['median_ms_no_hook']} ms | "
                f"{r['median_ms_one_hook']} ms | {r['added_ms']} ms | "
                f"{r['hook_code_median_ms_no_hook']} ms | "
                f"{r['hook_code_median_ms_one_hook']} ms |"
            )


if __name__ == "__main__":
    main()
