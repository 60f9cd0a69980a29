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
import datetime as dt
import json
import os
import sys
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.load import (  # noqa: E402
    bulk_baseline,
    bulk_insert,
    get_json,
    median_of,
    psycopg_baseline,
    wrk,
)
from bench.serving import PG_URL, SCHEMA, serve, setup  # noqa: E402
from bench.writes import writes  # noqa: E402

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
        "--interleave",
        action="store_true",
        help="run the chosen scenarios' wrk runs in turn (S1, GQL S1, S1, …) rather than "
        "one scenario's runs after another: on a shared machine, load that comes and goes "
        "then falls on all of them alike (for comparing two scenarios)",
    )
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
            # S1's page through GraphQL (bench/lua/graphql.lua): the same query layer, the
            # same SQL; the difference is GraphQL's parse/validate/execute (issue 20: ≤ 1.5×).
            "GQL S1": (
                f"{url}/api/v2/bases/{state['base']}/graphql",
                "graphql.lua",
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
        chosen = {
            name: v
            for name, v in scenarios.items()
            if not only or any(name.startswith(o) for o in only)
        }
        for conns in [int(c) for c in args.connections.split(",")]:
            api_runs: dict[str, list] = {name: [] for name in chosen}
            if args.interleave:
                for _ in range(args.runs):
                    for name, (path, script, _sql, _params) in chosen.items():
                        api_runs[name].append(
                            wrk(path, token, conns, args.duration, script)
                        )
            for name, (path, script, sql, params_fn) in chosen.items():
                if not args.interleave:
                    api_runs[name] = [
                        wrk(path, token, conns, args.duration, script)
                        for _ in range(args.runs)
                    ]
                base_runs = [
                    psycopg_baseline(sql, params_fn, conns, min(args.duration, 5))
                    for _ in range(args.runs)
                ]
                api, base = median_of(api_runs[name]), median_of(base_runs)
                results["scenarios"][f"{name} @{conns}"] = {
                    "api": api,
                    "psycopg": base,
                    "ratio_rps": api["rps"] / base["rps"],
                    "api_runs_rps": [round(r["rps"]) for r in api_runs[name]],
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
