"""Read replicas: a PostgreSQL data source's reads go to a healthy replica.

A source may list replica URLs (`ConnectionConfig.replicas`, set on its settings page or by the
meta API's `replicas`). Reads of records — lists, counts, single records, aggregates, group
buckets, exports and GraphQL queries, all of which go through `bases.sources.user_db(source,
reader=actor)` — use the first replica that is

- up: not marked down (a failed connection or a frozen server, bases/connections/liveness.py);
  a replica found dead is skipped until NOCO_UNAVAILABLE_RETRY_AFTER has passed, and a connection
  is taken from it before the read starts, so its death costs no request an error;
- close enough: its replay at most NOCO_REPLICA_MAX_LAG seconds behind (read from the replica
  itself by the dialect, at most every NOCO_REPLICA_CHECK_INTERVAL seconds per process);

and otherwise the primary. Writes, schema edits and everything else use the primary. A user who
wrote to the source (records, links) reads from the primary for the next NOCO_REPLICA_MAX_LAG
seconds — read-your-writes: a replica serving them is at most that far behind, so after that
it has their write — and after a schema edit everyone does. These marks live in Django's cache
(Redis in the production profile: shared by every process; per process otherwise) and are only
written and read for sources that have replicas.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections

from bases.connections import liveness
from bases.connections.aliases import alias_for, forget_source
from bases.connections.failures import describe

log = logging.getLogger(__name__)

MAX_REPLICAS = 5

_lock = threading.Lock()
# alias -> (monotonic time of the check, seconds behind, or None: not usable)
_checked: dict[str, tuple[float, float | None]] = {}
_keys: dict[str, str] = {}  # alias -> the replica's key in bases/connections/aliases.py


def _user_key(source_id: str, user_id) -> str:
    return f"noco:replica-ryw:{source_id}:{user_id}"


def _schema_key(source_id: str) -> str:
    return f"noco:replica-ddl:{source_id}"


def note_write(source, user) -> None:
    """`user` just wrote to `source`: their reads use the primary for a while."""
    if not _replicas(source):
        return
    seconds = settings.NOCO_REPLICA_MAX_LAG + 1
    try:
        cache.set(_user_key(source.pk, getattr(user, "pk", None)), 1, seconds)
    except Exception:  # no cache, no replica reads for this user: safe either way
        log.warning("could not note a write for read-your-writes", exc_info=True)


def note_schema_change(source) -> None:
    """The schema of `source` changed: everyone reads from the primary for a while."""
    if not _replicas(source):
        return
    try:
        cache.set(_schema_key(source.pk), 1, settings.NOCO_REPLICA_MAX_LAG + 1)
    except Exception:
        log.warning("could not note a schema change for the replicas", exc_info=True)


def _replicas(source) -> tuple:
    from bases.sources import config_of

    if source.is_builtin:
        return ()
    return config_of(source).replicas


def read_alias(source, actor) -> str | None:
    """The alias of a replica to serve `actor`'s read of `source`, or None (the primary)."""
    if not _replicas(source):
        return None
    user_id = getattr(getattr(actor, "user", None), "pk", None)
    try:
        recent = cache.get_many([_schema_key(source.pk), _user_key(source.pk, user_id)])
    except Exception:
        return None  # cannot tell whether they just wrote: the primary is always right
    if recent:
        return None
    from bases import netpolicy
    from bases.sources import config_of

    trusted = netpolicy.source_trusted(source)
    for i, replica in enumerate(config_of(source).replica_configs()):
        key = f"{source.pk}_replica{i}"
        try:
            alias = alias_for(key, replica, trusted=trusted)
        except Exception as exc:  # a replica address the network policy refuses
            log.warning("replica %s of source %s unusable: %s", i, source.pk, exc)
            continue
        _keys[alias] = key
        if _usable(alias):
            return alias
    return None


def lost(alias: str, why: str) -> None:
    """A replica's connection failed: skip it until NOCO_UNAVAILABLE_RETRY_AFTER has passed,
    and drop its pooled connections (they all point at the server that went away)."""
    log.warning("read replica %s lost: %s", alias, why)
    liveness.mark_down(alias, why)
    key = _keys.get(alias)
    if key:
        forget_source(key)


def _usable(alias: str) -> bool:
    down = liveness.down_until(alias)
    now = time.monotonic()
    if down is not None and now < down[0]:
        return False
    checked = _checked.get(alias)
    if checked is None or now - checked[0] >= settings.NOCO_REPLICA_CHECK_INTERVAL:
        checked = (now, _measure(alias))
        with _lock:
            _checked[alias] = checked
    lag = checked[1]
    return lag is not None and lag <= settings.NOCO_REPLICA_MAX_LAG


def _measure(alias: str) -> float | None:
    """How far behind the replica is (seconds); None when it cannot serve."""
    from bases.query.dialects import dialect_for

    conn = connections[alias]
    try:
        with liveness.in_use(conn), conn.cursor() as cur:
            in_recovery, lag = dialect_for(conn).replica_state(cur)
    except DatabaseError as exc:
        lost(alias, describe(exc))
        return None
    if not in_recovery:
        # Promoted (failover) or never a replica: it no longer follows this source's
        # primary, so its data may differ. Reads stay on the primary until fixed.
        log.warning("read replica %s is not in recovery: not used", alias)
        return None
    return lag


def forget() -> None:
    """Forget every health check (tests)."""
    with _lock:
        _checked.clear()


def checked_urls(urls, *, source, actor) -> tuple[str, ...]:
    """The replica URLs to store for `source`, each tested as a replica of it on behalf of
    `actor` (network rules and rate limit of bases/netpolicy.py, then a real connection), or
    an InvalidInput naming what is wrong with which one. [] removes every replica."""
    from dataclasses import replace

    from bases import netpolicy
    from bases.connections.config import ConnectionConfig
    from bases.query.dialects import dialect_for
    from bases.sources import config_of, user_db
    from nocoplatform.errors import InvalidInput

    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise InvalidInput(
            "`replicas` must be a list of database URLs.", code="INVALID_REPLICAS"
        )
    urls = [u.strip() for u in urls if u.strip()]
    if len(urls) > MAX_REPLICAS:
        raise InvalidInput(
            f"At most {MAX_REPLICAS} read replicas per data source.",
            code="INVALID_REPLICAS",
        )
    if not urls:
        return ()
    primary = config_of(source)
    if source.is_builtin or not dialect_for_kind(primary.kind).supports_replicas:
        raise InvalidInput(
            "Read replicas are supported for external PostgreSQL data sources.",
            code="REPLICAS_NOT_SUPPORTED",
        )
    with user_db(source) as conn, conn.cursor() as cur:
        primary_id = _identifier(dialect_for(conn), cur)
    trusted = netpolicy.actor_trusted(actor)
    for n, url in enumerate(urls, 1):
        replica = ConnectionConfig.from_url(url)
        name = f"Replica {n} ({replica.public_url()})"
        if replica.kind != primary.kind:
            raise InvalidInput(
                f"{name} is not a PostgreSQL URL.", code="INVALID_REPLICAS"
            )
        replica = replace(replica, schema=replica.schema or primary.schema)
        netpolicy.connection_check(
            actor=actor, config=replica
        )  # rules, rate, a connect
        key = "replica-check-" + secrets.token_hex(6)
        try:
            alias = alias_for(key, replica, trusted=trusted)
            conn = connections[alias]
            with conn.cursor() as cur:
                d = dialect_for(conn)
                in_recovery, _ = d.replica_state(cur)
                replica_id = _identifier(d, cur)
        except DatabaseError as exc:
            raise InvalidInput(
                f"{name} cannot be read: {describe(exc)}", code="REPLICA_UNREACHABLE"
            ) from exc
        finally:
            forget_source(key)
        if not in_recovery:
            raise InvalidInput(
                f"{name} is not a replica: it is not in recovery (a primary server, whose data "
                "may differ from this source's).",
                code="NOT_A_REPLICA",
            )
        if primary_id and replica_id and primary_id != replica_id:
            raise InvalidInput(
                f"{name} replicates another server (its system identifier differs from this "
                "source's).",
                code="NOT_A_REPLICA",
            )
    return tuple(urls)


def _identifier(dialect, cursor) -> str | None:
    """The server's system identifier, or None where the user may not read it."""
    try:
        return dialect.system_identifier(cursor)
    except DatabaseError:
        return None


def dialect_for_kind(kind: str):
    from bases.query.dialects import dialect_for

    return dialect_for(
        {"pg": "postgresql", "mysql2": "mysql", "sqlite3": "sqlite"}[kind]
    )
