"""Before images of a record write: the rows' values, read in the write's own transaction.

The records service reads them once per write (one SELECT per 1000 keys, the rows locked where
the database can, so no concurrent writer slips between the read and the write) and puts them
in the write's RecordsChanged (records/events.py); the record history builds its entries from
them. Values are kept as records.values.plain returns them.
"""

from __future__ import annotations

from records.values import plain


def key(pk_values) -> tuple:
    return tuple(str(v) for v in pk_values)


def current_values(cur, d, table, pk: list, fields: list, keys: list) -> dict:
    """{key: {field id: value}} of the rows with these keys (`history.plain` values): one
    SELECT per 1000 keys, locking the rows where the database can."""
    q = d.quote
    cols = list(pk) + [f for f in fields if f not in pk]
    select = ", ".join(q(f.column_name) for f in cols)
    lock = " FOR UPDATE" if d.vendor in ("postgresql", "mysql") else ""
    unique = list(dict.fromkeys(tuple(k) for k in keys))
    out: dict = {}
    for start in range(0, len(unique), 1000):
        cond, params = d.keys_in(pk, unique[start : start + 1000])
        cur.execute(
            f"SELECT {select} FROM {q(table.table_name)} WHERE {cond}{lock}", params
        )
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
