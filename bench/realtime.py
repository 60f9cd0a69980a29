"""Realtime benchmark: N websocket clients on one table, edits through the records API at a
steady rate; edit-to-client latency (from the moment the PATCH is sent until each client has the
`rows.updated` message for it).

    .venv/bin/python bench/realtime.py [--clients 100] [--rate 50] [--seconds 5] [--redis] [--pg]
        [--warmup 10] [--spread] [--client-procs 2]

The clients run in `--client-procs` processes of their own (arrival times on CLOCK_MONOTONIC,
the same clock in every process); the edits are sent from this one.

Embedded (default): one uvicorn process, in-memory channel layer — the `make run` setup.
`--redis`: two uvicorn processes on Redis (channels_redis): the clients connect to process B,
the edits go to process A, so every message crosses Redis. `--spread` (with `--redis`): clients
and edits alternate between the two processes, as behind a load balancer. The servers' resident
memory is read before and after the sockets connect (memory per socket).

Server: the local profile (SQLite meta DB, demo base in the built-in store) in a temp folder.
Edits rotate over 100 rows, so a row is edited again only every 2 s at 50/s, far above any
latency measured; each message is matched to the latest edit of its row. Writes
bench/results/realtime-<timestamp>.json and prints a Markdown line.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
ROWS = 100

SETUP = """
import json
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from bases.models import Base
from permissions.services import api_token_create
admin = get_user_model().objects.get(email="admin@example.com")
table = Base.objects.get(title="Demo CRM").tables.get(title="projects")
_, token = api_token_create(user=admin, name="bench")
s = SessionStore()
s["_auth_user_id"] = str(admin.pk)
s["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
s["_auth_user_hash"] = admin.get_session_auth_hash()
s.create()
print(json.dumps({"table": table.pk, "token": token, "session": s.session_key}))
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int) -> None:
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on {port} did not start")


def _fresh_pg(url: str) -> str:
    """An empty PostgreSQL database for the meta DB and the built-in store; its URL."""
    import psycopg

    name = "noco_bench_realtime"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


def start_servers(var: str, redis: bool, pg: str | None = None):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.local",
        "NOCO_VAR_DIR": var,
        "NOCO_ADMIN_EMAIL": "admin@example.com",
        "NOCO_ADMIN_PASSWORD": "bench-pass-12345",
        "NOCO_WEBHOOKS_RUNNER": "embedded",
    }
    env.pop("REDIS_URL", None)
    if pg:
        env["DATABASE_URL"] = env["NOCO_STORE_URL"] = _fresh_pg(pg)
    if redis:
        env["REDIS_URL"] = REDIS_URL
        env["NOCO_CHANNELS_PREFIX"] = "noco-bench-" + secrets.token_hex(3)
    py = sys.executable
    for cmd in (
        ["migrate", "--noinput", "-v0"],
        ["ensure_admin"],
        ["create_demo_base"],
    ):
        subprocess.run(
            [py, "manage.py", *cmd], cwd=ROOT, env=env, check=True, capture_output=True
        )
    out = subprocess.run(
        [py, "manage.py", "shell", "-c", SETUP],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    info = json.loads(out.strip().splitlines()[-1])
    procs, ports = [], []
    for _ in range(2 if redis else 1):
        port = _port()
        procs.append(
            subprocess.Popen(
                [
                    py,
                    "-m",
                    "uvicorn",
                    "nocoplatform.asgi:application",
                    "--port",
                    str(port),
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        ports.append(port)
    for port in ports:
        _wait(port)
    return info, procs, ports


def _rss_kib(pid: int) -> int:
    """A process's resident memory (Linux /proc), KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def _clients_child(cfg: dict) -> None:
    """One client process (`--child`): opens its sockets, prints "ready", records when each
    `rows.updated` arrives (row id, CLOCK_MONOTONIC: the same clock in every process), and on
    "stop" from stdin prints the arrivals as JSON."""
    from websockets.asyncio.client import connect

    info, read_ports = cfg["info"], cfg["read_ports"]
    arrivals: list[tuple[str, float]] = []
    counts = {"received": 0, "presence": 0, "other": 0}
    opened = 0
    ready = asyncio.Event()
    stop = asyncio.Event()

    async def client(i):
        nonlocal opened
        port = read_ports[
            i % len(read_ports)
        ]  # spread over the reading processes in turn
        headers = {
            "Cookie": f"sessionid={info['session']}",
            "Origin": f"http://127.0.0.1:{port}",
        }
        url = f"ws://127.0.0.1:{port}/ws/tables/{info['table']}/?client=bench{i}"
        async with connect(url, additional_headers=headers, open_timeout=120) as ws:
            await ws.recv()  # hello
            opened += 1
            if opened == len(cfg["clients"]):
                ready.set()
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                now = time.monotonic()
                msg = json.loads(raw)
                if msg["type"] == "rows.updated":
                    counts["received"] += 1
                    arrivals.extend((rid, now) for rid in msg["ids"])
                elif msg["type"] == "presence":
                    counts["presence"] += 1
                else:
                    counts["other"] += 1

    tasks = []
    for k, i in enumerate(
        cfg["clients"]
    ):  # 25 at a time: a burst of handshakes is not the point
        tasks.append(asyncio.create_task(client(i)))
        if k % 25 == 24:
            await asyncio.sleep(0.2)
    await asyncio.wait_for(ready.wait(), 300)
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps({"arrivals": arrivals, **counts}), flush=True)


async def run(
    info,
    write_ports,
    read_ports,
    clients,
    rate,
    seconds,
    warmup,
    pids=(),
    client_procs=1,
) -> dict:
    """Clients in `client_procs` processes of their own (the server's CPU is then not shared
    with one Python process parsing every client's messages); edits from this one."""
    sent_at: dict[int, float] = {}  # edit number -> when it was sent (monotonic)
    edits_of: dict[str, list[tuple[float, int]]] = {}  # row id -> [(sent, edit number)]
    measuring = False

    rss_before = sum(_rss_kib(pid) for pid in pids)
    children = []
    for c in range(client_procs):
        child = subprocess.Popen(
            [sys.executable, __file__, "--child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        cfg = {
            "info": info,
            "read_ports": read_ports,
            "clients": list(range(c, clients, client_procs)),
        }
        child.stdin.write(json.dumps(cfg) + "\n")
        child.stdin.flush()
        children.append(child)
    loop = asyncio.get_running_loop()
    for child in children:
        line = await loop.run_in_executor(None, child.stdout.readline)
        if line.strip() != "ready":
            raise RuntimeError(f"a client process failed: {line!r}")
    await asyncio.sleep(3.0)  # presence chatter of the joins settles
    rss_after = sum(_rss_kib(pid) for pid in pids)

    pool = ThreadPoolExecutor(8)
    apis = [
        f"http://127.0.0.1:{port}/api/v2/tables/{info['table']}/records"
        for port in write_ports
    ]

    def patch(rid: int, n: int) -> float:
        api = apis[n % len(apis)]  # edits spread over the writing processes in turn
        body = json.dumps({"Id": rid, "name": f"edit {n}"}).encode()
        req = urllib.request.Request(
            api,
            data=body,
            method="PATCH",
            headers={"xc-token": info["token"], "Content-Type": "application/json"},
        )
        t = time.monotonic()
        if measuring:
            sent_at[n] = t
            edits_of.setdefault(str(rid), []).append((t, n))
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()
        return time.monotonic() - t

    # The first writes of a fresh server are slow (metadata loads, imports, connections: up to
    # ~190 ms here); a deployed server is warm, so they are made first and not measured.
    for n in range(warmup):
        await loop.run_in_executor(pool, patch, n % ROWS + 1, -1 - n)
    await asyncio.sleep(1.0)
    measuring = True
    measured_from = time.monotonic()

    edits = int(rate * seconds)
    start = time.monotonic()
    futures = []
    for n in range(edits):
        due = start + n / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        futures.append(loop.run_in_executor(pool, patch, n % ROWS + 1, n))
    api_times = await asyncio.gather(*futures)
    elapsed = time.monotonic() - start
    await asyncio.sleep(2.0)  # let the last messages arrive
    results = []
    for child in children:
        child.stdin.write("stop\n")
        child.stdin.flush()
    for child in children:
        out = await loop.run_in_executor(None, child.stdout.read)
        child.wait(30)
        results.append(json.loads(out.strip().splitlines()[-1]))
    pool.shutdown()

    # Each arrival belongs to the latest edit of its row sent before it (a row is edited
    # again only every ROWS / rate seconds, far above any latency measured).
    latencies: list[float] = []
    arrivals: dict[int, list[float]] = {}  # edit number -> arrival times at the clients
    for result in results:
        for rid, when in result["arrivals"]:
            if when < measured_from:
                continue  # a warm-up edit's
            best = None
            for t, n in edits_of.get(rid, ()):
                if t <= when:
                    best = (t, n)
            if best is not None:
                latencies.append(when - best[0])
                arrivals.setdefault(best[1], []).append(when)
    latencies.sort()
    received = sum(r["received"] for r in results)

    def pct(p, values=latencies):
        return values[min(len(values) - 1, int(p * len(values)))] * 1000

    # Where the tail comes from: the edits whose last client waited longest.
    slowest = sorted(
        ((max(a) - sent_at[n], n) for n, a in arrivals.items() if a), reverse=True
    )[:5]
    # How long one edit takes to reach all clients once the first has it (the fan-out).
    spread = sorted(max(a) - min(a) for a in arrivals.values() if a)

    return {
        "clients": clients,
        "client_processes": client_procs,
        "edits": edits,
        "warmup_edits": warmup,
        "edit_rate_achieved": round(edits / elapsed, 1),
        "messages_expected": edits * clients,
        "messages_received": received,
        "edits_received": len(latencies),
        "presence_messages": sum(r["presence"] for r in results),
        "latency_ms": {
            "p50": round(pct(0.50), 1),
            "p95": round(pct(0.95), 1),
            "p99": round(pct(0.99), 1),
            "max": round(latencies[-1] * 1000, 1),
        },
        "api_patch_ms_median": round(statistics.median(api_times) * 1000, 1),
        "slowest_edits": [
            {"edit": n, "last_client_ms": round(w * 1000, 1)} for w, n in slowest
        ],
        "fanout_spread_ms": {
            "p50": round(pct(0.50, spread), 1),
            "p95": round(pct(0.95, spread), 1),
        },
        "server_rss_mib": {
            "before_sockets": round(rss_before / 1024, 1),
            "with_sockets": round(rss_after / 1024, 1),
            "per_socket_kib": round((rss_after - rss_before) / clients, 1)
            if pids
            else None,
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--rate", type=float, default=50)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--redis", action="store_true")
    ap.add_argument(
        "--spread",
        action="store_true",
        help="with --redis: clients and edits spread over both processes (not edits to A, "
        "clients on B)",
    )
    ap.add_argument(
        "--warmup", type=int, default=10, help="edits made first, not measured"
    )
    ap.add_argument(
        "--pg",
        nargs="?",
        const="postgresql://postgres@127.0.0.1:5432/test",
        help="meta DB and built-in store on PostgreSQL (default: SQLite files)",
    )
    ap.add_argument(
        "--client-procs",
        type=int,
        default=2,
        help="processes the clients run in (one Python process cannot parse 50,000 "
        "messages a second)",
    )
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        asyncio.run(_clients_child(json.loads(sys.stdin.readline())))
        return
    var = tempfile.mkdtemp(prefix="noco-bench-rt-")
    info, procs, ports = start_servers(var, args.redis, args.pg)
    try:
        if args.spread:
            write_ports = read_ports = ports
        else:
            write_ports, read_ports = ports[:1], ports[-1:]
        result = asyncio.run(
            run(
                info,
                write_ports,
                read_ports,
                args.clients,
                args.rate,
                args.seconds,
                args.warmup,
                [p.pid for p in procs],
                args.client_procs,
            )
        )
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:  # open websockets can hold a shutdown up
                p.kill()
                p.wait(10)
    result["mode"] = (
        ("redis, 2 processes" + (", spread" if args.spread else ""))
        if args.redis
        else "embedded, 1 process"
    ) + (", PostgreSQL" if args.pg else ", SQLite")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%M%S%z")
    out = ROOT / "bench" / "results" / f"realtime-{stamp}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    lat = result["latency_ms"]
    print(json.dumps(result, indent=2))
    print(
        f"| {result['mode']} | {args.clients} | {result['edit_rate_achieved']} | "
        f"{result['edits_received']:,} / {result['messages_expected']:,} | "
        f"{lat['p50']} | **{lat['p95']}** | {lat['p99']} | {lat['max']} | "
        f"{result['api_patch_ms_median']} | {result['fanout_spread_ms']['p50']} |"
    )


if __name__ == "__main__":
    main()
