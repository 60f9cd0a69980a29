"""Where a data source may make the server connect: the network and file rule.

A data source is a connection the server opens on someone's word. Everyone may name a public
host. Loopback, private, link-local, CGNAT and reserved addresses (nocoplatform.netguard) —
the server's own databases, its neighbours — are open only to site admins, to sources an admin
saved, and to everyone when NOCO_SOURCES_ALLOW_PRIVATE is on; cloud-metadata, multicast and
unspecified addresses to nobody. The host is resolved once, every address is checked, and the
driver is handed the checked addresses (libpq `hostaddr`, MySQL by IP), so a second DNS answer
cannot send it elsewhere.

Who the rule asks:
- testing, connecting or changing a source: the person doing it (`connection_check`);
- every later connection (a new alias, after a restart, after an outage): the source itself
  (`source_trusted`): `approved_by_admin` is set when a site admin last saved its connection
  settings and cleared when anyone else does. Pools are shared by every member of a base, so
  the answer cannot depend on who happens to ask.

A refused private address answers one code and one message whatever is behind it (open port,
closed port, no host, a name that does not resolve), and the check runs before any packet is
sent, so the connection test is no port scanner; attempts by non-admins are also rate-limited.
SQLite paths follow the same split: admins anywhere (except the platform's own files), others
only inside NOCO_SQLITE_ALLOWED_DIRS, refused before the file system is asked anything.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache

from nocoplatform import netguard
from nocoplatform.errors import Forbidden, RateLimited

if TYPE_CHECKING:
    from bases.connections.config import ConnectionConfig
    from bases.models import DataSource
    from permissions.checks import Actor

DEFAULT_PORTS = {"pg": 5432, "mysql2": 3306}


class HostRefused(Forbidden):
    code = "DATABASE_HOST_REFUSED"


class PathRefused(Forbidden):
    code = "FORBIDDEN_PATH"


def is_site_admin(user) -> bool:
    """Staff or superuser: who runs this server (Django's admin flags)."""
    return bool(
        user is not None
        and getattr(user, "is_active", False)
        and (getattr(user, "is_staff", False) or getattr(user, "is_superuser", False))
    )


def actor_trusted(actor: Actor) -> bool:
    """May this actor make the server connect to private addresses and any SQLite file?"""
    return actor.system or is_site_admin(actor.user)


def source_trusted(source: DataSource) -> bool:
    """May this stored source's connections reach private addresses?"""
    return source.is_builtin or source.approved_by_admin


def connection_check(*, actor: Actor, config: ConnectionConfig) -> None:
    """Test connection settings on behalf of `actor`: rate limit, rules, then a real connect."""
    from bases.connections.checks import check_connection

    trusted = actor_trusted(actor)
    if not trusted:
        _count_attempt(actor.user)
    check_connection(config, trusted=trusted)


def _count_attempt(user) -> None:
    limit = settings.NOCO_CONNECTION_TESTS_PER_MINUTE
    if not limit:
        return
    digest = hashlib.sha256(f"{getattr(user, 'pk', '')}".encode()).hexdigest()[:32]
    key = f"noco:conn-tests:{digest}"
    cache.add(key, 0, 60)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, 60)
        count = 1
    if count > limit:
        raise RateLimited(
            f"At most {limit} connection attempts a minute; try again in a minute.",
            code="TOO_MANY_CONNECTION_TESTS",
        )


# --- the rules ------------------------------------------------------------------------------


def pinned_addresses(config: ConnectionConfig, *, trusted: bool) -> list[str]:
    """The checked addresses to connect to, in the resolver's order.

    Empty when the driver should be given the host as typed: a local socket (a PostgreSQL
    socket folder, MySQL's `localhost`) or a name that does not resolve here (the driver then
    says so) — both only for trusted connections.
    """
    host = config.host
    allow_private = trusted or settings.NOCO_SOURCES_ALLOW_PRIVATE
    local_socket = host.startswith(("/", "@")) or (
        config.kind == "mysql2" and host == "localhost"
    )
    if local_socket:
        if allow_private:
            return []
        raise _refused(host)
    try:
        addresses = netguard.resolve(host, config.port or DEFAULT_PORTS[config.kind])
    except netguard.Unresolvable:
        if allow_private:
            return []
        raise _refused(host)  # the same answer as a private one: no DNS oracle
    for address in addresses:
        verdict = netguard.classify(address)
        if verdict is None or (allow_private and not verdict.always):
            continue
        if not allow_private:
            raise _refused(host)
        raise HostRefused(
            f"'{host}' resolves to {address}, {verdict.reason}: no data source may connect "
            "there."
        )
    return addresses


def _refused(host: str) -> HostRefused:
    # One message for every refusal a non-admin meets: nothing about ports, addresses or
    # whether the name exists.
    return HostRefused(
        f"Cannot connect to '{host}': it does not resolve to a public address, and only site "
        "administrators may connect databases on loopback, private or link-local networks."
    )


def check_sqlite_path(path: Path, *, trusted: bool) -> None:
    """Refuse a SQLite path this caller may not open, before asking whether it exists.

    `path` is resolved (symlinks and `..` followed) by the caller, and that resolved path is
    the one opened.
    """
    allowed = [Path(p).resolve() for p in settings.NOCO_SQLITE_ALLOWED_DIRS]
    if allowed and not any(path.is_relative_to(p) for p in allowed):
        raise PathRefused(
            "SQLite files may only be opened from the folders in NOCO_SQLITE_ALLOWED_DIRS."
        )
    if not allowed and not trusted:
        raise PathRefused(
            "Only administrators may connect SQLite files, unless NOCO_SQLITE_ALLOWED_DIRS "
            "lists folders open to everyone."
        )
    own = [Path(settings.NOCO_STORE_DIR).resolve(), Path(settings.VAR_DIR).resolve()]
    meta = settings.DATABASES["default"].get("NAME")
    if any(path.is_relative_to(p) for p in own) or (
        meta and str(path) == str(Path(str(meta)).resolve())
    ):
        raise PathRefused("That file belongs to the platform itself.")


def connect_settings(config: ConnectionConfig, *, trusted: bool) -> dict:
    """Django settings for a new connection alias of a stored source, checked and pinned."""
    if config.kind == "sqlite3":
        if not trusted:
            check_sqlite_path(Path(config.path).expanduser().resolve(), trusted=False)
        return config.django_settings()
    return config.django_settings(addresses=pinned_addresses(config, trusted=trusted))
