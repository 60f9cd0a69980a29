"""A background job's liveness, said by a thread of the process running it.

A job's sweeper (imports/recovery.py, history/backfill.py::resume_stalled) takes over a job
whose heartbeat is older than NOCO_JOB_STALE_SECONDS. Heartbeats written from the job's own
loops stop during any single long step — the COMMIT of a million-row transaction, an index
build, a slow statement near its timeout, packing an XLSX file — and a live job would look
dead. `beating` runs the heartbeat on a daemon thread of its own instead, for as long as the
job's code runs: the heartbeat then means "the process running it is alive", which is what a
sweeper needs to know. A process that dies takes the thread with it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection

log = logging.getLogger(__name__)


def stale_seconds() -> float:
    """A job whose heartbeat is older than this lost its process."""
    return float(settings.NOCO_JOB_STALE_SECONDS)


def interval() -> float:
    """How often a running job says it is alive: well inside the stale threshold."""
    return max(0.2, min(5.0, stale_seconds() / 4))


@contextmanager
def beating(beat: Callable[[], object], *, name: str) -> Iterator[None]:
    """Call `beat()` every `interval()` seconds on a daemon thread while the block runs.

    `beat` writes the heartbeat (a conditional UPDATE that only touches the job while it is
    still this run's). Its failure (the meta DB hiccups) is logged and tried again at the next
    tick, never raised into the job. The thread ends as soon as the block does, however it
    ends, and closes its own database connection (Django's are per thread)."""
    stop = threading.Event()

    def loop() -> None:
        try:
            while not stop.wait(interval()):
                try:
                    beat()
                except Exception:
                    log.warning(
                        "%s: the heartbeat failed; trying again", name, exc_info=True
                    )
        finally:
            connection.close()

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        # At once unless a beat is inside a statement; one stuck on a meta DB that hangs
        # must not hold the job's end: it finishes alone (a daemon) and, being conditional,
        # no longer touches a job that has ended.
        thread.join(timeout=10)
