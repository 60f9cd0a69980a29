"""Per-process cache of what an API token's query answered, invalidated by PostgreSQL NOTIFY.

Every records request used to spend one meta-DB round trip on its token: the token, its user,
the table's metadata version and the caller's role there (permissions/auth.py reads them in one
query). On a PostgreSQL meta DB that answer is now kept per process, keyed by (token hash, table
id), and thrown away as soon as anything it depends on changes:

- triggers on the tables it reads (tokens, users, memberships, table overrides, tables, data
  sources — permissions/migrations/0003) run `pg_notify('noco_auth', …)` when their rows change,
  whoever changes them: this app, another process, a migration, an admin's psql session;
- each process listens on its own connection (one daemon thread) and empties its cache on every
  notification. PostgreSQL sends it when the writing transaction commits, so another process
  stops using the old answer a few milliseconds after the commit;
- while that connection is down (or not yet up) nothing is cached or served from the cache:
  every request reads the database, as without the cache. A heartbeat every 15 s finds a dead
  connection; entries also expire after a minute whatever happens, which is also when the
  token's `last_used_at` is next due for a write.

A request that read the database while a notification arrived does not store its (possibly
older) answer: `generation()` is taken before the query and `put` refuses a changed generation.

Off on a SQLite meta DB (no NOTIFY; one process, the database is a file read in microseconds),
or with NOCO_AUTH_CACHE=false.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django.conf import settings
from django.db import connection, transaction

log = logging.getLogger(__name__)

CHANNEL = "noco_auth"
TTL = 60.0  # seconds an answer is used at most, notification or not
HEARTBEAT = 15.0  # seconds between checks that the listening connection is alive
MAX_ENTRIES = 10_000

# Keys of a Django PostgreSQL OPTIONS dict that are not libpq connection parameters.
_NOT_LIBPQ = {
    "pool",
    "prepare_threshold",
    "isolation_level",
    "server_side_binding",
    "assume_role",
    "cursor_factory",
    "context",
}


class AuthCache:
    def __init__(self, conninfo: dict):
        self.conninfo = conninfo
        self._lock = threading.Lock()
        self._entries: dict = {}
        self._generation = 0
        self.listening = False
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._listen, name="noco-auth-cache", daemon=True
        )
        self._thread.start()

    # -- what requests use -------------------------------------------------------------------

    def get(self, key):
        if not self.listening:
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if time.monotonic() >= expires:
            self._entries.pop(key, None)
            return None
        return value

    def generation(self) -> int | None:
        """Take before reading the database; None when nothing may be stored now."""
        return self._generation if self.listening else None

    def put(self, key, value, generation: int | None) -> None:
        with self._lock:
            if (
                generation is None
                or generation != self._generation
                or not self.listening
            ):
                return  # something changed (or stopped listening) since the read
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + TTL, value)

    def clear(self, *, listening: bool | None = None) -> None:
        with self._lock:
            self._entries = {}
            self._generation += 1
            if listening is not None:
                self.listening = listening

    def stop(self) -> None:
        """Tests: end the listening thread and its connection."""
        import psycopg

        self._stop.set()
        self.clear(listening=False)
        try:  # wake the listener from its wait
            with psycopg.connect(**self.conninfo, autocommit=True) as conn:
                conn.execute("SELECT pg_notify(%s, 'stop')", [CHANNEL])
        except Exception as exc:  # it wakes by itself at the next heartbeat
            log.debug("auth cache: could not wake the listener (%s)", exc)
        self._thread.join(HEARTBEAT + 5)

    # -- the listening thread ----------------------------------------------------------------

    def _listen(self) -> None:
        import psycopg

        delay = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    **self.conninfo,
                    autocommit=True,
                    connect_timeout=5,
                    keepalives=1,
                    keepalives_idle=10,
                    keepalives_interval=5,
                    keepalives_count=3,
                    application_name="nocoplatform auth cache",
                ) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.clear(listening=True)
                    delay = 0.5
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=HEARTBEAT):
                            self.clear()
                            if self._stop.is_set():
                                break
                        conn.execute("SELECT 1")  # raises if the connection died
            except Exception as exc:
                if not self._stop.is_set():
                    log.warning("auth cache: not listening (%s); retrying", exc)
            finally:
                self.clear(listening=False)
            self._stop.wait(delay)
            delay = min(delay * 2, 30.0)


_cache: AuthCache | None = None
_cache_pid: int | None = None
_start_lock = threading.Lock()


def _conninfo(settings_dict: dict) -> dict:
    info = {
        "dbname": settings_dict.get("NAME"),
        "user": settings_dict.get("USER"),
        "password": settings_dict.get("PASSWORD"),
        "host": settings_dict.get("HOST"),
        "port": settings_dict.get("PORT"),
    }
    for key, value in (settings_dict.get("OPTIONS") or {}).items():
        if key not in _NOT_LIBPQ and isinstance(value, str | int):
            info[key] = value
    return {k: v for k, v in info.items() if v not in (None, "")}


def enabled() -> bool:
    return connection.vendor == "postgresql" and getattr(
        settings, "NOCO_AUTH_CACHE", True
    )


def current() -> AuthCache | None:
    """This process's cache, its listener started on first use (after a fork too)."""
    global _cache, _cache_pid
    if _cache is not None and _cache_pid == os.getpid():
        return _cache
    if not enabled():
        return None
    with _start_lock:
        if _cache is None or _cache_pid != os.getpid():
            _cache = AuthCache(_conninfo(connection.settings_dict))
            _cache_pid = os.getpid()
    return _cache


def reset() -> None:
    """Tests: stop this process's listener and forget the cache."""
    global _cache, _cache_pid
    with _start_lock:
        if _cache is not None and _cache_pid == os.getpid():
            _cache.stop()
        _cache, _cache_pid = None, None


def forget_on_commit() -> None:
    """Empty this process's cache when the current meta-DB transaction commits (at once outside
    one). The NOTIFY empties every process's cache, this one's included, but it reaches the
    listener thread a moment after the commit: a request served by this process right after
    its own revoke or role change could still have used the old answer. Called by the services
    that change what the token query reads (permissions/services.py)."""

    def clear() -> None:
        cache = _cache if _cache_pid == os.getpid() else None
        if cache is not None:
            cache.clear()

    transaction.on_commit(clear)
