"""Cache of table metadata, checked against the data source's meta_version.

Every metadata change bumps `DataSource.meta_version` (sync, schema edits, settings, field
rules). A request pays one small indexed query to read the current version — none on the API
token path, where permissions/auth.py reads it with the token — so a change made by any process
or machine is seen by every other on its very next request; no invalidation message can be lost.

Two levels hold the table with its fields for a version:
- this process (a dict): a hit costs nothing;
- Django's cache when it is shared (Redis: the production profile), under a version key
  `noco:meta:<table>:<version>` with a TTL (NOCO_META_CACHE_TTL): after a change, or in a
  process just started, one GET replaces the queries that load the table and its fields, once
  for all processes and machines. An old version's key is never read again (the version is in
  the key) and expires. Redis down or hung: the meta DB serves, without an error, and the
  shared level is skipped for NOCO_META_CACHE_RETRY seconds (its calls time out after 1 s).
What is stored is the rows as read from the meta DB: never a decrypted connection setting.
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import connection

from bases.models import Table

log = logging.getLogger(__name__)

_lock = threading.Lock()
_tables: dict[str, tuple[int, Table]] = {}
MAX_ENTRIES = 5000


def _current_version(table_id: str, user_id):
    """(meta_version, base id, the user's base role, their override for this table, whether
    they have any override in the base) in one query."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT s.meta_version, t.base_id, m.role, r.role, "
            "EXISTS (SELECT 1 FROM permissions_tablerole r2 "
            "JOIN bases_table t2 ON t2.id = r2.table_id "
            "WHERE r2.user_id = %s AND t2.base_id = t.base_id) "
            "FROM bases_table t "
            "JOIN bases_datasource s ON s.id = t.source_id "
            "LEFT JOIN permissions_membership m ON m.base_id = t.base_id AND m.user_id = %s "
            "LEFT JOIN permissions_tablerole r ON r.table_id = t.id AND r.user_id = %s "
            "WHERE t.id = %s",
            [user_id, user_id, user_id, table_id],
        )
        return cur.fetchone()


def base_tables(base_id: str, user_id) -> list[tuple]:
    """(table id, meta_version, is_junction, the user's base role, their override for the
    table) for every table of a base, in the base's order (GraphQL, which needs all of a
    base's tables per request, bases/gql/schema.py).

    One query, or none: on a PostgreSQL meta DB the answer is kept in this process's
    permissions.authcache, whose NOTIFY triggers fire on every change it reads (a table added,
    removed or moved to another base or source, a meta_version bump — renames and sync's
    junction changes make one —, a membership or table override changed) and which this
    process empties itself when its own metadata change commits (`forget_on_commit`)."""
    from permissions import authcache

    cache = authcache.current()
    key = ("base_tables", base_id, user_id)
    hit = cache.get(key) if cache is not None else None
    if hit is not None:
        return hit
    generation = cache.generation() if cache is not None else None
    rows = _base_tables(base_id, user_id)
    if cache is not None and rows:
        cache.put(key, rows, generation)
    return rows


def _base_tables(base_id: str, user_id) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT t.id, s.meta_version, t.is_junction, m.role, r.role "
            "FROM bases_table t "
            "JOIN bases_datasource s ON s.id = t.source_id "
            "LEFT JOIN permissions_membership m ON m.base_id = t.base_id AND m.user_id = %s "
            "LEFT JOIN permissions_tablerole r ON r.table_id = t.id AND r.user_id = %s "
            'WHERE t.base_id = %s ORDER BY t."order", t.title',
            [user_id, user_id, base_id],
        )
        # SQLite answers is_junction as 0/1; tuples: the cached answer is shared.
        return [(r[0], r[1], bool(r[2]), r[3], r[4]) for r in cur.fetchall()]


def get_table(table_id: str, user=None) -> Table | None:
    """The table with `.base`, `.source` and its TableMeta preloaded, or None if missing.

    With `user`, their role in the table's base and their override for this table are read by
    the same query and remembered on the user object for this request (permissions.checks reads
    them there), so authorising the request costs no further query.
    """
    prefetched = getattr(user, "_noco_table_versions", None)
    if prefetched is not None and table_id in prefetched:
        # Read with the API token in the same round trip (permissions.auth), this request.
        row = prefetched.pop(table_id)
    else:
        row = _current_version(table_id, getattr(user, "pk", None))
    if row is None:
        _tables.pop(table_id, None)
        return None
    version, base_id, role, override, any_override = row
    if user is not None and getattr(user, "is_authenticated", False):
        from permissions.checks import perm_cache

        cache = perm_cache(user)
        cache.roles[base_id] = role
        cache.table_roles[table_id] = override
        if not any_override:
            cache.overrides_known.add(base_id)
    cached = _tables.get(table_id)
    if cached is not None and cached[0] == version:
        return cached[1]
    from bases.records import TableMeta

    table = shared_get(table_id, version)
    if table is None:
        table = (
            Table.objects.select_related("base", "source").filter(pk=table_id).first()
        )
        if table is None:
            return None
        fields = list(table.fields.select_related("related_table__source").all())
        if table.source.meta_version == version:
            shared_set(table_id, version, table, fields)
        table._table_meta = TableMeta(table, fields)
    with _lock:
        if len(_tables) >= MAX_ENTRIES:
            _tables.clear()
        _tables[table_id] = (table.source.meta_version, table)
    return table


def cached(table_id: str, version: int) -> Table | None:
    """The cached table if it is at `version` (already checked by the caller), else None."""
    entry = _tables.get(table_id)
    return entry[1] if entry is not None and entry[0] == version else None


def clear() -> None:
    _tables.clear()


# --- the shared level (Django's cache, when it is Redis) ---------------------------------------

_shared_down_until = [0.0]


def _shared_cache():
    from django.conf import settings
    from django.core.cache import caches

    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if "redis" not in backend.lower() or time.monotonic() < _shared_down_until[0]:
        return None
    return caches["default"]


def _key(table_id: str, version: int) -> str:
    return f"noco:meta:{table_id}:{version}"


def _failed(exc: Exception) -> None:
    from django.conf import settings

    _shared_down_until[0] = time.monotonic() + settings.NOCO_META_CACHE_RETRY
    log.warning("shared metadata cache unavailable, using the meta DB: %s", exc)


def shared_get(table_id: str, version: int) -> Table | None:
    """The table (with base, source and its TableMeta) of `version` from the shared cache."""
    from bases.records import TableMeta

    cache = _shared_cache()
    if cache is None:
        return None
    try:
        entry = cache.get(_key(table_id, version))
    except Exception as exc:  # Redis down, hung (timeout) or answering garbage
        _failed(exc)
        return None
    if entry is None:
        return None
    table, fields = entry
    table._table_meta = TableMeta(table, fields)
    return table


def shared_set(table_id: str, version: int, table: Table, fields: list) -> None:
    from django.conf import settings

    cache = _shared_cache()
    if cache is None:
        return
    sources = [table.source] + [
        f.related_table.source for f in fields if f.related_table
    ]
    if any("_config" in s.__dict__ for s in sources):
        return  # a decrypted connection setting rides on it: never to Redis
    try:
        cache.set(
            _key(table_id, version), (table, fields), settings.NOCO_META_CACHE_TTL
        )
    except Exception as exc:
        _failed(exc)
