"""The statements that change user tables: INSERT (one row, many rows, PostgreSQL's bulk
paths), UPDATE and DELETE by primary key, and the writes behind a link. Each builder returns
SQL text with `%s` placeholders; the caller (records/writes.py) binds the values, in the
order each docstring gives, and runs it in its transaction.
"""

from __future__ import annotations

import itertools
import re

from bases.models import Field
from bases.query.dialects import Dialect
from bases.query.identifiers import unescape_percent


def key_condition(d: Dialect, pk: list[Field], prefix: str = "") -> str:
    """`a = %s AND b = %s` over the primary key (values bound in `pk` order)."""
    return " AND ".join(f"{prefix}{d.quote(f.column_name)} = %s" for f in pk)


def _columns(d: Dialect, fields: list[Field]) -> str:
    return ", ".join(d.quote(f.column_name) for f in fields)


# --- INSERT -----------------------------------------------------------------------------------


def returning(d: Dialect, pk: list[Field]) -> str:
    """` RETURNING <key columns>` where the database has it (and the table a key), else ""."""
    if pk and d.supports_returning:
        return f" RETURNING {_columns(d, pk)}"
    return ""


def _insert_into(d: Dialect, table_name: str, fields: list[Field]) -> str:
    head = f"INSERT INTO {d.quote(table_name)}"
    return f"{head} ({_columns(d, fields)})" if fields else head


def insert_defaults(d: Dialect, table_name: str, returning_sql: str) -> str:
    """One row of column defaults only (no values)."""
    return _insert_into(d, table_name, []) + d.default_values + returning_sql


def insert_values(
    d: Dialect, table_name: str, fields: list[Field], rows: int, returning_sql: str
) -> str:
    """`rows` rows of `fields` (values bound row after row, each in `fields` order)."""
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return (
        f"{_insert_into(d, table_name, fields)} VALUES "
        f"{', '.join([row_sql] * rows)}{returning_sql}"
    )


# varchar(n) / char(n): an explicit cast to them cuts a longer text short without a word,
# where an INSERT refuses it ("value too long"). Such columns go as text arrays; the INSERT's
# own assignment then checks the length as a one-row insert does.
_LENGTH_LIMITED = re.compile(
    r"^\s*(character varying|varchar|character|char|bpchar)\s*\(\s*\d+\s*\)\s*$", re.I
)


def _array_type(db_type: str) -> str:
    return "text" if _LENGTH_LIMITED.match(db_type) else db_type


def _type_sql(db_type: str) -> str:
    """A column type read from the database, in a statement parsed for placeholders."""
    return db_type.replace("%", "%%")


def insert_unnest(
    d: Dialect, table_name: str, fields: list[Field], returning_sql: str
) -> str:
    """PostgreSQL: all rows in one statement, each column one binary array parameter (bound
    in `fields` order), unnested WITH ORDINALITY so the rows keep the request's order."""
    names = ", ".join(f"c{i}" for i in range(len(fields)))
    arrays = ", ".join(f"%b::{_type_sql(_array_type(f.db_type))}[]" for f in fields)
    return (
        f"INSERT INTO {d.quote(table_name)} ({_columns(d, fields)}) SELECT {names} "
        f"FROM unnest({arrays}) WITH ORDINALITY AS noco_u({names}, noco_ord) "
        f"ORDER BY noco_ord{returning_sql}"
    )


_bulk_tables = itertools.count()


def insert_by_copy(
    d: Dialect, table_name: str, fields: list[Field], returning_sql: str
) -> tuple[str, str, str, str]:
    """PostgreSQL: (create a temporary table, COPY into it, INSERT … SELECT from it in the
    rows' order, drop it). The COPY statement is sent unparsed, so its `%%` are undone here;
    the others take an empty parameter list."""
    tmp = d.quote(f"_noco_bulk_{next(_bulk_tables)}")
    cols = _columns(d, fields)
    typed = ", ".join(
        f"{d.quote(f.column_name)} {_type_sql(f.db_type)}" for f in fields
    )
    return (
        f"CREATE TEMPORARY TABLE {tmp} (_noco_ord serial, {typed}) ON COMMIT DROP",
        unescape_percent(f"COPY {tmp} ({cols}) FROM STDIN"),
        f"INSERT INTO {d.quote(table_name)} ({cols}) "
        f"SELECT {cols} FROM {tmp} ORDER BY _noco_ord{returning_sql}",
        f"DROP TABLE {tmp}",
    )


def copy_from_stdin(
    d: Dialect, schema: str, table_name: str, fields: list[Field]
) -> str:
    """PostgreSQL: COPY text-format rows straight into a table (a new table's first load,
    imports/copyload.py), schema-qualified when a schema is given. Sent unparsed, so its
    `%%` are undone here."""
    target = d.quote(table_name)
    if schema:
        target = f"{d.quote(schema)}.{target}"
    return unescape_percent(f"COPY {target} ({_columns(d, fields)}) FROM STDIN")


# --- UPDATE and DELETE --------------------------------------------------------------------------


def update_by_key(
    d: Dialect, table_name: str, pk: list[Field], fields: list[Field]
) -> str:
    """Set `fields` of one row (values bound: the fields' in order, then the key's)."""
    sets = ", ".join(f"{d.quote(f.column_name)} = %s" for f in fields)
    return f"UPDATE {d.quote(table_name)} SET {sets} WHERE {key_condition(d, pk)}"


def update_returning_old(
    d: Dialect, table_name: str, pk: list[Field], fields: list[Field], cols: list[Field]
) -> str:
    """PostgreSQL: set `fields` of one row and return `cols` as they were before, in one
    statement (values bound: the fields' in order, then the key's). The FROM subquery locks
    the row before the update sees it, so the values returned are the ones it replaced."""
    q = d.quote
    table_sql = q(table_name)
    old = ", ".join(f"noco_old.{q(f.column_name)}" for f in cols)
    join = " AND ".join(
        f"noco_t.{q(f.column_name)} = noco_old.{q(f.column_name)}" for f in pk
    )
    sets = ", ".join(f"{q(f.column_name)} = %s" for f in fields)
    return (
        f"UPDATE {table_sql} AS noco_t SET {sets} FROM (SELECT {_columns(d, cols)} "
        f"FROM {table_sql} WHERE {key_condition(d, pk)} FOR UPDATE) AS noco_old "
        f"WHERE {join} RETURNING {old}"
    )


def delete_by_key(d: Dialect, table_name: str, pk: list[Field]) -> str:
    return f"DELETE FROM {d.quote(table_name)} WHERE {key_condition(d, pk)}"


def select_by_key(
    d: Dialect, table_name: str, columns: list[str], pk: list[Field], *, lock=False
) -> str:
    """`columns` (quoted) of one row, locked where the database can when `lock` (the key's
    values bound)."""
    suffix = d.lock_suffix if lock else ""
    return (
        f"SELECT {', '.join(columns)} FROM {d.quote(table_name)} "
        f"WHERE {key_condition(d, pk)}{suffix}"
    )


def fill_nulls(
    d: Dialect, table_name: str, field: Field, pk: list[Field], groups: dict
) -> tuple[str, list]:
    """Set `field`'s column of the rows given by key, where it is still NULL (a value a write
    put there since is never replaced). `groups`: value → the keys (lists of values in `pk`
    order) of the rows that get it. One statement: `SET c = %s` when one value fits them all
    (the rows of one bulk write share their time and author), else a CASE over the groups.
    Returns the SQL and its parameters."""
    column = d.quote(field.column_name)
    params: list = []
    if len(groups) == 1:
        value_sql = "%s"
        params.append(d.to_db(field, next(iter(groups))))
    else:
        whens = []
        for value, keys in groups.items():
            condition, key_params = d.keys_in(pk, keys)
            whens.append(f"WHEN {condition} THEN %s")
            params += [*key_params, d.to_db(field, value)]
        value_sql = f"CASE {' '.join(whens)} END"
    condition, key_params = d.keys_in(pk, [k for keys in groups.values() for k in keys])
    return (
        f"UPDATE {d.quote(table_name)} SET {column} = {value_sql} "
        f"WHERE ({condition}) AND {column} IS NULL",
        params + key_params,
    )


def fill_nulls_unnest(
    d: Dialect, table_name: str, field: Field, pk: list[Field]
) -> str:
    """PostgreSQL: fill_nulls for rows that each have their own value, joined to one binary
    array parameter per key column and one of values (bound in that order) — where a CASE
    would test every branch for every row."""
    q = d.quote
    names = [f"k{i}" for i in range(len(pk))]
    arrays = ", ".join(
        f"%b::{_type_sql(_array_type(f.db_type))}[]" for f in [*pk, field]
    )
    column = q(field.column_name)
    join = " AND ".join(
        f"noco_t.{q(f.column_name)} = noco_v.{n}"
        for f, n in zip(pk, names, strict=True)
    )
    return (
        f"UPDATE {q(table_name)} AS noco_t SET {column} = noco_v.v "
        f"FROM unnest({arrays}) AS noco_v({', '.join(names)}, v) "
        f"WHERE {join} AND noco_t.{column} IS NULL"
    )


# --- links ----------------------------------------------------------------------------------------


def set_column(
    d: Dialect,
    table_name: str,
    column: str,
    key_column: str,
    keys: int,
    *,
    only_if=False,
) -> str:
    """Set `column` of the rows whose `key_column` is one of `keys` values (bound: the new
    value, then the keys; with `only_if`, the keys then the value `column` must hold, and
    the column is set to NULL)."""
    q = d.quote
    marks = ", ".join(["%s"] * keys)
    if only_if:
        return (
            f"UPDATE {q(table_name)} SET {q(column)} = NULL WHERE {q(key_column)} "
            f"IN ({marks}) AND {q(column)} = %s"
        )
    return f"UPDATE {q(table_name)} SET {q(column)} = %s WHERE {q(key_column)} IN ({marks})"


def set_column_by_key(d: Dialect, table_name: str, column: str, pk: list[Field]) -> str:
    """Set `column` of one row (bound: the new value, then the key's)."""
    return (
        f"UPDATE {d.quote(table_name)} SET {d.quote(column)} = %s "
        f"WHERE {key_condition(d, pk)}"
    )


def junction_delete(d: Dialect, junction: str, self_column: str, other: str) -> str:
    q = d.quote
    return f"DELETE FROM {q(junction)} WHERE {q(self_column)} = %s AND {q(other)} = %s"


def junction_insert(d: Dialect, junction: str, self_column: str, other: str) -> str:
    q = d.quote
    return f"INSERT INTO {q(junction)} ({q(self_column)}, {q(other)}) VALUES (%s, %s)"
