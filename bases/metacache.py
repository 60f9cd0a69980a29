"""Per-process cache of table metadata, checked against the data source's meta_version.

Every metadata change bumps `DataSource.meta_version` (sync, schema edits, settings). A request
pays one small indexed query to read the current version; only when it moved are the table, its
source and its fields loaded again. Works the same with one process or many (the version lives
in the meta DB), so no cross-process invalidation channel is needed.
"""

from __future__ import annotations

import threading

from django.db import connection

from bases.models import Table

_lock = threading.Lock()
_tables: dict[str, tuple[int, Table]] = {}
MAX_ENTRIES = 5000


def _current_version(table_id: str) -> int | None:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT s.meta_version FROM bases_table t JOIN bases_datasource s ON s.id = t.source_id WHERE t.id = %s",
            [table_id],
        )
        row = cur.fetchone()
    return None if row is None else row[0]


def get_table(table_id: str) -> Table | None:
    """The table with `.base`, `.source` and its TableMeta preloaded, or None if missing."""
    version = _current_version(table_id)
    if version is None:
        _tables.pop(table_id, None)
        return None
    cached = _tables.get(table_id)
    if cached is not None and cached[0] == version:
        return cached[1]
    from bases.records import TableMeta

    table = Table.objects.select_related("base", "source").filter(pk=table_id).first()
    if table is None:
        return None
    table._table_meta = TableMeta(
        table, list(table.fields.select_related("related_table__source").all())
    )
    with _lock:
        if len(_tables) >= MAX_ENTRIES:
            _tables.clear()
        _tables[table_id] = (table.source.meta_version, table)
    return table


def clear() -> None:
    _tables.clear()
