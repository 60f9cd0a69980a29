"""Redis A/B: the Procfile's web and ws processes with REDIS_URL against without (no Celery
worker or beat on either side), PATCH @8 and bulk inserts alternated run by run.

    .venv/bin/python bench/ab_redis.py

Isolates what Redis itself costs a write from what the Celery processes' share of the CPU does
(bench/run.py's `writes` compares the whole profile against web + ws). Figures in RESULTS.md.
"""

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import serving  # noqa: E402
from bench.writes import alternated  # noqa: E402


class Args:
    runs = 5
    duration = 8
    bulk_rows = 20000
    workers = 2
    threads = 1


def serve_web_ws(redis: bool):
    """`honcho start web ws` (serve's no-Redis path), with REDIS_URL set or not."""
    orig = serving.env
    serving.env = lambda profile="production", redis=True, _want=redis: orig(
        profile, redis=_want
    )
    try:
        return serving.serve(2, "production", redis=False)
    finally:
        serving.env = orig


def main() -> None:
    state = serving.setup()
    a = serve_web_ws(True)
    b = serve_web_ws(False)
    try:
        out = alternated({"web+ws Redis": a, "web+ws no Redis": b}, state, Args())
    finally:
        a.stop()
        b.stop()
    for name, got in out.items():
        p, bl = got["PATCH @8"], got["bulk insert"]
        print(
            name,
            round(p["api"]["rps"]),
            p["api_runs_rps"],
            round(p["ratio_rps"], 3),
            "bulk",
            round(bl["api"]["rows_per_s"]),
            bl["api_runs_rows_per_s"],
            round(bl["ratio_rps"], 3),
        )
    path = f"{ROOT}/bench/results/ab-redis-{time.strftime('%Y-%m-%dT%H%M%S')}.json"
    open(path, "w").write(json.dumps(out, indent=2))
    print(path)


if __name__ == "__main__":
    main()
