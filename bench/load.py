"""Load and its baselines: wrk against the API, the same SQL through psycopg, bulk inserts
through the API and straight into PostgreSQL, and the medians of runs."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import threading
import time
import urllib.request

import psycopg

from bench.serving import PG_URL, ROOT, SCHEMA


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
