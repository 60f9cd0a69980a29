"""From a DataSource row to a live connection alias, and the built-in store's locations."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, DataError, connections

from bases import netpolicy
from bases.connections import liveness, replicas
from bases.connections.aliases import alias_for, repin
from bases.connections.config import ConnectionConfig
from bases.connections.failures import describe, is_connection_failure
from bases.crypto import decrypt_json, encrypt_json
from bases.models import DataSource
from bases.query.identifiers import quote_identifier
from nocoplatform.errors import (
    DatabaseUnavailable,
    InvalidInput,
    SchemaOutOfSync,
    is_statement_timeout,
    statement_timeout_error,
)


def config_of(source: DataSource) -> ConnectionConfig:
    cached = getattr(source, "_config", None)
    if cached is None:
        cached = ConnectionConfig(**decrypt_json(source.config_encrypted))
        source._config = cached
    return cached


def store_config(source: DataSource, config: ConnectionConfig) -> None:
    source.config_encrypted = encrypt_json(config.to_dict())
    source.kind = config.kind
    source._config = config


def source_alias(source: DataSource) -> str:
    return alias_for(
        source.pk, config_of(source), trusted=netpolicy.source_trusted(source)
    )


def builtin_config(base_id: str) -> ConnectionConfig:
    """Where a base created from scratch keeps its tables."""
    if settings.NOCO_STORE_URL:
        store = ConnectionConfig.from_url(settings.NOCO_STORE_URL)
        if store.kind != "pg":
            raise ValueError("NOCO_STORE_URL must be a postgresql:// URL")
        from dataclasses import replace

        return replace(store, schema=f"noco_{base_id}")
    Path(settings.NOCO_STORE_DIR).mkdir(parents=True, exist_ok=True)
    return ConnectionConfig(
        kind="sqlite3", path=str(Path(settings.NOCO_STORE_DIR) / f"{base_id}.sqlite3")
    )


def prepare_builtin(config: ConnectionConfig) -> None:
    """Create the built-in store's file or schema."""
    if config.kind == "sqlite3":
        import sqlite3

        sqlite3.connect(config.path).close()
        return
    _store_execute(config, f"CREATE SCHEMA IF NOT EXISTS {_schema_sql(config)}")


def drop_builtin(config: ConnectionConfig) -> None:
    if config.kind == "sqlite3":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(config.path + suffix).unlink(missing_ok=True)
        return
    _store_execute(config, f"DROP SCHEMA IF EXISTS {_schema_sql(config)} CASCADE")


def _schema_sql(config: ConnectionConfig) -> str:
    return quote_identifier("postgresql", config.schema)


def _store_execute(config: ConnectionConfig, sql: str) -> None:
    """One statement on the PostgreSQL built-in store, outside any pool or transaction."""
    import psycopg

    with psycopg.connect(
        host=config.host,
        port=config.port or 5432,
        user=config.user or None,
        password=config.password or None,
        dbname=config.database,
        autocommit=True,
        # DROP SCHEMA … CASCADE of a big base is a schema edit: its timeout (bases/connections/timeouts.py).
        options=f"-c statement_timeout={round(settings.NOCO_SCHEMA_STATEMENT_TIMEOUT * 1000)}",
    ) as conn:
        conn.execute(sql, ())  # parsed for placeholders: `%%` in names (identifiers.py)


@contextmanager
def user_db(source: DataSource, *, title: str = "", reader=None):
    """Yield the Django connection of a data source, mapping its failures to domain errors.

    Unreachable → 503 for this base only. A missing table or column (changed outside the
    platform, not yet synced) → 409 SCHEMA_OUT_OF_SYNC.

    `reader` (an Actor): the block only reads, for them — a read replica may serve it
    (bases/connections/replicas.py).
    """
    alias = replicas.read_alias(source, reader) if reader is not None else None
    if alias is not None:
        conn = connections[alias]
        try:
            conn.ensure_connection()  # a replica that died since its last check: the primary
        except DatabaseError as exc:
            replicas.lost(alias, describe(exc))
            alias = None
    if alias is not None:
        # A replica lost in the middle of this read answers this read 503 (as the primary
        # would); the next reads skip it.
        with _mapped_failures(alias, conn, on_lost=replicas.lost):
            yield conn
        return
    alias = source_alias(source)
    down = liveness.down_until(alias)
    if down is not None and time.monotonic() < down[0]:
        # Fail fast while the database is known to be down: each attempt can wait for the
        # connect timeout, and workers stuck on one dead base would stall every other base.
        # A frozen server is probed in the background until it answers (bases/connections/liveness.py).
        retry = max(1, round(down[0] - time.monotonic()))
        raise DatabaseUnavailable(
            f"The database of this base cannot be reached right now: {down[1]} (next try in {retry} s)"
        )
    if down is not None:
        # The next try after an outage resolves the host again: connections are pinned to
        # the addresses checked when the alias was made, and the database may have moved.
        liveness.clear(alias)
        repin(source.pk)
        alias = source_alias(source)
    conn = connections[alias]
    with _mapped_failures(alias, conn):
        yield conn


@contextmanager
def _mapped_failures(alias: str, conn, on_lost=liveness.mark_down):
    try:
        with liveness.in_use(conn):
            yield conn
    except DatabaseError as exc:
        if is_statement_timeout(
            exc
        ):  # raised while fetching rows (SQLite), not executing
            raise statement_timeout_error() from exc
        if is_connection_failure(exc):
            on_lost(alias, describe(exc))
            raise DatabaseUnavailable(
                f"The database of this base cannot be reached right now: {describe(exc)}"
            ) from exc
        if not liveness.frozen(alias):
            liveness.clear(alias)
        if isinstance(exc, DataError):
            # A value the database cannot take (NUL byte, out of range, bad literal): the
            # caller's input, so a 400 naming it — never a 500.
            raise InvalidInput(
                f"The database refused a value: {describe(exc)}", code="INVALID_VALUE"
            ) from exc
        if is_missing_object(exc):
            raise SchemaOutOfSync(
                "The database schema changed outside the platform and this request touches a "
                f"table or column that is gone ({describe(exc)}). Sync the base's schema.",
            ) from exc
        raise


def is_missing_object(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate in ("42703", "42P01"):  # undefined column / undefined table
        return True
    args = getattr(cause, "args", ())
    if args and args[0] in (1054, 1146):  # MySQL unknown column / table doesn't exist
        return True
    text = str(cause).lower()
    return "no such column" in text or "no such table" in text
