"""Where a data source lives: its settings, parsed from a URL or a form, and the Django
database settings they become."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from django.conf import settings

from bases.connections import timeouts
from nocoplatform.errors import InvalidInput

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
    # Read replicas (PostgreSQL): their URLs, passwords included, stored encrypted with the rest
    # (bases/connections/replicas.py).
    replicas: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.replicas, tuple):  # a list, as stored JSON gives it back
            object.__setattr__(self, "replicas", tuple(self.replicas or ()))

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
            if k not in ("password", "replicas") and v not in ("", None)
        }
        data["type"] = data.pop("kind")
        if self.replicas:
            data["replicas"] = [r.public_url() for r in self.replica_configs()]
        return data

    def replica_configs(self) -> list[ConnectionConfig]:
        """The replicas' settings; a replica URL without a schema reads the primary's."""
        out = []
        for url in self.replicas:
            replica = ConnectionConfig.from_url(url)
            out.append(replace(replica, schema=replica.schema or self.schema))
        return out

    def public_url(self) -> str:
        """user@host:port/database, never the password (what pages show of a replica)."""
        user = f"{self.user}@" if self.user else ""
        return f"{user}{self.host}:{self.port or DEFAULT_PORTS.get(self.kind, '')}/{self.database}"

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
        """Keep the stored password when an edit form leaves the password blank, and the
        stored replicas (they are changed on their own)."""
        if not other:
            return self
        kept = self if self.replicas else replace(self, replicas=other.replicas)
        if kept.password:
            return kept
        return replace(kept, password=other.password)


def _pg_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
