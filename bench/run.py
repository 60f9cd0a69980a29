"""Benchmark suite: the records API on 1M rows against the same SQL run directly with psycopg.

    .venv/bin/python bench/run.py [--duration 10] [--runs 3] [--workers 2] [--only S1,S4,bulk,writes]
    .venv/bin/python bench/run.py --server make-run --only S1     # what `make run` serves

Builds the dataset (bench/dataset.py) if needed, connects it as an external base in a separate meta
DB under bench/var/, serves the README's production profile exactly as `make serve` does — the
Procfile's processes under honcho (granian WSGI workers, the websocket server, a Celery worker, one
beat) with REDIS_URL set and a PostgreSQL meta DB — drives it with wrk at 1 and 8 connections
(median of --runs), measures the psycopg baseline in the same run, and writes
bench/results/<timestamp>.json plus a Markdown table on stdout.

`writes` measures PATCH @8 and the bulk insert (--bulk-rows per run) with Redis and without
(the Procfile's web and ws only, no REDIS_URL: then realtime cannot cross from the web workers to
the websocket server), alternated run by run on two servers up side by side; then with Redis and
a webhook on each table (batch_size 100, delivered by the Celery worker to a receiver in this
process); then with Redis and 100 websocket clients watching the table written.
`--server make-run` serves `make run`'s command instead (one uvicorn process, SQLite meta DB
under bench/var/make-run/, no Redis); granian, gunicorn and uvicorn serve HTTP only, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.dataset import build  # noqa: E402

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SCHEMA = "noco_bench"
VAR = ROOT / "bench" / "var"
PY = str(ROOT / ".venv" / "bin" / "python")
BIN = ROOT / ".venv" / "bin"


def var_dir(profile: str) -> Path:
    return VAR / "make-run" if profile == "make-run" else VAR


def env(profile: str = "production", redis: bool = True) -> dict:
    """The environment of `profile`'s processes. make-run: `make run`'s (local settings, SQLite
    meta DB, no Redis); anything else: the production profile's, with REDIS_URL unless not."""
    if profile == "make-run":
        out = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.local",
            "NOCO_VAR_DIR": str(var_dir(profile)),
            "NOCO_ADMIN_EMAIL": "bench@example.com",
            "NOCO_ADMIN_PASSWORD": "bench-password-1",
        }
        out.pop("DATABASE_URL", None)
        out.pop("REDIS_URL", None)
        return out
    out = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.production",
        "NOCO_VAR_DIR": str(VAR),
        "SECURE_COOKIES": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "NOCO_ADMIN_EMAIL": "bench@example.com",
        "NOCO_ADMIN_PASSWORD": "bench-password-1",
        "LOG_LEVEL": "WARNING",
        # The production profile's meta DB: PostgreSQL (pooled), not the embedded SQLite file.
        "DATABASE_URL": os.environ.get(
            "BENCH_META_URL", "postgresql://postgres@127.0.0.1:5432/noco_bench_meta"
        ),
        # The webhook scenario's receiver listens on 127.0.0.1.
        "NOCO_WEBHOOKS_ALLOW_PRIVATE": "true",
    }
    if redis:
        out["REDIS_URL"] = REDIS_URL
        out["NOCO_CHANNELS_PREFIX"] = "noco-bench"
    else:
        out.pop("REDIS_URL", None)
    return out


def manage(*args: str, profile: str = "production") -> str:
    done = subprocess.run(
        [PY, "manage.py", *args],
        cwd=ROOT,
        env=env(profile),
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def ensure_meta_db() -> bool:
    """Create the benchmarks' PostgreSQL meta DB if missing; True when it was."""
    VAR.mkdir(parents=True, exist_ok=True)
    admin_url, meta_db = env()["DATABASE_URL"].rsplit("/", 1)
    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as conn:
        if conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [meta_db]
        ).fetchone():
            return False
        conn.execute(f'CREATE DATABASE "{meta_db}"')
        return True


SESSION = """
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
user = get_user_model().objects.get(email="bench@example.com")
s = SessionStore()
s["_auth_user_id"] = str(user.pk)
s["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
s["_auth_user_hash"] = user.get_session_auth_hash()
s.create()
print(s.session_key)
"""


def setup(profile: str = "production") -> dict:
    var = var_dir(profile)
    var.mkdir(parents=True, exist_ok=True)
    if profile != "make-run" and ensure_meta_db():
        (var / "state.json").unlink(missing_ok=True)
    build(PG_URL, SCHEMA)
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP TABLE IF EXISTS "{SCHEMA}".inserts')
        conn.execute(
            f'CREATE TABLE "{SCHEMA}".inserts (LIKE "{SCHEMA}".projects INCLUDING DEFAULTS)'
        )
        conn.execute(f'ALTER TABLE "{SCHEMA}".inserts ADD PRIMARY KEY (id)')
    manage("migrate", "--noinput", "-v0", profile=profile)
    manage("ensure_admin", profile=profile)
    state_file = var / "state.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    if not state.get("base"):
        state["base"] = manage(
            "connect_base",
            "Bench",
            f"{PG_URL}?schema={SCHEMA}",
            "--owner",
            "bench@example.com",
            profile=profile,
        )
        state["token"] = manage(
            "create_api_token", "bench@example.com", "--name", "bench", profile=profile
        )
    else:
        manage("sync_base", state["base"], profile=profile)
    ids = manage(
        "shell",
        "-c",
        "import json; from bases.models import Table; "
        f"print(json.dumps({{t.table_name: t.pk for t in Table.objects.filter(base_id='{state['base']}')}}))",
        profile=profile,
    ).splitlines()[-1]
    state["tables"] = json.loads(ids)
    state_file.write_text(json.dumps(state))
    state["session"] = manage("shell", "-c", SESSION, profile=profile).splitlines()[-1]
    return state


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running profile: `url` serves HTTP, `ws` the websocket server's address."""

    def __init__(self, proc: subprocess.Popen, url: str, ws: str, log: Path):
        self.proc, self.url, self.ws, self.log = proc, url, ws, log

    def stop(self) -> None:
        """SIGTERM, as a supervisor stops it (honcho passes it on to every process)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def _wait_http(url: str, proc: subprocess.Popen, log: Path) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url + "/login/", timeout=2)
            return
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server did not start:\n{log.read_text()[-3000:]}")


def serve(workers: int, server: str, threads: int = 1, redis: bool = True) -> Server:
    """Start `server`:

    - production: the Procfile under honcho, as `make serve` runs it (granian WSGI workers with
      one blocking thread each, the websocket server, a Celery worker, one beat); without Redis
      only its web and ws processes (webhooks then go out from the web process's own thread);
    - make-run: `make run`'s uvicorn command (one process, local settings, SQLite meta DB);
    - granian / gunicorn / uvicorn: HTTP only, production settings without Redis, to compare
      servers. granian's `threads` is its blocking threads per worker: its default (many) lets
      a worker take requests on Python threads that then fight over the GIL (p99 doubled)."""
    port, ws_port = free_port(), free_port()
    profile = "make-run" if server == "make-run" else "production"
    penv = env(profile, redis=redis and server == "production")
    log = var_dir(profile) / f"server-{server}.log"
    if server == "production":
        penv.update(
            NOCO_WEB_PORT=str(port),
            NOCO_WS_PORT=str(ws_port),
            NOCO_WEB_WORKERS=str(workers),
        )
        cmd = [str(BIN / "honcho"), "-f", "Procfile", "start"]
        if not redis:
            cmd += ["web", "ws"]
    elif server == "make-run":
        ws_port = port
        # Exactly the Makefile's `run` line (access log included: what a newcomer runs).
        cmd = [
            str(BIN / "uvicorn"),
            "nocoplatform.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-proxy-headers",
        ]
    elif server == "granian":
        ws_port = port
        cmd = [
            str(BIN / "granian"),
            "--interface",
            "wsgi",
            "nocoplatform.wsgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--blocking-threads",
            str(threads),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    elif server == "gunicorn":
        ws_port = port
        cmd = [
            str(BIN / "gunicorn"),
            "nocoplatform.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--log-level",
            "warning",
        ]
    else:
        ws_port = port
        cmd = [
            str(BIN / "uvicorn"),
            "nocoplatform.asgi:application",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    out = open(log, "w")  # noqa: SIM115
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=penv,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    _wait_http(url, proc, log)
    if ws_port != port:
        _wait_http(f"http://127.0.0.1:{ws_port}", proc, log)
    return Server(proc, url, f"ws://127.0.0.1:{ws_port}", log)


def get_json(url: str, token: str):
    req = urllib.request.Request(url, headers={"xc-token": token})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def wrk(
    url: str, token: str, connections: int, duration: int, script: str | None = None
) -> dict:
    cmd = [
        "wrk",
        "-t",
        str(min(connections, 2)),
        "-c",
        str(connections),
        "-d",
        f"{duration}s",
        "--latency",
        "-H",
        f"xc-token: {token}",
    ]
    if script:
        cmd += ["-s", str(ROOT / "bench" / "lua" / script)]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {}
    for pct in ("50", "90", "99"):
        m = re.search(rf"\s{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(m.group(1)), m.group(2)
        lat[pct] = (
            value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
        )
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} failed responses\n{out}")
    return {"rps": rps, "p50_ms": lat["50"], "p90_ms": lat["90"], "p99_ms": lat["99"]}


def psycopg_baseline(sql: str, params_fn, connections: int, duration: float) -> dict:
    """The same SQL straight through psycopg (prepared), `connections` threads, as the baseline."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + duration

    def worker(n: int) -> None:
        mine = []
        with psycopg.connect(
            PG_URL, autocommit=True, options=f"-c search_path={SCHEMA}"
        ) as conn:
            i = n
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                cur = conn.execute(sql, params_fn(i), prepare=True)
                if cur.description:
                    cur.fetchall()
                mine.append(time.perf_counter() - t0)
                i += connections
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    latencies.sort()
    pick = lambda p: latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000  # noqa: E731
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": pick(0.5),
        "p90_ms": pick(0.9),
        "p99_ms": pick(0.99),
    }


def median_of(runs: list[dict]) -> dict:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def bulk_insert(
    url: str, token: str, table_id: str, total: int = 100_000, per_request: int = 1000
) -> dict:
    started = time.perf_counter()
    n = 0
    for batch in range(total // per_request):
        rows = [
            {
                "name": f"Bulk {batch}-{i}",
                "status": "planned",
                "priority": 1 + i % 5,
                "budget": "10.50",
                "due_date": "2025-01-01",
                "done": False,
                "created_at": "2025-01-01T00:00:00Z",
                "client_id": 1 + i % 10000,
            }
            for i in range(per_request)
        ]
        req = urllib.request.Request(
            f"{url}/api/v2/tables/{table_id}/records",
            data=json.dumps(rows).encode(),
            method="POST",
            headers={"xc-token": token, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=120) as r:
            n += len(json.loads(r.read()))
    elapsed = time.perf_counter() - started
    return {"rows": n, "seconds": elapsed, "rows_per_s": n / elapsed}


def bulk_baseline(total: int = 100_000, per_request: int = 1000) -> dict:
    started = time.perf_counter()
    with psycopg.connect(PG_URL, options=f"-c search_path={SCHEMA}") as conn:
        for batch in range(total // per_request):
            rows = [
                (
                    f"Base {batch}-{i}",
                    "planned",
                    1 + i % 5,
                    "10.50",
                    "2025-01-01",
                    False,
                    "2025-01-01T00:00:00Z",
                    1 + i % 10000,
                )
                for i in range(per_request)
            ]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
            conn.execute(
                f"INSERT INTO inserts (name, status, priority, budget, due_date, done, created_at, client_id) VALUES {values} RETURNING id",
                [v for r in rows for v in r],
            ).fetchall()
            conn.commit()
    elapsed = time.perf_counter() - started
    return {"rows": total, "seconds": elapsed, "rows_per_s": total / elapsed}


PATCH_SQL = "UPDATE projects SET priority = %s WHERE id = %s"


def patch_params(i: int) -> list:
    return [i % 5 + 1, (i * 7919) % 100000 + 1]


def api_call(method: str, url: str, token: str, body=None):
    req = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"xc-token": token, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        raw = r.read()
    return json.loads(raw) if raw else None


class Watchers:
    """`n` websocket clients on one table, each reading every message, on a loop of its own."""

    def __init__(self, ws: str, table: str, session: str, n: int):
        self.ws, self.table, self.session, self.n = ws, table, session, n
        self.opened = self.messages = 0
        self.error: BaseException | None = None
        self.stopping = False
        self.ready = threading.Event()

    def __enter__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_until_complete, args=(self._main(),), daemon=True
        )
        self.thread.start()
        if not self.ready.wait(180) or self.error:
            raise SystemExit(
                f"websocket clients: {self.opened} of {self.n} ({self.error!r})"
            )
        time.sleep(
            2
        )  # the joins' presence messages settle, the publishers see the table
        return self

    def __exit__(self, *exc) -> None:
        self.stopping = True
        self.thread.join(30)

    async def _client(self, i: int) -> None:
        from websockets.asyncio.client import connect

        headers = {
            "Cookie": f"sessionid={self.session}",
            "Origin": self.ws.replace("ws://", "http://"),
        }
        url = f"{self.ws}/ws/tables/{self.table}/?client=bench{i}"
        try:
            async with connect(
                url, additional_headers=headers, open_timeout=120, max_size=None
            ) as sock:
                await sock.recv()  # hello
                self.opened += 1
                if self.opened == self.n:
                    self.ready.set()
                while not self.stopping:
                    try:
                        await asyncio.wait_for(sock.recv(), 0.5)
                    except TimeoutError:
                        continue
                    self.messages += 1
        except Exception as exc:
            self.error = exc
            self.ready.set()

    async def _main(self) -> None:
        await asyncio.gather(*(self._client(i) for i in range(self.n)))


def drained(receiver, since: float, quiet: float = 3.0, limit: float = 600) -> float:
    """Wait until the receiver got nothing new for `quiet` s; seconds from `since` to its last."""
    count, changed = len(receiver.requests), time.monotonic()
    while time.monotonic() - changed < quiet and time.monotonic() - since < limit:
        time.sleep(0.25)
        if len(receiver.requests) != count:
            count, changed = len(receiver.requests), time.monotonic()
    return changed - since


def write_round(srv, state: dict, args, watchers: int = 0, receiver=None) -> dict:
    """PATCH @8 and the bulk insert against `srv`, each next to its psycopg baseline."""
    token, tables = state["token"], state["tables"]
    projects, inserts = tables["projects"], tables["inserts"]
    rec = f"{srv.url}/api/v2/tables/{projects}/records"
    out: dict = {}
    wrk(rec, token, 8, 3, "patch.lua")  # warm: metadata loaded, pools opened
    sent_before = len(receiver.requests) if receiver else 0
    t0 = time.monotonic()
    watch = (
        Watchers(srv.ws, projects, state["session"], watchers)
        if watchers
        else contextlib.nullcontext()
    )
    with watch as w:
        api_runs = [
            wrk(rec, token, 8, args.duration, "patch.lua") for _ in range(args.runs)
        ]
        heard = w.messages if watchers else None
    base_runs = [
        psycopg_baseline(PATCH_SQL, patch_params, 8, min(args.duration, 5))
        for _ in range(args.runs)
    ]
    api, base = median_of(api_runs), median_of(base_runs)
    out["PATCH @8"] = {
        "api": api,
        "psycopg": base,
        "ratio_rps": api["rps"] / base["rps"],
        "api_runs_rps": [round(r["rps"]) for r in api_runs],
    }
    if watchers:
        out["PATCH @8"]["messages_heard"] = heard
    if receiver:
        out["PATCH @8"]["deliveries"] = len(receiver.requests) - sent_before
        out["PATCH @8"]["delivered_within_s"] = round(drained(receiver, t0), 1)
    watch = (
        Watchers(srv.ws, inserts, state["session"], watchers)
        if watchers
        else contextlib.nullcontext()
    )
    sent_before = len(receiver.requests) if receiver else 0
    t0 = time.monotonic()
    with watch as w:
        bulk_insert(srv.url, token, inserts, total=4000)
        api_runs, base_runs = [], []
        for _ in range(args.runs):
            for runs, measure in (
                (
                    api_runs,
                    lambda: bulk_insert(srv.url, token, inserts, args.bulk_rows),
                ),
                (base_runs, lambda: bulk_baseline(args.bulk_rows)),
            ):
                with psycopg.connect(PG_URL, autocommit=True) as conn:
                    conn.execute(f'TRUNCATE "{SCHEMA}".inserts')
                runs.append(measure())
        heard = w.messages if watchers else None
    api, base = median_of(api_runs), median_of(base_runs)
    out["bulk insert"] = {
        "api": api,
        "psycopg": base,
        "ratio_rps": api["rows_per_s"] / base["rows_per_s"],
        "api_runs_rows_per_s": [round(r["rows_per_s"]) for r in api_runs],
    }
    if watchers:
        out["bulk insert"]["messages_heard"] = heard
    if receiver:
        out["bulk insert"]["deliveries"] = len(receiver.requests) - sent_before
        out["bulk insert"]["delivered_within_s"] = round(drained(receiver, t0), 1)
    return out


def alternated(servers: dict, state: dict, args) -> dict:
    """PATCH @8 and the bulk insert on each server in turn, run after run, with psycopg's."""
    token, tables = state["token"], state["tables"]
    projects, inserts = tables["projects"], tables["inserts"]
    patch = {n: [] for n in servers}
    bulk = {n: [] for n in servers}
    base_patch, base_bulk = [], []
    for srv in servers.values():  # warm
        wrk(f"{srv.url}/api/v2/tables/{projects}/records", token, 8, 3, "patch.lua")
        bulk_insert(srv.url, token, inserts, total=4000)
    for _ in range(args.runs):
        for name, srv in servers.items():
            rec = f"{srv.url}/api/v2/tables/{projects}/records"
            patch[name].append(wrk(rec, token, 8, args.duration, "patch.lua"))
        base_patch.append(
            psycopg_baseline(PATCH_SQL, patch_params, 8, min(args.duration, 5))
        )
    for _ in range(args.runs):
        for name, srv in servers.items():
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'TRUNCATE "{SCHEMA}".inserts')
            bulk[name].append(bulk_insert(srv.url, token, inserts, args.bulk_rows))
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'TRUNCATE "{SCHEMA}".inserts')
        base_bulk.append(bulk_baseline(args.bulk_rows))
    bp, bb = median_of(base_patch), median_of(base_bulk)
    out = {}
    for name in servers:
        p, b = median_of(patch[name]), median_of(bulk[name])
        out[name] = {
            "PATCH @8": {
                "api": p,
                "psycopg": bp,
                "ratio_rps": p["rps"] / bp["rps"],
                "api_runs_rps": [round(r["rps"]) for r in patch[name]],
            },
            "bulk insert": {
                "api": b,
                "psycopg": bb,
                "ratio_rps": b["rows_per_s"] / bb["rows_per_s"],
                "api_runs_rows_per_s": [round(r["rows_per_s"]) for r in bulk[name]],
            },
        }
    return out


def writes(srv, state: dict, args, results: dict) -> Server:
    """The write matrix (see the module's docstring); returns the server left running."""
    from tests.webhooks.receiver import start_receiver

    token, tables = state["token"], state["tables"]
    variants = results["writes"] = {}

    def show(name: str, got: dict) -> None:
        variants[name] = got
        p, b = got["PATCH @8"], got["bulk insert"]
        print(
            f"{name:>24}: PATCH @8 {p['api']['rps']:6.0f} req/s p99 {p['api']['p99_ms']:5.1f} ms"
            f" ({p['ratio_rps']:.3f} of psycopg) | bulk {b['api']['rows_per_s']:7.0f} rows/s"
            f" ({b['ratio_rps']:.3f})"
            + (
                f" | sockets heard {p['messages_heard']} + {b['messages_heard']} messages"
                if "messages_heard" in p
                else ""
            )
            + (
                f" | webhook calls {p['deliveries']} + {b['deliveries']}, last"
                f" {p['delivered_within_s']} s / {b['delivered_within_s']} s after the start"
                if "deliveries" in p
                else ""
            ),
            flush=True,
        )

    # Redis against no Redis, alternated run by run on two servers up side by side (the idle
    # one costs next to nothing): on a noisy machine, the fairest comparison there is.
    bare = serve(args.workers, "production", redis=False)
    try:
        for name, got in alternated(
            {"Redis": srv, "no Redis": bare}, state, args
        ).items():
            show(name, got)
    finally:
        bare.stop()
    receiver, http = start_receiver()
    hooks = []
    try:
        for table, event in (
            (tables["projects"], "update"),
            (tables["inserts"], "insert"),
        ):
            hook = api_call(
                "POST",
                f"{srv.url}/api/v2/meta/tables/{table}/hooks",
                token,
                {
                    "title": "bench",
                    "url": receiver.url,
                    "events": [event],
                    "batch_size": 100,
                },
            )
            hooks.append(hook["id"])
        show("Redis + webhook", write_round(srv, state, args, receiver=receiver))
    finally:
        for hook in hooks:
            api_call("DELETE", f"{srv.url}/api/v2/meta/hooks/{hook}", token)
        http.shutdown()
    show("Redis + 100 sockets", write_round(srv, state, args, watchers=100))
    return srv


S1_QUERY = "where=(status,eq,active)&sort=-created_at&fields=id,name,status,created_at&limit=25"
S1_SQL = (
    "SELECT id, name, status, created_at FROM projects WHERE status = %s "
    "ORDER BY created_at DESC, id ASC LIMIT 26"
)


def make_run_s1(args) -> dict:
    """S1 under `make run`'s server (one uvicorn process, SQLite meta DB, no Redis)."""
    state = setup("make-run")
    srv = serve(1, "make-run")
    out = {}
    try:
        rec = (
            f"{srv.url}/api/v2/tables/{state['tables']['projects']}/records?{S1_QUERY}"
        )
        wrk(rec, state["token"], 8, 3)  # warm
        for conns in [int(c) for c in args.connections.split(",")]:
            api = median_of(
                [
                    wrk(rec, state["token"], conns, args.duration)
                    for _ in range(args.runs)
                ]
            )
            base = median_of(
                [
                    psycopg_baseline(S1_SQL, lambda i: ["active"], conns, 5)
                    for _ in range(args.runs)
                ]
            )
            out[f"S1 @{conns}"] = {
                "api": api,
                "psycopg": base,
                "ratio_rps": api["rps"] / base["rps"],
            }
            print(
                f"{'make run: S1':>20} @{conns}: {api['rps']:8.0f} req/s p99 {api['p99_ms']:6.1f} ms"
                f" | psycopg {base['rps']:8.0f} q/s",
                flush=True,
            )
    finally:
        srv.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--workers",
        type=int,
        help="default: one per core (granian), 2 × cores − 1 otherwise",
    )
    parser.add_argument(
        "--server",
        choices=["production", "make-run", "granian", "gunicorn", "uvicorn"],
        default="production",
        help="production: the Procfile under honcho, as `make serve` (default); make-run: "
        "`make run`'s single uvicorn process; the others serve HTTP only",
    )
    parser.add_argument(
        "--bulk-rows",
        type=int,
        default=30_000,
        help="rows of one bulk insert run in the write matrix (the `bulk` scenario: 100,000)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="granian's blocking threads per worker (default 1: see serve())",
    )
    parser.add_argument("--connections", default="1,8")
    parser.add_argument(
        "--only",
        default="",
        help="scenario prefixes, plus `bulk`, `writes` (the write matrix) and `make-run` "
        "(S1 under `make run`'s server after the rest, in the same sitting)",
    )
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    if args.workers is None:
        args.workers = (
            cores if args.server in ("granian", "production") else 2 * cores - 1
        )
    state = setup("make-run" if args.server == "make-run" else "production")
    token, tables = state["token"], state["tables"]
    projects, inserts = tables["projects"], tables["inserts"]
    srv = serve(args.workers, args.server, args.threads)
    url = srv.url
    results: dict = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "workers": args.workers,
        "server": args.server,
        "threads": args.threads if args.server in ("granian", "production") else 1,
        "redis": args.server == "production",
        "duration_s": args.duration,
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "scenarios": {},
    }
    try:
        rec = f"{url}/api/v2/tables/{projects}/records"
        offset_page = get_json(f"{rec}?limit=1&offset=499999&fields=id", token)
        cursor = offset_page["pageInfo"]["next"]
        scenarios = {
            "S1": (
                f"{rec}?where=(status,eq,active)&sort=-created_at&fields=id,name,status,created_at&limit=25",
                None,
                "SELECT id, name, status, created_at FROM projects WHERE status = %s ORDER BY created_at DESC, id ASC LIMIT 26",
                lambda i: ["active"],
            ),
            "S2 page 1": (
                f"{rec}?limit=25",
                None,
                "SELECT * FROM projects ORDER BY id LIMIT 26",
                lambda i: [],
            ),
            "S2 cursor at 500k": (
                f"{rec}?limit=25&cursor={cursor}",
                None,
                "SELECT * FROM projects WHERE id > %s ORDER BY id LIMIT 26",
                lambda i: [500000],
            ),
            "S2 offset 500k": (
                f"{rec}?limit=25&offset=500000",
                None,
                "SELECT * FROM projects ORDER BY id LIMIT 26 OFFSET 500000",
                lambda i: [],
            ),
            "S3 count": (
                f"{rec}/count?where=(status,eq,active)",
                None,
                "SELECT count(*) FROM projects WHERE status = %s",
                lambda i: ["active"],
            ),
            "S4 by id": (
                rec,
                "by_id.lua",
                "SELECT * FROM projects WHERE id = %s",
                lambda i: [(i * 104729) % 1000000 + 1],
            ),
            "S5 100 rows": (
                f"{rec}?limit=100",
                None,
                "SELECT * FROM projects ORDER BY id LIMIT 101",
                lambda i: [],
            ),
            "PATCH": (
                rec,
                "patch.lua",
                "UPDATE projects SET priority = %s WHERE id = %s",
                lambda i: [i % 5 + 1, (i * 7919) % 100000 + 1],
            ),
        }
        only = {s.strip() for s in args.only.split(",") if s.strip()}
        for name, (path, script, sql, params_fn) in scenarios.items():
            if only and not any(name.startswith(o) for o in only):
                continue
            for conns in [int(c) for c in args.connections.split(",")]:
                api_runs = [
                    wrk(path, token, conns, args.duration, script)
                    for _ in range(args.runs)
                ]
                base_runs = [
                    psycopg_baseline(sql, params_fn, conns, min(args.duration, 5))
                    for _ in range(args.runs)
                ]
                api, base = median_of(api_runs), median_of(base_runs)
                results["scenarios"][f"{name} @{conns}"] = {
                    "api": api,
                    "psycopg": base,
                    "ratio_rps": api["rps"] / base["rps"],
                }
                print(
                    f"{name:>20} @{conns}: {api['rps']:8.0f} req/s p99 {api['p99_ms']:6.1f} ms | psycopg {base['rps']:8.0f} q/s p99 {base['p99_ms']:5.2f} ms",
                    flush=True,
                )
        if not only or "bulk" in only:
            # Warm the workers (first requests load metadata and open pools), then alternate
            # API and baseline runs on an emptied table; the medians are reported.
            bulk_insert(url, token, inserts, total=4000)
            api_runs, base_runs = [], []
            for _ in range(args.runs):
                for runs, measure in (
                    (api_runs, lambda: bulk_insert(url, token, inserts)),
                    (base_runs, bulk_baseline),
                ):
                    with psycopg.connect(PG_URL, autocommit=True) as conn:
                        conn.execute(f'TRUNCATE "{SCHEMA}".inserts')
                    runs.append(measure())
            api_bulk, base_bulk = median_of(api_runs), median_of(base_runs)
            results["scenarios"]["bulk insert 100k"] = {
                "api": api_bulk,
                "psycopg": base_bulk,
                "ratio_rps": api_bulk["rows_per_s"] / base_bulk["rows_per_s"],
                "api_runs_rows_per_s": [round(r["rows_per_s"]) for r in api_runs],
                "psycopg_runs_rows_per_s": [round(r["rows_per_s"]) for r in base_runs],
            }
            print(
                f"{'bulk insert':>20}: {api_bulk['rows_per_s']:8.0f} rows/s | psycopg {base_bulk['rows_per_s']:8.0f} rows/s"
                f" (runs: {', '.join(str(round(r['rows_per_s'])) for r in api_runs)})"
            )
        if (not only or "writes" in only) and args.server == "production":
            srv = writes(srv, state, args, results)
        if (not only or "make-run" in only) and args.server == "production":
            srv.stop()
            results["make-run"] = make_run_s1(args)
    finally:
        srv.stop()
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    path = out_dir / f"{results['when'].replace(':', '')}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"\nwritten {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
