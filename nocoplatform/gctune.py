"""Garbage collector settings for the server processes (wsgi.py, asgi.py).

Once the app is loaded, its objects — modules, settings, URL patterns, metadata built at import —
are moved out of the collector's sight (`gc.freeze`): they live as long as the process, and the
collector's full passes walked them all again and again. A 1000-row bulk request allocates a few
hundred thousand objects and triggered such passes; freezing cut its p90 in process from about
120 ms to 65 ms (bench/RESULTS.md). Collection thresholds stay Python's: raising the youngest
generation's gave no measurable gain and a worse p99 on small requests.
NOCO_GC_FREEZE=false keeps Python's defaults.
"""

import gc
import os


def tune() -> None:
    if os.environ.get("NOCO_GC_FREEZE", "true").lower() == "false":
        return
    gc.collect()
    gc.freeze()
