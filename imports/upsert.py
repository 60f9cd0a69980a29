"""Upsert by a key column: which existing rows a batch of the file's rows updates.

One SELECT per batch (the key field `IN` the batch's keys: bases/query/select.by_keys, rows
locked where the database can), never one per row. The database's own equality decides
(its collation: MySQL's default one ignores case and trailing spaces); the rows it returns
are matched back to the file's values exactly, else by their case-folded text.
"""

from __future__ import annotations

from bases.models import Field
from bases.query import select
from bases.query.dialects import dialect_for


def _loose(value):
    return value.casefold().rstrip() if isinstance(value, str) else value


def match(conn, table, pk: list[Field], key: Field, values: list) -> dict:
    """{key value: [primary key values of each row holding it]} for the given key values
    (parsed, not None); values no row holds are absent."""
    d = dialect_for(conn)
    unique = list(dict.fromkeys(values))
    cols = [*pk, key]
    columns = [d.quote(f.column_name) for f in cols]
    found: dict = {}
    with conn.cursor() as cur:
        cur.execute(
            *select.by_keys(
                d, table.table_name, columns, [key], [[v] for v in unique], lock=True
            )
        )
        for raw in cur.fetchall():
            pk_values = [d.from_db(f, v) for f, v in zip(pk, raw, strict=False)]
            found.setdefault(d.from_db(key, raw[-1]), []).append(pk_values)
    out: dict = {}
    loose: dict = {}
    for value, rows in found.items():
        loose.setdefault(_loose(value), []).extend(rows)
    for value in unique:
        if value in found:
            out[value] = found[value]
        elif _loose(value) in loose:
            out[value] = loose[_loose(value)]
    return out
