"""Every statement on a user database runs under a timeout (NOCO_STATEMENT_TIMEOUT).

- PostgreSQL: `statement_timeout`, set when the connection opens (libpq `options`), so it holds
  for every statement on it, the bulk insert's raw cursor and COPY included.
- MariaDB: `max_statement_time` (seconds, every statement), set by the connection's
  init_command inside a MariaDB-only comment (`/*M!…*/`), at no extra round trip. MySQL:
  `max_execution_time` (milliseconds) set when a connection opens; MySQL applies it to
  read-only SELECTs only and has no such limit for writes.
- SQLite: a progress handler interrupts a statement past its deadline. The deadline is set as
  each statement starts (an execute wrapper), and rows fetched later count against it too.
  Waiting for another writer's lock is not a statement step: the 20 s busy timeout bounds it.

Schema edits (the DDL run by `bases.schema.editor`) get NOCO_SCHEMA_STATEMENT_TIMEOUT instead:
an ALTER that rewrites a big table legitimately takes longer than a page of records should.

A statement stopped at its timeout raises StatementTimeout (504 STATEMENT_TIMEOUT naming the
limit) from the execute wrapper, which is not a DatabaseError: the `except DatabaseError`
fallbacks on the way (constraint messages, row-by-row retries) let it through. The few errors
raised outside an execute (SQLite rows fetched later) are mapped by `bases.sources.user_db`
and, as a last net, by the API's exception handler and the page middleware.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.backends.signals import connection_created

from nocoplatform.errors import is_statement_timeout, statement_timeout_error

USER_ALIAS_PREFIX = (
    "src_"  # bases.connections.aliases.alias_for names every user-database alias so
)
# How many SQLite VM steps between looks at the clock: ~0.05 ms apart, too rare to cost.
SQLITE_PROGRESS_STEPS = 1000
STATEMENT = "NOCO_STATEMENT_TIMEOUT"
SCHEMA = "NOCO_SCHEMA_STATEMENT_TIMEOUT"


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def pg_option() -> str:
    """The libpq `options` part that sets the statement timeout ("" when there is none)."""
    ms = _ms(settings.NOCO_STATEMENT_TIMEOUT)
    return f"-c statement_timeout={ms}" if ms else ""


def mysql_init_suffix() -> str:
    """Appended to the MySQL init_command (a SET): MariaDB's limit, a comment to MySQL."""
    seconds = settings.NOCO_STATEMENT_TIMEOUT
    if not _ms(seconds):
        return ""
    return f" /*M!100101 , max_statement_time={seconds:.3f} */"


class _Clock:
    """A SQLite connection's deadline for the statement running on it."""

    __slots__ = ("deadline", "limit")

    def __init__(self, limit: float):
        self.limit = limit
        self.deadline: float | None = None

    def start(self) -> None:
        self.deadline = time.monotonic() + self.limit if self.limit > 0 else None

    def expired(self) -> int:
        deadline = self.deadline
        return 1 if deadline is not None and time.monotonic() > deadline else 0


def _on_connection_created(sender, connection, **kwargs) -> None:
    if not connection.alias.startswith(USER_ALIAS_PREFIX):
        return
    if _stop_at_timeout not in connection.execute_wrappers:
        # First in the list is outermost: it sees the error as the caller would. (Django's
        # `execute_wrapper()` contexts pop the last one, so theirs stay theirs.)
        connection.execute_wrappers.insert(0, _stop_at_timeout)
    connection._noco_timeout = STATEMENT
    if connection.vendor == "sqlite":
        clock = _Clock(settings.NOCO_STATEMENT_TIMEOUT)
        connection._noco_clock = clock
        connection.connection.set_progress_handler(clock.expired, SQLITE_PROGRESS_STEPS)
    elif connection.vendor == "mysql":
        raw = connection.connection
        connection._noco_mariadb = "mariadb" in raw.get_server_info().lower()
        if not connection._noco_mariadb:
            _mysql_set(raw, mariadb=False, seconds=settings.NOCO_STATEMENT_TIMEOUT)


connection_created.connect(
    _on_connection_created, dispatch_uid="noco-statement-timeout"
)


def _mysql_set(raw, *, mariadb: bool, seconds: float) -> None:
    cur = raw.cursor()
    try:
        if mariadb:
            cur.execute(f"SET SESSION max_statement_time = {max(0.0, seconds):.3f}")
        else:
            cur.execute(f"SET SESSION max_execution_time = {_ms(seconds)}")
    finally:
        cur.close()


def _stop_at_timeout(execute, sql, params, many, context):
    connection = context["connection"]
    clock = getattr(connection, "_noco_clock", None)
    if clock is not None:
        clock.start()
    try:
        return execute(sql, params, many, context)
    except DatabaseError as exc:
        if is_statement_timeout(exc):
            raise statement_timeout_error(
                setting=getattr(connection, "_noco_timeout", STATEMENT)
            ) from exc
        raise


@contextmanager
def schema_edits(alias: str):
    """Statements inside run under NOCO_SCHEMA_STATEMENT_TIMEOUT (DDL on big tables)."""
    conn = connections[alias]
    conn.ensure_connection()
    seconds = settings.NOCO_SCHEMA_STATEMENT_TIMEOUT
    previous = getattr(conn, "_noco_timeout", STATEMENT)
    conn._noco_timeout = SCHEMA
    try:
        if conn.vendor == "postgresql":
            # SET LOCAL: gone with the transaction, so a pooled connection never keeps it.
            with transaction.atomic(using=alias):
                with conn.cursor() as cur:
                    cur.execute(
                        "SELECT set_config('statement_timeout', %s, true)",
                        [str(_ms(seconds))],
                    )
                yield
        elif conn.vendor == "mysql" and getattr(conn, "_noco_mariadb", False):
            # MySQL's limit covers SELECTs only, DDL never: nothing to lengthen there.
            _mysql_set(conn.connection, mariadb=True, seconds=seconds)
            try:
                yield
            finally:
                if conn.connection is not None:
                    _mysql_set(
                        conn.connection,
                        mariadb=True,
                        seconds=settings.NOCO_STATEMENT_TIMEOUT,
                    )
        elif conn.vendor == "sqlite" and getattr(conn, "_noco_clock", None):
            clock = conn._noco_clock
            clock.limit = seconds
            try:
                yield
            finally:
                clock.limit = settings.NOCO_STATEMENT_TIMEOUT
        else:
            yield
    finally:
        conn._noco_timeout = previous
