"""A frozen user database under the production profile: what its base and the others see.

    .venv/bin/python bench/frozen.py [--workers 2] [--freeze 15] [--clients 4]

Serves the production profile (granian WSGI, one blocking thread per worker, PostgreSQL meta DB,
as bench/run.py) with two bases on the machine's PostgreSQL: one reached directly ("healthy"),
one through tests/freezeproxy.py ("frozen"), which freezes like a server under SIGSTOP. Clients
read the healthy base all the time; during the freeze two more read the frozen one. Run twice,
with the watchdog (bases/connections/liveness.py) and without it (NOCO_FREEZE_PROBE_AFTER=0), and prints the
healthy base's latency before and during the freeze, how long the frozen base's requests took,
and how soon it answered again after the thaw. Writes bench/results/frozen-<time>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import serving as bench  # noqa: E402
from tests.freezeproxy import FreezeProxy  # noqa: E402

SCHEMA = "noco_bench_frozen"


def prepare(proxy: FreezeProxy) -> dict:
    bench.ensure_meta_db()
    with psycopg.connect(bench.PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{SCHEMA}"')
        conn.execute(
            f'CREATE TABLE "{SCHEMA}".items AS SELECT g AS id, '
            "'item ' || g AS name FROM generate_series(1, 1000) g"
        )
        conn.execute(f'ALTER TABLE "{SCHEMA}".items ADD PRIMARY KEY (id)')
    bench.manage("migrate", "--noinput", "-v0")
    bench.manage("ensure_admin")
    owner = ("--owner", "bench@example.com")
    direct = f"{bench.PG_URL}?schema={SCHEMA}"
    frozen = direct.replace(":5432/", f":{proxy.port}/")
    healthy_base = bench.manage("connect_base", "Healthy", direct, *owner)
    frozen_base = bench.manage("connect_base", "Freezes", frozen, *owner)
    token = bench.manage("create_api_token", "bench@example.com", "--name", "frozen")
    tables = json.loads(
        bench.manage(
            "shell",
            "-c",
            "import json; from bases.models import Table; print(json.dumps({t.base_id: t.pk "
            f"for t in Table.objects.filter(base_id__in=['{healthy_base}', '{frozen_base}'])}}))",
        ).splitlines()[-1]
    )
    return {
        "token": token,
        "healthy": tables[healthy_base],
        "frozen": tables[frozen_base],
        "bases": [healthy_base, frozen_base],
    }


def get(url: str, token: str) -> tuple[int, float]:
    start = time.monotonic()
    req = urllib.request.Request(url, headers={"xc-token": token})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError:
        status = 0
    return status, time.monotonic() - start


def loop(url, token, stop: threading.Event, out: list) -> None:
    while not stop.is_set():
        status, took = get(url, token)
        out.append((time.monotonic(), status, took))


def p(values, q):
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1)


def one_run(args, state, proxy: FreezeProxy, watchdog: bool) -> dict:
    os.environ["NOCO_FREEZE_PROBE_AFTER"] = "1" if watchdog else "0"
    srv = bench.serve(args.workers, "granian", 1)
    proc, base_url = srv.proc, srv.url
    token = state["token"]
    healthy = f"{base_url}/api/v2/tables/{state['healthy']}/records?limit=25"
    frozen = f"{base_url}/api/v2/tables/{state['frozen']}/records?limit=25"
    try:
        for _ in range(20):  # warm up both bases and every worker
            get(healthy, token), get(frozen, token)
        calm, during, stuck = [], [], []
        stop = threading.Event()
        threads = [
            threading.Thread(target=loop, args=(healthy, token, stop, calm))
            for _ in range(args.clients)
        ]
        for t in threads:
            t.start()
        time.sleep(args.calm)
        proxy.freeze()
        frozen_at = time.monotonic()
        stop_frozen = threading.Event()
        hitters = [
            threading.Thread(target=loop, args=(frozen, token, stop_frozen, stuck))
            for _ in range(2)
        ]
        for t in hitters:
            t.start()
        time.sleep(args.freeze)
        proxy.thaw()
        thawed_at = time.monotonic()
        back = None
        while time.monotonic() - thawed_at < 30:
            status, _ = get(frozen, token)
            if status == 200:
                back = time.monotonic() - thawed_at
                break
            time.sleep(0.1)
        stop.set()
        stop_frozen.set()
        for t in threads + hitters:
            t.join(150)
    finally:
        proxy.thaw()
        proc.terminate()
        proc.wait(30)
    before = [took for at, s, took in calm if at < frozen_at and s == 200]
    during = [took for at, s, took in calm if frozen_at <= at - took < thawed_at]
    first_503 = [at - frozen_at for at, s, _ in stuck if s == 503]
    return {
        "watchdog": watchdog,
        "healthy_before": {
            "n": len(before),
            "p50_ms": p(before, 0.5),
            "p95_ms": p(before, 0.95),
            "max_ms": p(before, 1.0),
        },
        "healthy_during": {
            "n": len(during),
            "p50_ms": p(during, 0.5),
            "p95_ms": p(during, 0.95),
            "max_ms": p(during, 1.0),
        },
        "frozen_requests": {
            "n": len(stuck),
            "statuses": {
                str(s): sum(1 for _, x, _ in stuck if x == s)
                for s in {x for _, x, _ in stuck}
            },
            "first_503_after_s": round(min(first_503), 2) if first_503 else None,
            "median_ms": p([took for *_, took in stuck], 0.5),
            "max_ms": p([took for *_, took in stuck], 1.0),
        },
        "answers_again_after_thaw_s": round(back, 2) if back is not None else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--calm", type=float, default=5)
    parser.add_argument("--freeze", type=float, default=15)
    args = parser.parse_args()
    proxy = FreezeProxy("127.0.0.1", 5432)
    state = prepare(proxy)
    results = [one_run(args, state, proxy, watchdog) for watchdog in (True, False)]
    out = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "args": vars(args),
        "load": os.getloadavg(),
        "runs": results,
    }
    path = ROOT / "bench" / "results" / f"frozen-{out['when'].replace(':', '')}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
