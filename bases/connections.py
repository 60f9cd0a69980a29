"""Connections to user databases.

A data source's settings become a Django database alias registered at run time, so the same
backends, schema editors, introspection and `transaction.atomic(using=…)` serve user databases as
the meta DB. PostgreSQL aliases use psycopg's pool (Django's `OPTIONS["pool"]`): under ASGI every
request runs in a fresh thread, so thread-persistent connections would not be reused.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from django.conf import settings
from django.db import DatabaseError, connections
from django.db import OperationalError as DjangoOperationalError
from django.db.utils import load_backend

from bases import netpolicy, timeouts
from bases.query.identifiers import prepare_connection
from nocoplatform.errors import DatabaseUnavailable, InvalidInput

KIND_ALIASES = {
    "postgres": "pg",
    "postgresql": "pg",
    "pg": "pg",
    "mysql": "mysql2",
    "mysql2": "mysql2",
    "mariadb": "mysql2",
    "sqlite": "sqlite3",
    "sqlite3": "sqlite3",
}
DEFAULT_PORTS = {"pg": 5432, "mysql2": 3306}
ENGINES = {
    "pg": "django.db.backends.postgresql",
    "mysql2": "django.db.backends.mysql",
    "sqlite3": "django.db.backends.sqlite3",
}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionConfig:
    """Where a data source lives. `password` never leaves the server (see `public`)."""

    kind: str
    host: str = ""
    port: int | None = None
    user: str = ""
    password: str = field(default="", repr=False)
    database: str = ""
    schema: str = ""
    path: str = ""

    @classmethod
    def from_url(cls, url: str) -> ConnectionConfig:
        url = (url or "").strip()
        parts = urlsplit(url)
        scheme = parts.scheme.split("+")[0].lower()
        kind = KIND_ALIASES.get(scheme)
        if not kind:
            raise InvalidInput(
                "Unsupported database URL: use postgresql://, mysql:// or sqlite:///path.",
                code="INVALID_DATABASE_URL",
            )
        if kind == "sqlite3":
            path = unquote(parts.path)
            if parts.netloc and parts.netloc != "localhost":
                path = "/" + parts.netloc + path  # sqlite://relative is not supported
            if not path or path == "/":
                raise InvalidInput(
                    "sqlite:/// needs a file path.", code="INVALID_DATABASE_URL"
                )
            return cls(kind=kind, path=path)
        query = parse_qs(parts.query)
        schema = (query.get("schema") or query.get("search_path") or [""])[0]
        try:
            port = parts.port
        except ValueError:
            raise InvalidInput(
                "The port in the database URL is not a number.",
                code="INVALID_DATABASE_URL",
            )
        return cls(
            kind=kind,
            host=parts.hostname or "",
            port=port,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            database=unquote(parts.path.lstrip("/")),
            schema=schema,
        )

    @classmethod
    def from_dict(cls, data: dict) -> ConnectionConfig:
        if data.get("url"):
            return cls.from_url(data["url"])
        kind = KIND_ALIASES.get(str(data.get("type") or data.get("kind") or "").lower())
        if not kind:
            raise InvalidInput(
                "Give a database `url`, or `type` (pg, mysql2, sqlite3) with its connection fields.",
                code="INVALID_CONNECTION",
            )
        conn = (
            data.get("connection") if isinstance(data.get("connection"), dict) else data
        )
        port = conn.get("port")
        if port not in (None, ""):
            try:
                port = int(port)
            except (TypeError, ValueError):
                raise InvalidInput(
                    "`port` must be a number.", code="INVALID_CONNECTION"
                )
        else:
            port = None
        schema = data.get("schema") or conn.get("schema") or ""
        search_path = data.get("searchPath")
        if not schema and isinstance(search_path, list) and search_path:
            schema = search_path[0]
        return cls(
            kind=kind,
            host=str(conn.get("host") or ""),
            port=port,
            user=str(conn.get("user") or conn.get("username") or ""),
            password=str(conn.get("password") or ""),
            database=str(conn.get("database") or conn.get("name") or ""),
            schema=str(schema),
            path=str(conn.get("path") or conn.get("filename") or ""),
        )

    def validate(self) -> None:
        if self.kind == "sqlite3":
            if not self.path:
                raise InvalidInput(
                    "A SQLite source needs a file path.", code="INVALID_CONNECTION"
                )
            return
        if not self.host:
            raise InvalidInput("`host` is required.", code="INVALID_CONNECTION")
        if not self.database:
            raise InvalidInput("`database` is required.", code="INVALID_CONNECTION")
        if self.port is not None and not 0 < self.port < 65536:
            raise InvalidInput(
                "`port` must be between 1 and 65535.", code="INVALID_CONNECTION"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    def public(self) -> dict:
        """What responses and pages may show: everything but the password."""
        data = {
            k: v
            for k, v in asdict(self).items()
            if k != "password" and v not in ("", None)
        }
        data["type"] = data.pop("kind")
        return data

    @property
    def effective_schema(self) -> str:
        if self.kind == "pg":
            return self.schema or "public"
        return ""

    @functools.cached_property
    def fingerprint(self) -> str:
        # Cached: every request to a base asks for its alias (frozen, so it cannot go stale).
        return hashlib.sha256(repr(sorted(asdict(self).items())).encode()).hexdigest()[
            :12
        ]

    def django_settings(
        self, *, pooled: bool = True, addresses: list[str] = ()
    ) -> dict:
        """Django's settings for this database; `addresses`: the checked addresses of `host`
        to connect to (bases/netpolicy.py), rather than let the driver resolve it again."""
        timeout = settings.NOCO_CONNECT_TIMEOUT
        if self.kind == "sqlite3":
            return {
                "ENGINE": ENGINES["sqlite3"],
                # mode=rw: a file that went away is an error, not a new empty database (Django
                # opens SQLite with uri=True).
                "NAME": "file:"
                + quote(str(Path(self.path).expanduser().resolve()))
                + "?mode=rw",
                # IMMEDIATE: a write transaction takes SQLite's write lock when it begins. A
                # deferred one that reads first (the record history's previous values, an
                # If-Match check) and writes next can fail at once with "database is locked"
                # when another writer holds the lock: SQLite refuses the upgrade rather than
                # wait, as waiting could deadlock. Reads outside transactions are unaffected.
                "OPTIONS": {
                    "timeout": 20,
                    "init_command": "PRAGMA foreign_keys=ON;",
                    "transaction_mode": "IMMEDIATE",
                },
                "CONN_MAX_AGE": 0,
            }
        base = {
            "ENGINE": ENGINES[self.kind],
            "NAME": self.database,
            "USER": self.user,
            "PASSWORD": self.password,
            "HOST": self.host,
            "PORT": str(self.port or DEFAULT_PORTS[self.kind]),
            "CONN_MAX_AGE": 0,
        }
        if addresses and self.kind == "mysql2":
            # MySQL takes one host: the first checked address.
            base["HOST"] = addresses[0]
        elif addresses:
            # libpq tries each `hostaddr` in turn and resolves nothing itself when it is
            # given; the matching `host` list keeps the name for TLS and messages.
            base["HOST"] = ",".join([self.host] * len(addresses))
        if self.kind == "pg":
            # Server-side binding: values travel as parameters, not spliced into the text
            # (no client-side quoting of every value). Statements are not prepared: planning
            # the records queries takes ~0.05 ms, and prepared plans would outlive schema
            # changes made by other connections.
            options: dict = {"connect_timeout": timeout, "server_side_binding": True}
            if self.schema:
                options["options"] = f"-c search_path={_pg_ident(self.schema)}"
            if addresses:
                options["hostaddr"] = ",".join(addresses)
            if timeouts.pg_option():
                options["options"] = (
                    f"{options.get('options', '')} {timeouts.pg_option()}"
                )
            if pooled:
                options["pool"] = {"min_size": 0, "max_size": 8, "timeout": timeout}
            base["OPTIONS"] = options
        else:
            base["OPTIONS"] = {
                "connect_timeout": timeout,
                "charset": "utf8mb4",
                "init_command": "SET sql_mode='STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'"
                + timeouts.mysql_init_suffix(),
                # mysqlclient allows several statements in one call unless told not to: one
                # statement per call, so no text can ever carry a second one.
                "multi_statements": False,
            }
        return base

    def with_password_of(self, other: ConnectionConfig) -> ConnectionConfig:
        """Keep the stored password when an edit form leaves the password blank."""
        if self.password or not other:
            return self
        return replace(self, password=other.password)


def _pg_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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


@contextmanager
def unavailable_as_503(title: str):
    """Turn "cannot reach the database" into a 503 for that base only."""
    try:
        yield
    except DjangoOperationalError as exc:
        if is_connection_failure(exc):
            raise DatabaseUnavailable(
                f"The database of '{title}' cannot be reached right now: {describe(exc)}",
            ) from exc
        raise


def is_connection_failure(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc
    name = type(cause).__name__
    if name in {"PoolTimeout", "ConnectionTimeout"}:
        return True
    code = _mysql_code(cause)
    if code in {2002, 2003, 2005, 2006, 2013, 1045, 1049}:
        return True
    text = str(cause).lower()
    markers = (
        "connection refused",
        "could not connect",
        "could not translate host",
        "connection timeout",
        "timeout expired",
        "server closed the connection",
        "couldn't get a connection",
        "password authentication failed",
        "does not exist",
        "unable to open database file",
        "terminating connection",
    )
    return (
        any(m in text for m in markers)
        and "relation" not in text
        and "column" not in text
    )


def describe(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    text = (
        str(cause).strip().splitlines()[0]
        if str(cause).strip()
        else type(cause).__name__
    )
    return text[:300]


def _mysql_code(exc: BaseException) -> int | None:
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], int):
        return args[0]
    return None


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
    code = _mysql_code(exc)
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


__all__ = [
    "ConnectionConfig",
    "ConnectionProblem",
    "DatabaseError",
    "alias_for",
    "check_connection",
    "forget_all",
    "forget_source",
    "repin",
    "unavailable_as_503",
]
