"""Server time per request, in process: the WSGI app called directly, no HTTP, no load generator.

    .venv/bin/python bench/profile_api.py [--n 2000] [--only S1,S4] [--profile S1] [--rounds 10]

Uses the dataset and bench base that bench/run.py sets up. Prints the median and p90 of the time
the app spends on each scenario's request (the part of a request our code controls) and the
median CPU time of this process per request (steadier on a busy machine), and with
--profile the top functions by cumulative time. --rounds R alternates the scenarios: each runs its
n requests in R slices taken in turn (S1, GQL_S1, S1, …), so that a shared machine's changing
load falls on all of them alike. wrk figures (bench/run.py) add HTTP parsing, the
server's worker model and the load generator sharing the cores.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from bench.serving import env, setup  # noqa: E402


def environ(method: str, path: str, token: str, body: bytes = b"") -> dict:
    path, _, query = path.partition("?")
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_XC_TOKEN": token,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "SERVER_PROTOCOL": "HTTP/1.1",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--only", default="")
    parser.add_argument("--profile", default="")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    state = setup()
    os.environ.update(env())
    import django

    django.setup()
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    from nocoplatform import gctune

    gctune.tune()  # as nocoplatform/wsgi.py does
    token, projects = state["token"], state["tables"]["projects"]
    rec = f"/api/v2/tables/{projects}/records"
    scenarios = {
        "S1": (
            "GET",
            f"{rec}?where=(status,eq,active)&sort=-created_at&fields=id,name,status,created_at&limit=25",
            None,
        ),
        "S2": ("GET", f"{rec}?limit=25", None),
        "S4": ("GET", lambda i: f"{rec}/{(i * 104729) % 1000000 + 1}", None),
        "S5": ("GET", f"{rec}?limit=100", None),
        "PATCH": (
            "PATCH",
            rec,
            lambda i: (
                f'{{"id": {(i * 7919) % 100000 + 1}, "priority": {i % 5 + 1}}}'.encode()
            ),
        ),
    }
    # S1's page through GraphQL (issue 20: within 1.5x of REST's S1).
    scenarios["GQL_S1"] = (
        "POST",
        f"/api/v2/bases/{state['base']}/graphql",
        orjson.dumps(
            {
                "query": '{ projects(where: "(status,eq,active)", sort: "-created_at", '
                "limit: 25) { list { id name status created_at } "
                "pageInfo { totalRows next } } }"
            }
        ),
    )
    inserts = state["tables"]["inserts"]
    bulk = orjson.dumps(
        [
            {
                "name": f"Bulk {i}",
                "status": "planned",
                "priority": 1 + i % 5,
                "budget": "10.50",
                "due_date": "2025-01-01",
                "done": False,
                "created_at": "2025-01-01T00:00:00Z",
                "client_id": 1 + i % 10000,
            }
            for i in range(1000)
        ]
    )
    # 1000 rows per request, as bench/run.py's bulk insert sends them.
    scenarios["BULK"] = ("POST", f"/api/v2/tables/{inserts}/records", bulk)
    only = {s for s in args.only.split(",") if s}

    def call(method, path, body, i):
        status = []
        p = path(i) if callable(path) else path
        b = body(i) if callable(body) else (body or b"")
        out = app(environ(method, p, token, b), lambda s, h, *a: status.append(s))
        data = b"".join(out)
        if not status[0].startswith("200"):
            raise SystemExit(f"{p}: {status[0]} {data[:300]!r}")

    chosen = {n: v for n, v in scenarios.items() if not only or n in only}
    for method, path, body in chosen.values():
        for i in range(50):
            call(method, path, body, i)
    times = {name: [] for name in chosen}
    cpu = {name: [] for name in chosen}
    profs = {name: cProfile.Profile() for name in chosen if name == args.profile}
    rounds = max(args.rounds, 1)
    for r in range(rounds):
        for name, (method, path, body) in chosen.items():
            prof = profs.get(name)
            for i in range(r * args.n // rounds, (r + 1) * args.n // rounds):
                t0, c0 = time.perf_counter(), time.thread_time()
                if prof:
                    prof.enable()
                call(method, path, body, i)
                if prof:
                    prof.disable()
                times[name].append((time.perf_counter() - t0) * 1000)
                cpu[name].append((time.thread_time() - c0) * 1000)
    for name in chosen:
        t, c = sorted(times[name]), sorted(cpu[name])
        # Wall time includes waiting for the database; CPU time is this process's own work,
        # steadier on a busy machine; its 10th percentile is steadier still (others' load only adds).
        print(
            f"{name:>6}: median {statistics.median(t):.3f} ms, p90 {t[int(len(t) * 0.9)]:.3f} ms,"
            f" CPU median {statistics.median(c):.3f} ms, CPU p10 {c[len(c) // 10]:.3f} ms"
        )
        if name in profs:
            s = io.StringIO()
            pstats.Stats(profs[name], stream=s).sort_stats(
                os.environ.get("PROFILE_SORT", "cumulative")
            ).print_stats(45)
            print(s.getvalue())


if __name__ == "__main__":
    main()
