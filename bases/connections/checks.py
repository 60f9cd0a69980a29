"""Testing a data source's settings: connect once, without the pool, and name what is wrong."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from django.conf import settings

from bases import netpolicy
from bases.connections import timeouts
from bases.connections.config import ConnectionConfig
from bases.connections.failures import describe, mysql_error_code
from nocoplatform.errors import InvalidInput

# --- testing a connection --------------------------------------------------------------------


class ConnectionProblem(InvalidInput):
    """Why a connection attempt failed, with a stable code per cause."""


def check_connection(config: ConnectionConfig, *, trusted: bool = False) -> None:
    """Connect once without the pool and raise ConnectionProblem naming what is wrong.

    `trusted`: on behalf of a site admin, who may reach private addresses and any SQLite file
    (bases/netpolicy.py decides; its refusals come before any connection attempt).
    """
    config.validate()
    if config.kind == "sqlite3":
        _check_sqlite(config, trusted=trusted)
        return
    addresses = netpolicy.pinned_addresses(config, trusted=trusted)
    if config.kind == "pg":
        _check_postgres(config, addresses)
    else:
        _check_mysql(config, addresses)


def _check_sqlite(config: ConnectionConfig, *, trusted: bool) -> None:
    path = Path(config.path).expanduser()
    resolved = path.resolve()
    netpolicy.check_sqlite_path(resolved, trusted=trusted)
    if not path.exists():
        raise ConnectionProblem(
            f"No SQLite file at {config.path}.", code="UNKNOWN_DATABASE"
        )
    try:
        conn = sqlite3.connect(
            f"file:{resolved}?mode=rw", uri=True, timeout=settings.NOCO_CONNECT_TIMEOUT
        )
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        text = str(exc)
        if "not a database" in text:
            raise ConnectionProblem(
                f"{config.path} is not a SQLite database.", code="NOT_A_DATABASE"
            )
        raise ConnectionProblem(
            f"Cannot open {config.path} for reading and writing: {text}",
            code="MISSING_PRIVILEGES",
        )


def _check_postgres(config: ConnectionConfig, addresses: list[str]) -> None:
    import psycopg

    kwargs = {
        "host": ",".join([config.host] * len(addresses)) or config.host,
        "hostaddr": ",".join(addresses) or None,
        "port": config.port or 5432,
        "user": config.user or None,
        "password": config.password or None,
        "dbname": config.database,
        "connect_timeout": settings.NOCO_CONNECT_TIMEOUT,
        "options": timeouts.pg_option() or None,
    }
    try:
        conn = psycopg.connect(**kwargs)
    except psycopg.OperationalError as exc:
        raise _classify_pg(config, exc)
    try:
        with conn.cursor() as cur:
            schema = config.effective_schema
            cur.execute(
                "SELECT has_schema_privilege(%s, 'USAGE') FROM pg_namespace WHERE nspname = %s",
                [schema, schema],
            )
            row = cur.fetchone()
            if row is None:
                raise ConnectionProblem(
                    f"Schema '{schema}' does not exist in database '{config.database}'.",
                    code="UNKNOWN_SCHEMA",
                )
            if not row[0]:
                raise ConnectionProblem(
                    f"User '{config.user}' has no USAGE privilege on schema '{schema}'.",
                    code="MISSING_PRIVILEGES",
                )
    finally:
        conn.close()


def _classify_pg(config: ConnectionConfig, exc: Exception) -> ConnectionProblem:
    text = str(exc)
    low = text.lower()
    where = f"{config.host}:{config.port or 5432}"
    if (
        "could not translate host name" in low
        or "name or service not known" in low
        or "nodename nor servname" in low
    ):
        return ConnectionProblem(f"Unknown host '{config.host}'.", code="UNKNOWN_HOST")
    if "connection refused" in low:
        return ConnectionProblem(
            f"Connection refused by {where}: is PostgreSQL running there?",
            code="CONNECTION_REFUSED",
        )
    if "timeout" in low or "timed out" in low:
        return ConnectionProblem(
            f"No answer from {where} within {settings.NOCO_CONNECT_TIMEOUT} s.",
            code="CONNECTION_TIMEOUT",
        )
    if (
        "password authentication failed" in low
        or ("role" in low and "does not exist" in low)
        or "no password supplied" in low
    ):
        return ConnectionProblem(
            f"Bad credentials for user '{config.user}'.", code="BAD_CREDENTIALS"
        )
    if "database" in low and "does not exist" in low:
        return ConnectionProblem(
            f"Database '{config.database}' does not exist on {where}.",
            code="UNKNOWN_DATABASE",
        )
    if "permission denied" in low:
        return ConnectionProblem(
            f"User '{config.user}' may not connect to '{config.database}'.",
            code="MISSING_PRIVILEGES",
        )
    return ConnectionProblem(
        f"Cannot connect to {where}: {describe(exc)}", code="CONNECTION_FAILED"
    )


def _check_mysql(config: ConnectionConfig, addresses: list[str]) -> None:
    import MySQLdb

    try:
        conn = MySQLdb.connect(
            host=addresses[0] if addresses else config.host,
            port=config.port or 3306,
            user=config.user,
            password=config.password,
            database=config.database,
            connect_timeout=settings.NOCO_CONNECT_TIMEOUT,
        )
    except MySQLdb.OperationalError as exc:
        raise _classify_mysql(config, exc)
    try:
        cur = conn.cursor()
        try:
            cur.execute(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()"
            )
        except MySQLdb.OperationalError as exc:
            raise ConnectionProblem(
                f"Cannot read the schema of '{config.database}': {describe(exc)}",
                code="MISSING_PRIVILEGES",
            )
    finally:
        conn.close()


def _classify_mysql(config: ConnectionConfig, exc: Exception) -> ConnectionProblem:
    code = mysql_error_code(exc)
    where = f"{config.host}:{config.port or 3306}"
    if code == 2005:
        return ConnectionProblem(f"Unknown host '{config.host}'.", code="UNKNOWN_HOST")
    if code in (2002, 2003):
        text = str(exc).lower()
        if "timed out" in text or "(110)" in text:
            return ConnectionProblem(
                f"No answer from {where} within {settings.NOCO_CONNECT_TIMEOUT} s.",
                code="CONNECTION_TIMEOUT",
            )
        return ConnectionProblem(
            f"Connection refused by {where}: is MySQL/MariaDB running there?",
            code="CONNECTION_REFUSED",
        )
    if code == 1045:
        return ConnectionProblem(
            f"Bad credentials for user '{config.user}'.", code="BAD_CREDENTIALS"
        )
    if code == 1049:
        return ConnectionProblem(
            f"Database '{config.database}' does not exist on {where}.",
            code="UNKNOWN_DATABASE",
        )
    if code in (1044, 1142, 1227):
        return ConnectionProblem(
            f"User '{config.user}' lacks privileges on '{config.database}'.",
            code="MISSING_PRIVILEGES",
        )
    return ConnectionProblem(
        f"Cannot connect to {where}: {describe(exc)}", code="CONNECTION_FAILED"
    )
