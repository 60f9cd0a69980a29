"""Garbage collector settings for the server processes (wsgi.py, asgi.py).

The app is loaded in full first, URLconf and views included (Django would import them in the
first request). Then its objects — modules, settings, URL patterns, metadata built at import —
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
    load_urlconf()
    if os.environ.get("NOCO_GC_FREEZE", "true").lower() == "false":
        return
    gc.collect()
    gc.freeze()


def load_urlconf() -> None:
    """Import the URLconf, and with it every view module, now: Django does it in the first
    request, which took ~200 ms longer for it (the first edits after a start were the whole
    tail of bench/realtime.py), and what it loads then is not frozen."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (the property imports the URLconf)
