"""Connections to user databases.

A data source's settings become a Django database alias registered at run time, so the same
backends, schema editors, introspection and `transaction.atomic(using=…)` serve user databases as
the meta DB. PostgreSQL aliases use psycopg's pool (Django's `OPTIONS["pool"]`): under ASGI every
request runs in a fresh thread, so thread-persistent connections would not be reused.
"""

from __future__ import annotations

import logging
import threading

from django.db import connections
from django.db.utils import load_backend

from bases import netpolicy
from bases.connections.config import ConnectionConfig
from bases.query.identifiers import prepare_connection

log = logging.getLogger(__name__)

# --- aliases ---------------------------------------------------------------------------------
#
# Each data source's settings get an alias. The wrapper for an alias is created per thread and
# set into django.db.connections for that thread only (so `transaction.atomic(using=alias)` and
# schema editors work), but the alias is deliberately not added to `connections.settings`:
# Django iterates that for its own databases (tests, `migrate`, check framework), and user
# databases are none of its business. We close them at request boundaries ourselves, exactly as
# Django does for its own (see `_close_at_request_boundary`).

_lock = threading.Lock()
_settings: dict[str, dict] = {}  # alias -> complete Django settings dict
_registered: dict[str, str] = {}  # source id -> alias currently in use
_pins: dict[str, int] = {}  # source id -> times its host was resolved afresh (`repin`)
_local = threading.local()


def _thread_wrappers() -> dict:
    wrappers = getattr(_local, "wrappers", None)
    if wrappers is None:
        wrappers = _local.wrappers = {}
    return wrappers


def alias_for(
    source_id: str, config: ConnectionConfig, *, trusted: bool = False
) -> str:
    """Return the alias of a data source's current settings, usable in this thread.

    Making an alias checks the source against bases/netpolicy.py (`trusted`: it may reach
    private addresses) and pins its host to the addresses checked then.
    """
    alias = f"src_{source_id}_{config.fingerprint}_{_pins.get(source_id, 0)}"
    if _registered.get(source_id) != alias or alias not in _settings:
        # Resolved outside the lock: a slow DNS answer for one source must not hold up the
        # first connection of every other.
        fresh = (
            None
            if alias in _settings
            else netpolicy.connect_settings(config, trusted=trusted)
        )
        with _lock:
            old = _registered.get(source_id)
            if old and old != alias:
                _forget(old)
            if alias not in _settings:
                configured = connections.configure_settings(
                    {
                        "default": {"ENGINE": "django.db.backends.dummy"},
                        alias: fresh
                        or netpolicy.connect_settings(config, trusted=trusted),
                    }
                )
                _settings[alias] = configured[alias]
            _registered[source_id] = alias
    wrappers = _thread_wrappers()
    if alias not in wrappers:
        settings_dict = _settings[alias]
        wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(
            settings_dict, alias
        )
        prepare_connection(wrapper)
        wrappers[alias] = wrapper
        connections[alias] = wrapper
    return alias


def repin(source_id: str) -> None:
    """Resolve the source's host afresh at its next connection (a new alias): after an
    outage, the database may have moved to another address (DNS failover)."""
    with _lock:
        _pins[source_id] = _pins.get(source_id, 0) + 1


def forget_source(source_id: str) -> None:
    with _lock:
        alias = _registered.pop(source_id, None)
        if alias:
            _forget(alias)


def forget_all() -> None:
    """Close and drop every user-database connection and pool (tests, shutdown)."""
    with _lock:
        for alias in list(_settings):
            _forget(alias)
        _registered.clear()


def _forget(alias: str) -> None:
    wrapper = _thread_wrappers().pop(alias, None)
    if wrapper is not None:
        try:
            wrapper.close()
            close_pool = getattr(wrapper, "close_pool", None)
            if close_pool:
                close_pool()
        except Exception:  # a broken connection must not stop forgetting it
            log.debug("closing %s failed", alias, exc_info=True)
        try:
            del connections[alias]
        except (AttributeError, KeyError):
            pass
    _settings.pop(alias, None)


def close_thread_connections(**kwargs) -> None:
    """Give back this thread's user-database connections (to the pool, for PostgreSQL)."""
    for wrapper in list(_thread_wrappers().values()):
        if wrapper.connection is None:
            continue  # get_autocommit() would connect first: to an unreachable server, slowly
        try:
            if wrapper.get_autocommit() and not wrapper.in_atomic_block:
                wrapper.close()
        except Exception:  # closing a dead connection may raise; it is gone anyway
            log.debug("closing %s failed", wrapper.alias, exc_info=True)


def _close_at_request_boundary() -> None:
    from django.core.signals import request_finished, request_started

    request_started.connect(close_thread_connections, dispatch_uid="noco-user-db-start")
    request_finished.connect(
        close_thread_connections, dispatch_uid="noco-user-db-finish"
    )


_close_at_request_boundary()
