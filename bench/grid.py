"""Grid speed, in process: server time of the grid's requests on the 1M-row `projects` table.

Uses the benchmark dataset and setup of bench/run.py (README "Benchmarks"; the dataset is reused
when present), in its own meta DB, and drives the full Django stack (middleware, auth, sessions,
templates) with django.test.Client — no network, no load generator: what is measured is the
server's own time per request.

    .venv/bin/python bench/grid.py [--runs 40]

Targets (issue 4): first grid page ≤ 60 ms median, a 100-row scroll window ≤ 40 ms, a cell
save ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault(
    "BENCH_META_URL", "postgresql://postgres@127.0.0.1:5432/noco_bench_grid_meta"
)

from bench import serving  # noqa: E402


def timed(fn, runs: int) -> dict:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 1),
        "min_ms": round(samples[0], 1),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    state = serving.setup()
    env = serving.env()
    env["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from bases.models import Table

    table = Table.objects.get(pk=state["tables"]["projects"])
    base = f"/bases/{table.base_id}/tables/{table.pk}/"
    name = table.fields.get(column_name="name")
    columns = table.fields.filter(is_system=False).count()
    client = Client()
    client.force_login(get_user_model().objects.get(email="bench@example.com"))

    def ok(response):
        if response.status_code != 200:
            raise SystemExit(f"{response.status_code}: {response.content[:300]!r}")
        return response

    page = ok(client.get(base))  # warm: metadata cache, connections, templates
    html = page.content.decode()
    config = json.loads(
        html.split('id="grid-config" type="application/json">')[1].split("</script>")[0]
    )
    results = {"table_rows": config["total"], "estimated": config["estimated"]}
    results["first_page"] = timed(lambda: ok(client.get(base)), args.runs)

    # Scroll: follow the cursors window after window, from the first page's `next`.
    cursors = [config["next"]]

    def window():
        response = ok(
            client.get(
                base + "grid/rows",
                {"cursor": cursors[-1], "limit": 100, "view": config["view"]},
            )
        )
        cursors.append(response["X-Grid-Next"])

    results["scroll_window_100"] = timed(window, args.runs)
    start = config["window"] * 400

    def deep_window():
        ok(
            client.get(
                base + "grid/rows",
                {"offset": start, "limit": 100, "start": start, "view": config["view"]},
            )
        )

    results["jump_offset_40000"] = timed(deep_window, max(5, args.runs // 4))
    end = (config["total"] // 100 - 1) * 100

    def end_window():
        ok(
            client.get(
                base + "grid/rows",
                {"offset": end, "limit": 100, "start": end, "view": config["view"]},
            )
        )

    results["jump_to_end"] = timed(end_window, 5)
    counter = iter(range(10**9))

    def save():
        # Each save writes a row's own name back (an UPDATE like any other; the dataset
        # stays as bench/dataset.py made it).
        record = 1 + next(counter) % 1000
        ok(
            client.post(
                f"{base}cells/{record}/{name.pk}",
                {"value": f"Project {record}"},
                HTTP_X_GRID_EDITOR="1",
            )
        )

    results["cell_save"] = timed(save, args.runs)
    results["columns"] = columns
    stamp = time.strftime("%Y-%m-%dT%H%M%S%z")
    out = ROOT / "bench" / "results" / f"grid-{stamp}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
