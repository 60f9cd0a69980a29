"""Issue 18's fill of a new kept field from the record history (history/backfill.py) on a big
table: N rows in a table of the PostgreSQL built-in store, each with an insert entry (a
different time per row: the worst case, one CASE branch per row) and every other row an
update entry by a second user; then a CreatedTime and a LastModifiedBy field are added and
filled to the end.

    .venv/bin/python bench/kept_fill.py [--rows 1000000] [--small 100000]

Each size runs in a child process; its peak RSS (ru_maxrss) at both sizes shows whether memory
grows with the table. Settings: `make run`'s (local, SQLite meta DB under bench/var/kept-fill/)
with NOCO_STORE_URL on PostgreSQL and the `manual` runner (the fill's background part is run
in the same process, to time it). Prints JSON and writes it to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
PY = str(ROOT / ".venv" / "bin" / "python")
VAR = ROOT / "bench" / "var" / "kept-fill"


def child_env() -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.local",
        "NOCO_VAR_DIR": str(VAR),
        "NOCO_STORE_URL": PG_URL,
        "NOCO_WEBHOOKS_RUNNER": "manual",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    return env


def child(rows: int) -> None:
    import datetime as dt

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connections, transaction

    from bases.schema_services import field_create, table_create
    from bases.services import base_create, base_delete
    from bases.sources import source_alias
    from history import backfill
    from history.models import RecordChange
    from permissions.checks import Actor

    users = get_user_model().objects
    ada = users.get_or_create(username="ada@bench", email="ada@bench")[0]
    bob = users.get_or_create(username="bob@bench", email="bob@bench")[0]
    actor = Actor(user=ada)
    base = base_create(actor=actor, title="Kept fill bench")
    try:
        table = table_create(
            actor=actor,
            base=base,
            title="Rows",
            columns=[{"title": "Name", "uidt": "SingleLineText"}],
        )
        data = connections[source_alias(table.source)]
        q = data.ops.quote_name
        name = table.fields.get(title="Name").column_name
        with data.cursor() as cur:
            cur.execute(
                f"INSERT INTO {q(table.table_name)} ({q(name)}) "
                "SELECT 'row ' || g FROM generate_series(1, %s) g",
                [rows],
            )
        start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        meta = connections["default"]
        sql = (
            f"INSERT INTO {RecordChange._meta.db_table} (table_id, record_id, kind, "
            "changes, user_id, via, actor_name, token_name, created_at) "
            "VALUES (%s, %s, %s, '{}', %s, 'user', '', '', %s)"
        )
        t0 = time.perf_counter()
        with transaction.atomic(), meta.cursor() as cur:
            for lo in range(1, rows + 1, 20000):
                ids = range(lo, min(lo + 20000, rows + 1))
                cur.executemany(
                    sql,
                    [
                        (
                            table.pk,
                            str(i),
                            "insert",
                            ada.pk,
                            start + dt.timedelta(seconds=i),
                        )
                        for i in ids
                    ]
                    + [
                        (
                            table.pk,
                            str(i),
                            "update",
                            bob.pk,
                            start + dt.timedelta(days=30, seconds=i),
                        )
                        for i in ids
                        if i % 2 == 0
                    ],
                )
        setup_s = time.perf_counter() - t0
        out = {
            "rows": rows,
            "history_entries": rows + rows // 2,
            "setup_s": round(setup_s, 1),
        }
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for title, uidt in (("Created", "CreatedTime"), ("Editor", "LastModifiedBy")):
            t0 = time.perf_counter()
            field = field_create(
                actor=actor, table=table, data={"title": title, "uidt": uidt}
            )
            inline_s = time.perf_counter() - t0  # the create, its first chunk included
            t1 = time.perf_counter()
            backfill.run(field.pk)
            rest_s = time.perf_counter() - t1
            with data.cursor() as cur:
                cur.execute(
                    f"SELECT count({q(field.column_name)}) FROM {q(table.table_name)}"
                )
                filled = cur.fetchone()[0]
            out[uidt] = {
                "create_with_first_chunk_s": round(inline_s, 2),
                "rest_s": round(rest_s, 1),
                "rows_per_s": round(rows / (inline_s + rest_s)),
                "filled": filled,
            }
        out["rss_before_fill_mb"] = round(rss0 / 1024, 1)
        out["peak_rss_mb"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        )
        print(json.dumps(out))
    finally:
        RecordChange.objects.filter(table__base=base).delete()
        base_delete(actor=actor, base=base)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--child", type=int)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    VAR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [PY, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=child_env(), check=True
    )
    results = []
    for rows in (args.small, args.rows):
        done = subprocess.run(
            [PY, __file__, "--child", str(rows)],
            cwd=ROOT,
            env=child_env(),
            check=True,
            capture_output=True,
            text=True,
        )
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
    stamp = time.strftime("%Y-%m-%dT%H%M%S%z")
    (ROOT / "bench" / "results" / f"{stamp}-kept-fill.json").write_text(
        json.dumps({"bench": "kept_fill", "results": results}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
