"""Benchmark suite: the records API on 1M rows against the same SQL run directly with psycopg.

    .venv/bin/python bench/run.py [--duration 10] [--runs 3] [--workers 2] [--only S1,S4]

Builds the dataset (bench/dataset.py) if needed, connects it as an external base in a separate meta
DB under bench/var/, serves the production profile (granian WSGI workers, no access log), drives it with
wrk at 1 and 8 connections (median of --runs), measures the psycopg baseline in the same run, and
writes bench/results/<timestamp>.json plus a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
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
SCHEMA = "noco_bench"
VAR = ROOT / "bench" / "var"
PY = str(ROOT / ".venv" / "bin" / "python")


def env() -> dict:
    return {
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
    }


def manage(*args: str) -> str:
    done = subprocess.run(
        [PY, "manage.py", *args],
        cwd=ROOT,
        env=env(),
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


def setup() -> dict:
    if ensure_meta_db():
        (VAR / "state.json").unlink(missing_ok=True)
    build(PG_URL, SCHEMA)
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP TABLE IF EXISTS "{SCHEMA}".inserts')
        conn.execute(
            f'CREATE TABLE "{SCHEMA}".inserts (LIKE "{SCHEMA}".projects INCLUDING DEFAULTS)'
        )
        conn.execute(f'ALTER TABLE "{SCHEMA}".inserts ADD PRIMARY KEY (id)')
    manage("migrate", "--noinput", "-v0")
    manage("ensure_admin")
    state_file = VAR / "state.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    if not state.get("base"):
        state["base"] = manage(
            "connect_base",
            "Bench",
            f"{PG_URL}?schema={SCHEMA}",
            "--owner",
            "bench@example.com",
        )
        state["token"] = manage(
            "create_api_token", "bench@example.com", "--name", "bench"
        )
    else:
        manage("sync_base", state["base"])
    ids = manage(
        "shell",
        "-c",
        "import json; from bases.models import Table; "
        f"print(json.dumps({{t.table_name: t.pk for t in Table.objects.filter(base_id='{state['base']}')}}))",
    ).splitlines()[-1]
    state["tables"] = json.loads(ids)
    state_file.write_text(json.dumps(state))
    return state


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(workers: int, server: str, threads: int = 1) -> tuple[subprocess.Popen, str]:
    """The production HTTP profile: granian's WSGI workers (measured faster than gunicorn's sync
    workers, which were faster than uvicorn's ASGI workers, for this API; see RESULTS.md).

    `threads` is granian's blocking threads per worker. Its default (many) lets a worker take
    requests on Python threads that then fight over the GIL: p99 at 8 connections doubled."""
    port = free_port()
    if server == "granian":
        cmd = [
            str(ROOT / ".venv/bin/granian"),
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
        cmd = [
            str(ROOT / ".venv/bin/gunicorn"),
            "nocoplatform.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--log-level",
            "warning",
        ]
    else:
        cmd = [
            str(ROOT / ".venv/bin/uvicorn"),
            "nocoplatform.asgi:application",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env())
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/login/", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


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
        "--server", choices=["granian", "gunicorn", "uvicorn"], default="granian"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="granian's blocking threads per worker (default 1: see serve())",
    )
    parser.add_argument("--connections", default="1,8")
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    if args.workers is None:
        args.workers = cores if args.server == "granian" else 2 * cores - 1
    state = setup()
    token, tables = state["token"], state["tables"]
    projects, inserts = tables["projects"], tables["inserts"]
    proc, url = serve(args.workers, args.server, args.threads)
    results: dict = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "workers": args.workers,
        "server": args.server,
        "threads": args.threads if args.server == "granian" else None,
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
    finally:
        proc.terminate()
        proc.wait(20)
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    path = out_dir / f"{results['when'].replace(':', '')}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"\nwritten {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
