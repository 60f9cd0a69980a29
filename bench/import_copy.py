"""Issue 19's import target: a 1,000,000-row, 8-column CSV into a NEW table of the PostgreSQL
built-in store in under 60 s, memory flat, next to the same file loaded by `psql \\copy`.

    .venv/bin/python bench/import_copy.py [--rows 1000000] [--small 100000] [--runs 2]

The CSV (a whole number, a decimal, an ISO date, a name, a yes/no, an email, a status of five
values, a free text) is generated once under /tmp. Each import runs in a child process that
goes the real job path, as the page and the API do: `imports.newtable.job_create` with the file
(streamed to disk in 64 KiB chunks, types guessed), `job_start` (queued on commit, run by the
embedded runner's thread), then polled until done — check pass, `table_create`, COPY. Its wall
time is upload to done; its peak RSS is the child's `ru_maxrss` (os.wait4), so the figure at
100k and 1M rows shows whether memory grows with the file. Settings: `make run`'s (local
settings, SQLite meta DB under bench/var/import-copy/) with NOCO_STORE_URL on PostgreSQL, and
NOCO_IMPORT_MAX_SIZE raised to 1 GB (the 1M-row file is ~110 MB; the default cap is 50 MB).

Baseline: `psql \\copy` of the same file (FORMAT csv, HEADER) into a table of the same column
types (bigint, numeric(20,2), date, varchar(255), boolean, varchar(255) ×3) in schema
noco_bench_import. Prints a JSON summary (medians of --runs) and writes it to bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
PY = str(ROOT / ".venv" / "bin" / "python")
VAR = ROOT / "bench" / "var" / "import-copy"
BASELINE_SCHEMA = "noco_bench_import"
HEADER = ["Seq", "Amount", "Day", "Name", "Active", "Email", "Status", "Note"]
STATUSES = ["new", "open", "paid", "late", "closed"]
WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()


def generate(path: Path, rows: int) -> None:
    if path.exists() and path.stat().st_size > 0:
        return
    rnd = random.Random(19)
    start = dt.date(2020, 1, 1)
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(",".join(HEADER) + "\n")
        lines = []
        for i in range(1, rows + 1):
            name = f"{rnd.choice(WORDS).title()} {rnd.choice(WORDS).title()} {i}"
            note = " ".join(rnd.choices(WORDS, k=rnd.randint(2, 8)))
            if i % 97 == 0:
                note = f'"{note}, with a comma"'
            lines.append(
                f"{i},{rnd.randint(0, 10**7) / 100:.2f},"
                f"{(start + dt.timedelta(days=rnd.randint(0, 2500))).isoformat()},"
                f"{name},{rnd.choice(('yes', 'no'))},user{i}@example.com,"
                f"{rnd.choice(STATUSES)},{note}\n"
            )
            if len(lines) >= 10000:
                out.write("".join(lines))
                lines = []
        out.write("".join(lines))


def child_env() -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.local",
        "NOCO_VAR_DIR": str(VAR),
        "NOCO_STORE_URL": PG_URL,
        "NOCO_IMPORT_MAX_SIZE": str(1024**3),
        "NOCO_WEBHOOKS_RUNNER": "embedded",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    return env


def run_child(csv_path: Path) -> dict:
    """One import in a child process: its JSON line plus its peak RSS."""
    proc = subprocess.Popen(
        [PY, __file__, "--child", str(csv_path)],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"import child failed ({proc.returncode}): {out}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)  # KiB on Linux
    return result


def child(csv_path: str) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.files import File

    from bases.services import base_create, base_delete
    from imports import newtable
    from imports.models import NewTableJob
    from permissions.checks import Actor

    user, _ = get_user_model().objects.get_or_create(
        email="bench-import@example.com", defaults={"username": "bench-import"}
    )
    actor = Actor(user=user)
    base = base_create(actor=actor, title=f"import bench {time.time():.0f}")
    try:
        t0 = time.perf_counter()
        with open(csv_path, "rb") as f:
            job = newtable.job_create(actor=actor, base=base, upload=File(f))
        t_upload = time.perf_counter() - t0
        types = [c["type"] for c in job.columns]
        newtable.job_start(actor=actor, job=job)  # on commit → the runner's thread
        while True:
            time.sleep(0.2)
            job = NewTableJob.objects.get(pk=job.pk)
            if job.status in ("done", "failed"):
                break
        wall = time.perf_counter() - t0
        if job.status != "done":
            raise SystemExit(job.error)
        print(
            json.dumps(
                {
                    "rows": job.done,
                    "wall_s": round(wall, 2),
                    "upload_and_guess_s": round(t_upload, 2),
                    "types": types,
                }
            )
        )
    finally:
        base_delete(actor=actor, base=base)


def baseline(csv_path: Path) -> float:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {BASELINE_SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {BASELINE_SCHEMA}")
        conn.execute(
            f"CREATE TABLE {BASELINE_SCHEMA}.t (id bigserial PRIMARY KEY, seq bigint, "
            "amount numeric(20,2), day date, name varchar(255), active boolean, "
            "email varchar(255), status varchar(255), note varchar(255))"
        )
    t0 = time.perf_counter()
    subprocess.run(
        [
            "psql",
            PG_URL,
            "-q",
            "-c",
            f"\\copy {BASELINE_SCHEMA}.t (seq, amount, day, name, active, email, "
            f"status, note) FROM '{csv_path}' WITH (FORMAT csv, HEADER true)",
        ],
        check=True,
    )
    took = time.perf_counter() - t0
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {BASELINE_SCHEMA} CASCADE")
    return took


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--small", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--child")
    args = p.parse_args()
    if args.child:
        return child(args.child)
    VAR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [PY, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=child_env(), check=True
    )
    big = Path(f"/tmp/noco-import-{args.rows}.csv")
    small = Path(f"/tmp/noco-import-{args.small}.csv")
    generate(big, args.rows)
    generate(small, args.small)
    load = os.getloadavg()
    summary: dict = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "loadavg_at_start": [round(x, 2) for x in load],
        "file_mb": round(big.stat().st_size / 1e6, 1),
    }
    for label, path in (("small", small), ("big", big)):
        runs = [run_child(path) for _ in range(args.runs)]
        summary[label] = {
            "rows": runs[0]["rows"],
            "types": runs[0]["types"],
            "wall_s_runs": [r["wall_s"] for r in runs],
            "wall_s_median": statistics.median(r["wall_s"] for r in runs),
            "peak_rss_mb_runs": [r["peak_rss_mb"] for r in runs],
            "upload_and_guess_s": [r["upload_and_guess_s"] for r in runs],
        }
        print(label, json.dumps(summary[label]), flush=True)
    copies = [baseline(big) for _ in range(args.runs)]
    summary["psql_copy_s_runs"] = [round(c, 2) for c in copies]
    summary["psql_copy_s_median"] = round(statistics.median(copies), 2)
    summary["ratio_to_psql_copy"] = round(
        summary["big"]["wall_s_median"] / summary["psql_copy_s_median"], 2
    )
    summary["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%M%S+0000")
    (out / f"import-copy-{stamp}.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
