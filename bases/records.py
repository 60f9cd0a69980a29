"""The records service: every read and write of user rows goes through here.

This first version covers listing a page, reading distinct values and bulk inserts; the
records API issue grows it into the full query layer (where/sort/cursor compiled per dialect).
Identifiers come only from metadata and are quoted by the dialect; values are always bound.
"""

from __future__ import annotations

from collections.abc import Iterable

from bases import fieldtypes as ft
from bases.models import DataSource, Field, Table
from bases.sources import user_db
from nocoplatform.errors import Forbidden, InvalidInput

MAX_PAGE = 1000


def _columns(table: Table) -> list[Field]:
    return [f for f in table.fields.all() if f.column_name]


def list_records(
    table: Table,
    *,
    fields: Iterable[str] | None = None,
    limit: int = 25,
    offset: int = 0,
) -> list[dict]:
    """A page of rows as {field title: value}, in primary-key order."""
    if not 0 < limit <= MAX_PAGE:
        raise InvalidInput(
            f"`limit` must be from 1 to {MAX_PAGE}.", code="INVALID_LIMIT"
        )
    if offset < 0:
        raise InvalidInput("`offset` may not be negative.", code="INVALID_OFFSET")
    columns = _columns(table)
    if fields is not None:
        wanted = list(fields)
        by_title = {f.title: f for f in columns} | {f.column_name: f for f in columns}
        missing = [w for w in wanted if w not in by_title]
        if missing:
            raise InvalidInput(f"Unknown field '{missing[0]}'.", code="FIELD_NOT_FOUND")
        columns = [by_title[w] for w in wanted]
    pk = [f for f in _columns(table) if f.is_pk]
    with user_db(table.source) as conn:
        qn = conn.ops.quote_name
        select = ", ".join(qn(f.column_name) for f in columns) or "1"
        order = ", ".join(qn(f.column_name) for f in pk)
        sql = f"SELECT {select} FROM {qn(table.table_name)}"
        if order:
            sql += f" ORDER BY {order}"
        sql += " LIMIT %s OFFSET %s"
        with conn.cursor() as cur:
            cur.execute(sql, [limit, offset])
            rows = cur.fetchall()
    return [
        {f.title: _out(f, v) for f, v in zip(columns, row, strict=True)} for row in rows
    ]


def _out(field: Field, value):
    if field.column_type == ft.BOOLEAN and value is not None:
        return bool(value)
    if field.column_type == ft.JSON and isinstance(value, str):
        import json

        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def distinct_values(field: Field, *, limit: int = 1000) -> list:
    table = field.table
    with user_db(table.source) as conn:
        qn = conn.ops.quote_name
        col = qn(field.column_name)
        with conn.cursor() as cur:
            cur.execute(
                f"SELECT DISTINCT {col} FROM {qn(table.table_name)} WHERE {col} IS NOT NULL LIMIT %s",
                [limit],
            )
            return [r[0] for r in cur.fetchall() if r[0] != ""]


def _writable(table: Table) -> DataSource:
    source = table.source
    if not source.allow_data_edit:
        raise Forbidden(
            "Data editing is switched off for this data source.",
            code="DATA_EDIT_DISABLED",
        )
    if table.read_only_reason:
        raise Forbidden(
            f"This table is read-only: {table.read_only_reason}.",
            code="TABLE_READ_ONLY",
        )
    return source


def insert_many(table: Table, rows: list[dict], *, batch_size: int = 500) -> int:
    """Insert rows ({field title or column: value}) in multi-row statements, all or nothing."""
    source = _writable(table)
    columns = [f for f in _columns(table) if not f.is_auto]
    by_key = {f.title: f for f in columns} | {f.column_name: f for f in columns}
    used: list[Field] = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InvalidInput(f"row {i}: expected an object")
        for key in row:
            if key not in by_key:
                raise InvalidInput(
                    f"row {i}: unknown field '{key}'", code="FIELD_NOT_FOUND"
                )
            if by_key[key] not in used:
                used.append(by_key[key])
    values = []
    for i, row in enumerate(rows):
        by_field = {by_key[k]: v for k, v in row.items()}
        out = []
        for f in used:
            try:
                out.append(ft.get(f.uidt).parse(by_field.get(f), f.options))
            except InvalidInput as exc:
                raise InvalidInput(
                    f"row {i}, field '{f.title}': {exc.message}", code="INVALID_VALUE"
                )
        values.append(out)
    if not rows:
        return 0
    from django.db import transaction

    with user_db(source) as conn:
        qn = conn.ops.quote_name
        cols = ", ".join(qn(f.column_name) for f in used)
        with transaction.atomic(using=conn.alias), conn.cursor() as cur:
            for start in range(0, len(values), batch_size):
                chunk = values[start : start + batch_size]
                if used:
                    row_sql = "(" + ", ".join(["%s"] * len(used)) + ")"
                    sql = (
                        f"INSERT INTO {qn(table.table_name)} ({cols}) VALUES "
                        + ", ".join([row_sql] * len(chunk))
                    )
                    cur.execute(sql, [_db_value(conn, v) for row in chunk for v in row])
                else:
                    for _ in chunk:
                        cur.execute(
                            f"INSERT INTO {qn(table.table_name)} DEFAULT VALUES"
                        )
    return len(values)


def _db_value(conn, value):
    import datetime as dt
    import json
    import uuid

    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, uuid.UUID):
        return value.hex if conn.vendor != "postgresql" else value
    if isinstance(value, dt.datetime) and conn.vendor == "mysql":
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value
