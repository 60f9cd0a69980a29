"""A frozen database server holds no request beyond a few seconds, and no other base at all.

A server that stopped answering without closing its connections (SIGSTOP, a hung VM, a network
that drops packets silently) gets no help from the timeouts on its side: `statement_timeout`
needs the server to run, and the kernel still acknowledges what is sent to it, so TCP keepalives
see nothing wrong. A request reading from it would wait for as long as the freeze lasts, and in
the production profile (one blocking thread per worker) every base behind that worker with it.

So every request that uses a user database registers its connection here for the duration
(`in_use`, called by `bases.sources.user_db`). A watchdog thread looks twice a second: when a
connection has been busy for NOCO_FREEZE_PROBE_AFTER seconds, it opens a *new* connection to the
same server with a short timeout (NOCO_FREEZE_PROBE_TIMEOUT). A live server answers that in
milliseconds, however slow the busy query is, and nothing more happens (the statement timeout
deals with slow queries). A server that does not answer is frozen: the watchdog shuts down the
sockets of that server's busy connections — the blocked driver call fails at once with a lost
connection, answered 503 DATABASE_UNAVAILABLE — and marks the base down, so its next requests
answer 503 without waiting. While a base is down because it froze, the watchdog keeps probing
it in the background and lifts the mark as soon as the server answers: no request is spent on
finding out.

The down marks (`mark_down`, `down_until`) also serve the plain "cannot connect" case of
`user_db`. SQLite files are local and never probed.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.db.backends.signals import connection_created

log = logging.getLogger(__name__)

TICK = 0.25  # seconds between the watchdog's looks
GIVE_UP_AFTER = 300.0  # seconds a frozen server is probed in the background

_lock = threading.Lock()
_busy: dict[int, _Use] = {}  # id(use) -> use
# alias -> (monotonic time until which the database counts as down, why)
_down: dict[str, tuple[float, str]] = {}
# alias -> (a Django wrapper to probe it with, when it was found frozen), while frozen
_frozen: dict[str, tuple[object, float]] = {}
_probing: set[str] = set()
_last_probe: dict[str, float] = {}
_watchdog: threading.Thread | None = None
_probes = ThreadPoolExecutor(4, thread_name_prefix="db-liveness")


@dataclass(eq=False)
class _Use:
    alias: str
    wrapper: object
    since: float = field(default_factory=time.monotonic)


# --- down marks ----------------------------------------------------------------------------


def down_until(alias: str) -> tuple[float, str] | None:
    return _down.get(alias)


def mark_down(alias: str, why: str, *, seconds: float | None = None) -> None:
    retry = settings.NOCO_UNAVAILABLE_RETRY_AFTER if seconds is None else seconds
    _down[alias] = (time.monotonic() + retry, why)


def clear(alias: str) -> None:
    _down.pop(alias, None)
    _frozen.pop(alias, None)


def frozen(alias: str) -> bool:
    return alias in _frozen


# --- busy connections ------------------------------------------------------------------------


@contextmanager
def in_use(wrapper):
    """Register `wrapper` (a user database's Django connection) as busy for this block."""
    if wrapper.vendor == "sqlite" or settings.NOCO_FREEZE_PROBE_AFTER <= 0:
        yield
        return
    use = _Use(wrapper.alias, wrapper)
    with _lock:
        _busy[id(use)] = use
    _start()
    try:
        yield
    finally:
        with _lock:
            _busy.pop(id(use), None)


def _start() -> None:
    global _watchdog
    if _watchdog is not None and _watchdog.is_alive():
        return
    with _lock:
        if _watchdog is None or not _watchdog.is_alive():
            _watchdog = threading.Thread(target=_watch, name="db-liveness", daemon=True)
            _watchdog.start()


def _watch() -> None:
    while True:
        time.sleep(TICK)
        try:
            _look()
        except Exception:  # the watchdog must outlive any surprise
            log.exception("database liveness: pass failed")


def _look() -> None:
    now = time.monotonic()
    after = settings.NOCO_FREEZE_PROBE_AFTER
    with _lock:
        stuck = {u.alias: u.wrapper for u in _busy.values() if now - u.since >= after}
    suspects = {**{alias: w for alias, (w, _) in _frozen.items()}, **stuck}
    for alias, wrapper in suspects.items():
        if alias in _probing or now - _last_probe.get(alias, 0.0) < after:
            continue
        _probing.add(alias)
        _last_probe[alias] = now
        _probes.submit(_probe_and_act, alias, wrapper)


def _probe_and_act(alias: str, wrapper) -> None:
    try:
        problem = probe(wrapper)
        if problem is None:
            if alias in _frozen:
                log.warning("database %s answers again", alias)
                clear(alias)
            return
        since = _frozen.get(alias, (None, time.monotonic()))[1]
        if time.monotonic() - since > GIVE_UP_AFTER:
            # Still frozen after minutes: leave it to the requests' own retries, which
            # resolve the host name again (the database may have moved).
            _frozen.pop(alias, None)
            return
        if alias not in _frozen:
            log.warning(
                "database %s does not answer (%s): busy requests cut", alias, problem
            )
        _frozen[alias] = (wrapper, since)
        # The base answers 503 at once; each failed probe moves the next try further.
        mark_down(alias, problem)
        with _lock:
            victims = [u.wrapper for u in _busy.values() if u.alias == alias]
        for victim in victims:
            _cut(victim)
    finally:
        _probing.discard(alias)


def probe(wrapper) -> str | None:
    """Why the server behind `wrapper` is frozen: it took no new connection in time. None when
    it answered, or refused at once: a stopped server is no freeze, the requests' own
    connection attempts fail fast and report it."""
    timeout = settings.NOCO_FREEZE_PROBE_TIMEOUT
    params = wrapper.get_connection_params()
    started = time.monotonic()
    try:
        if wrapper.vendor == "postgresql":
            import psycopg

            params.pop("cursor_factory", None)
            params.pop("context", None)
            params.pop("server_side_binding", None)
            params["connect_timeout"] = max(1, round(timeout))
            psycopg.connect(**params).close()
        else:
            import MySQLdb

            params["connect_timeout"] = max(1, round(timeout))
            params["read_timeout"] = max(1, round(timeout))
            MySQLdb.connect(**params).close()
    except Exception as exc:  # noqa: BLE001 - any failure to connect in time
        if time.monotonic() - started < max(0.5, timeout * 0.8):
            return None  # refused or failed at once: down, not frozen
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"no answer within {timeout:g} s ({text or type(exc).__name__})"
    return None


def _note_socket(sender, connection, **kwargs) -> None:
    """Remember a new user-database connection's socket, in the thread that owns it: another
    thread may not ask the driver (mysqlclient refuses a connection in use elsewhere)."""
    if connection.alias.startswith("src_") and connection.vendor != "sqlite":
        raw = connection.connection
        connection._noco_socket = (raw, raw.fileno())


connection_created.connect(_note_socket, dispatch_uid="noco-liveness-socket")


def _cut(wrapper) -> None:
    """Shut the socket of a connection blocked on a frozen server: its read fails at once."""
    raw = getattr(wrapper, "connection", None)
    noted = getattr(wrapper, "_noco_socket", None)
    if raw is None or noted is None or noted[0] is not raw:
        return  # not connected, or a connection opened since: not the one blocked
    try:
        sock = socket.socket(fileno=os.dup(noted[1]))
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()
