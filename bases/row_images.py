"""Before images of a record write: the rows' values, read in the write's own transaction.

The records service reads them once per write (one SELECT per 1000 keys, the rows locked where
the database can, so no concurrent writer slips between the read and the write) and puts them
in the write's RecordsChanged (records/events.py); the record history builds its entries from
them. Values are kept as records.values.plain returns them.
"""

from __future__ import annotations

from bases.query import select
from records.values import plain


def key(pk_values) -> tuple:
    return tuple(str(v) for v in pk_values)


def current_values(cur, d, table, pk: list, fields: list, keys: list) -> dict:
    """{key: {field id: value}} of the rows with these keys (`records.values.plain` values):
    one SELECT per 1000 keys (bases/query/select.py), locking the rows where the database can."""
    cols = list(pk) + [f for f in fields if f not in pk]
    columns = [d.quote(f.column_name) for f in cols]
    unique = list(dict.fromkeys(tuple(k) for k in keys))
    out: dict = {}
    for start in range(0, len(unique), 1000):
        batch = unique[start : start + 1000]
        cur.execute(*select.by_keys(d, table.table_name, columns, pk, batch, lock=True))
        out.update(rows_state(d, pk, cols, cur.fetchall()))
    return out


def rows_state(d, pk: list, cols: list, rows) -> dict:
    """{key: {field id: value}} of raw rows whose columns are `cols` (the key's first)."""
    out: dict = {}
    for raw in rows:
        values = [d.from_db(f, v) for f, v in zip(cols, raw, strict=True)]
        out[key(values[: len(pk)])] = {
            f.id: plain(f, v) for f, v in zip(cols, values, strict=True)
        }
    return out
