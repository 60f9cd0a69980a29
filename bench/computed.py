"""Issue 18's speed target: a page of 25 projects with lookups, a rollup over a has-many link and
formulas, against the plain page, on the 1M-row dataset (bench/dataset.py).

    .venv/bin/python bench/computed.py [--duration 4] [--runs 3] [--connections 1,8]

The dataset's projects belong to clients (client_id): the page's computed fields are the
lookups `Client name` and `Client city` (belongs-to) and `Client total`, a lookup of the clients'
rollup `Total budget` (sum of their ~100 projects' budgets, over the has-many link), so each
page row runs the rollup's aggregate; plus two formulas when the Formula type is registered
(`Budget x1.2`, `Label`). Served by `make run`'s command (one uvicorn process, SQLite meta DB
under bench/var/make-run/, no Redis: the lightest profile, the same query layer). Prints the
requests/s of each page, the ratio, and PostgreSQL's plan for a filter and a sort by the rollup.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.dataset import build  # noqa: E402
from bench.load import get_json, median_of, wrk  # noqa: E402
from bench.serving import PG_URL, SCHEMA, manage, serve, var_dir  # noqa: E402

PLAIN = ["id", "name", "status", "created_at", "budget"]
LOOKUPS = ["Client name", "Client city", "Client total"]
FORMULAS = {"Budget x1.2": "{budget} * 1.2", "Label": '{name} & " · " & {status}'}

EXPLAIN = """
import json
from bases.models import Field, Table
from bases.query.dialects import dialect_for
from bases.query.expressions import field_sql
from bases.sources import user_db
out = {}
for table_id, title, limit, label in (
    (%(clients)r, "Total budget", 5000000, "rollup"),
    (%(projects)r, "Budget x1.2", 60000, "formula"),
):
    table = Table.objects.get(pk=table_id)
    field = Field.objects.get(table=table, title=title)
    with user_db(table.source) as conn:
        d = dialect_for(conn)
        own = d.quote(table.table_name)
        expr = field_sql(d, field, own)
        for name, sql in (
            ("filter", f"SELECT {own}.id FROM {own} WHERE {expr.sql} > %%s LIMIT 25"),
            ("sort", f"SELECT {own}.id FROM {own} ORDER BY {expr.sql} DESC LIMIT 25"),
        ):
            with conn.cursor() as cur:
                params = [*expr.params, limit] if name == "filter" else list(expr.params)
                cur.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql, params)
                out[f"{name} by the {label}"] = [r[0] for r in cur.fetchall()]
print(json.dumps(out))
"""


def post(url: str, token: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"xc-token": token, "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def ensure_fields(url: str, token: str, tables: dict) -> list[str]:
    """Create the computed fields once (the make-run meta DB keeps them); the formulas'
    titles that exist (none when the Formula type is not registered)."""
    meta = f"{url}/api/v2/meta/tables"

    def columns(table):
        return {
            c["title"]: c for c in get_json(f"{meta}/{tables[table]}", token)["columns"]
        }

    clients, projects = columns("clients"), columns("projects")
    to_projects = next(
        c for c in clients.values() if c["uidt"] == "LinkToAnotherRecord"
    )
    to_client = next(c for c in projects.values() if c["uidt"] == "LinkToAnotherRecord")
    if "Total budget" not in clients:
        status, body = post(
            f"{meta}/{tables['clients']}/columns",
            token,
            {
                "uidt": "Rollup",
                "title": "Total budget",
                "fk_relation_column_id": to_projects["id"],
                "fk_rollup_column_id": projects["budget"]["id"],
                "rollup_function": "sum",
            },
        )
        assert status == 201, body
        clients = columns("clients")
    for title, target in (
        ("Client name", "name"),
        ("Client city", "city"),
        ("Client total", "Total budget"),
    ):
        if title not in projects:
            status, body = post(
                f"{meta}/{tables['projects']}/columns",
                token,
                {
                    "uidt": "Lookup",
                    "title": title,
                    "fk_relation_column_id": to_client["id"],
                    "fk_lookup_column_id": clients[target]["id"],
                },
            )
            assert status == 201, body
    made = []
    for title, formula in FORMULAS.items():
        if title in projects:
            made.append(title)
            continue
        status, body = post(
            f"{meta}/{tables['projects']}/columns",
            token,
            {"uidt": "Formula", "title": title, "formula_raw": formula},
        )
        if status == 201:
            made.append(title)
        else:
            print(f"formula {title!r} not created ({status}): {body}", flush=True)
    return made


def setup_make_run() -> dict:
    """bench/serving.py's setup("make-run") without re-creating the shared `inserts` table
    (other benchmarks may be writing to it): the dataset only read, a base in this
    checkout's own SQLite meta DB, its token and table ids."""
    var = var_dir("make-run")
    var.mkdir(parents=True, exist_ok=True)
    build(PG_URL, SCHEMA)
    manage("migrate", "--noinput", "-v0", profile="make-run")
    manage("ensure_admin", profile="make-run")
    state_file = var / "computed-state.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    if not state.get("base"):
        state["base"] = manage(
            "connect_base",
            "Bench",
            f"{PG_URL}?schema={SCHEMA}",
            "--owner",
            "bench@example.com",
            profile="make-run",
        )
        state["token"] = manage(
            "create_api_token",
            "bench@example.com",
            "--name",
            "bench",
            profile="make-run",
        )
    ids = manage(
        "shell",
        "-c",
        "import json; from bases.models import Table; "
        f"print(json.dumps({{t.table_name: t.pk for t in Table.objects.filter(base_id='{state['base']}')}}))",
        profile="make-run",
    ).splitlines()[-1]
    state["tables"] = json.loads(ids)
    state_file.write_text(json.dumps(state))
    return state


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", default="1,8")
    args = parser.parse_args()
    state = setup_make_run()
    token, tables = state["token"], state["tables"]
    srv = serve(1, "make-run")
    results = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load": os.getloadavg(),
        "cpus": os.cpu_count(),
        "scenarios": {},
    }
    try:
        formulas = ensure_fields(srv.url, token, tables)
        rec = f"{srv.url}/api/v2/tables/{tables['projects']}/records"
        computed = PLAIN + LOOKUPS + formulas
        pages = {
            "plain page of 25": f"{rec}?limit=25&fields={quote(','.join(PLAIN))}",
            "computed page of 25": f"{rec}?limit=25&fields={quote(','.join(computed))}",
        }
        sample = get_json(pages["computed page of 25"], token)
        results["sample_row"] = sample["list"][0]
        print("a computed row:", json.dumps(sample["list"][0], default=str))
        for path in pages.values():
            wrk(path, token, 8, 2)  # warm
        for conns in [int(c) for c in args.connections.split(",")]:
            got = {}
            for name, path in pages.items():
                got[name] = median_of(
                    [wrk(path, token, conns, args.duration) for _ in range(args.runs)]
                )
                results["scenarios"][f"{name} @{conns}"] = got[name]
                print(
                    f"{name:>22} @{conns}: {got[name]['rps']:7.0f} req/s "
                    f"p50 {got[name]['p50_ms']:6.1f} ms p99 {got[name]['p99_ms']:6.1f} ms",
                    flush=True,
                )
            ratio = got["plain page of 25"]["rps"] / got["computed page of 25"]["rps"]
            results["scenarios"][f"cost ratio @{conns}"] = ratio
            print(f"{'computed / plain cost':>22} @{conns}: {ratio:.2f}×", flush=True)
        plans = manage(
            "shell",
            "-c",
            EXPLAIN % {"clients": tables["clients"], "projects": tables["projects"]},
            profile="make-run",
        ).splitlines()[-1]
        results["explain"] = json.loads(plans)
        for name, lines in results["explain"].items():
            print(f"\nEXPLAIN {name}:\n  " + "\n  ".join(lines))
    finally:
        srv.stop()
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    path = out_dir / f"computed-{results['when'].replace(':', '')}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nwritten {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
