"""Writing records: create, update, delete (one or bulk, all or nothing).

Every write validates values through the field types (records/inputs.py), touches only the
fields given, and runs in one transaction on the user database. Bulk requests name the index
of the row that failed. Link and unlink are in records/links.py.

Each write produces ONE RecordsChanged (records/events.py; a bulk write is one event with many
keys), emitted with records.dispatch inside the write's transaction: the record history, the
webhook outbox and realtime subscribe to it (docs/events.md). It carries the values written and,
for updates and deletes, the rows' previous values, read in the write's transaction with one
SELECT per batch of up to 1000 keys (locked FOR UPDATE where the database can, so a concurrent
writer cannot slip between that read and the write; bases/row_images.py).
"""

from __future__ import annotations

from django.db import DatabaseError, IntegrityError, transaction

from bases import row_images, schema_guard
from bases.models import Table
from bases.query import dml
from bases.query.dialects import dialect_for
from bases.records import TableMeta
from bases.sources import user_db
from nocoplatform.errors import InvalidInput, NotFound, PreconditionFailed
from permissions.checks import Actor
from records import bulk as pg_bulk
from records import dispatch, inputs


def insert_rows(
    table: Table,
    rows,
    *,
    actor: Actor,
    max_rows: int | None = 1000,
    restore: bool = False,
) -> list:
    """Insert one or many rows as `actor`; return their primary key values (in order).

    Keys naming fields hidden from the actor are FIELD_NOT_FOUND (400); read-only ones 403.
    `restore`: the rows are deleted rows brought back from the trash (history/trash.py),
    {field id: value} of every column, hidden ones included; needs `records.restore`.
    """
    source, meta = inputs.writable(
        table, actor, "records.restore" if restore else "records.create"
    )
    items, _ = inputs.as_list(rows, "record", max_rows)
    columns: dict = {}
    if restore:
        full = TableMeta.unrestricted(table)
        parsed = [
            inputs.restore_values(full, row, i if len(items) > 1 else None)
            for i, row in enumerate(items)
        ]
    else:
        parsed = [
            inputs.values(
                meta,
                row,
                i if len(items) > 1 else None,
                for_update=False,
                columns=columns,
            )
            for i, row in enumerate(items)
        ]
    # A restored row keeps its own created stamps (kept with it); it was modified now.
    stamps = inputs.stamps(meta, "update" if restore else "insert", actor)
    if stamps:  # the same Field objects in every row: rows still group by their fields
        for values in parsed:
            values.update(stamps)
    ids: list = []
    prepared = dispatch.prepare(table, "insert", None)
    with (
        user_db(source) as conn,
        schema_guard.guarded_write(conn, table, meta.all_fields),
    ):
        d = dialect_for(conn)
        with inputs.write_transaction(conn):
            # Rows with the same set of fields go in one multi-row statement (the parsed rows
            # share their Field objects: identity names a field).
            groups: dict[tuple, list[int]] = {}
            for i, values in enumerate(parsed):
                groups.setdefault(tuple(map(id, values)), []).append(i)
            result: dict[int, list] = {}
            for indexes in groups.values():
                fields = list(parsed[indexes[0]].keys())
                for start in range(0, len(indexes), 1000):
                    chunk = indexes[start : start + 1000]
                    result.update(
                        _insert_chunk(
                            conn,
                            d,
                            table,
                            meta,
                            fields,
                            [parsed[i] for i in chunk],
                            chunk,
                            len(items) > 1,
                        )
                    )
            ids = [result[i] for i in range(len(items))]
            inputs.emit(
                table,
                "insert",
                ids,
                actor=actor,
                meta=meta,
                conn=conn,
                values=tuple(parsed),
                prepared=prepared,
            )
    return ids


def _insert_chunk(
    conn, d, table, meta, fields, values_list, indexes, bulk: bool
) -> dict[int, list]:
    pk = meta.pk
    returning = dml.returning(d, pk)
    out: dict[int, list] = {}
    with conn.cursor() as cur:
        if not fields:
            for i in indexes:
                try:
                    cur.execute(dml.insert_defaults(d, table.table_name, returning))
                except DatabaseError as exc:
                    raise inputs.db_error(exc, i if bulk else None)
                out[i] = list(cur.fetchone()) if returning else [cur.lastrowid]
            return out
        if (
            d.typed_bulk_insert
            and len(values_list) > 1
            and all(f.db_type for f in fields)
        ):
            fetched = None
            if all(pg_bulk.scalar_column(f) for f in fields):
                fetched = pg_bulk.unnest_insert(
                    conn, d, table, fields, values_list, returning
                )
            if fetched is None:
                fetched = pg_bulk.copy_insert(
                    conn, d, table, fields, values_list, returning
                )
            if fetched is not None:
                return {i: list(r) for i, r in zip(indexes, fetched, strict=True)}
            # else fall through: row by row names the row the database refuses
        elif returning or len(values_list) == 1:
            params = [d.to_db(f, v[f]) for v in values_list for f in fields]
            try:
                with transaction.atomic(using=conn.alias):
                    cur.execute(
                        dml.insert_values(
                            d, table.table_name, fields, len(values_list), returning
                        ),
                        params,
                    )
                    fetched = cur.fetchall() if returning else None
            except DatabaseError as exc:
                if len(values_list) == 1:
                    raise inputs.db_error(exc, indexes[0] if bulk else None)
                # Fall through: insert row by row to name the row the database refuses.
            else:
                if returning:
                    return {i: list(r) for i, r in zip(indexes, fetched, strict=True)}
                return {
                    indexes[0]: (_explicit_pk(meta, values_list[0]) or [cur.lastrowid])
                    if pk
                    else []
                }
        # Row by row (MySQL without RETURNING, or to find the failing row), each in a savepoint.
        for i, values in zip(indexes, values_list, strict=True):
            try:
                with transaction.atomic(using=conn.alias):
                    cur.execute(
                        dml.insert_values(d, table.table_name, fields, 1, returning),
                        [d.to_db(f, values[f]) for f in fields],
                    )
                    # Read RETURNING inside the savepoint: SQLite cannot release it mid-statement.
                    returned = list(cur.fetchone()) if returning else None
            except DatabaseError as exc:
                raise inputs.db_error(exc, i if bulk else None)
            if returning:
                out[i] = returned
            else:
                out[i] = (_explicit_pk(meta, values) or [cur.lastrowid]) if pk else []
    return out


def _explicit_pk(meta: TableMeta, values: dict) -> list | None:
    given = [values.get(f) for f in meta.pk]
    return given if all(v is not None for v in given) else None


def update_rows(
    table: Table,
    rows,
    *,
    actor: Actor,
    max_rows: int | None = 1000,
    if_match: str | None = None,
) -> list:
    """Update the given fields of one or many rows (each carries its primary key) as `actor`.

    Hidden fields are FIELD_NOT_FOUND (400), read-only ones FIELD_READ_ONLY (403).
    `if_match`: the row version (records.row_version) the writer last read; when the row has
    changed since, nothing is written and PreconditionFailed (412) is raised. One row only.
    """
    source, meta = inputs.writable(table, actor, "records.update")
    items, bulk = inputs.as_list(rows, "record", max_rows)
    if if_match is not None and bulk:
        raise InvalidInput(
            "If-Match applies to one record; send one object.", code="INVALID_BODY"
        )
    plan, columns = [], {}
    stamps = inputs.stamps(meta, "update", actor)
    for i, row in enumerate(items):
        index = i if bulk else None
        values = inputs.values(meta, row, index, for_update=True, columns=columns)
        # An update that writes nothing (only the key) modifies nothing either.
        plan.append(
            (inputs.pk_values(meta, row, index), values | stamps if values else values)
        )
    keys = [pk for pk, _ in plan]
    prepared = dispatch.prepare(table, "update", keys)
    with (
        user_db(source) as conn,
        schema_guard.guarded_write(conn, table, meta.all_fields),
    ):
        d = dialect_for(conn)
        written = list({f.id: f for _, values in plan for f in values}.values())

        def emit(state: dict) -> None:
            inputs.emit(
                table,
                "update",
                keys,
                actor=actor,
                meta=meta,
                conn=conn,
                fields=tuple(f.id for f in written),
                values=tuple(values for _, values in plan),
                before=state,
                prepared=prepared,
            )

        if (
            d.update_from_subquery
            and not bulk
            and if_match is None
            and plan[0][1]
            and not conn.in_atomic_block
        ):
            # One autocommit statement: the event follows it.
            emit(_update_one_statement(conn, d, table, meta, *plan[0]))
        else:
            _update_in_transaction(
                conn, d, table, meta, plan, written, keys, bulk, if_match, emit
            )
    return [pk for pk, _ in plan]


def _update_one_statement(conn, d, table, meta, pk_values, values) -> dict:
    """One row on PostgreSQL: ONE statement, in autocommit, that locks the row, reads the
    written fields' previous values (for the record history) and updates it — one round trip
    instead of four (BEGIN, SELECT … FOR UPDATE, UPDATE, COMMIT). The FROM subquery locks the
    row before the update sees it, so the values returned are the ones this update replaced."""
    pk = meta.pk
    cols = list(pk) + [f for f in values if f not in pk]
    key = [d.to_db(f, v) for f, v in zip(pk, pk_values, strict=True)]
    try:
        with conn.cursor() as cur:
            cur.execute(
                dml.update_returning_old(d, table.table_name, pk, list(values), cols),
                [d.to_db(f, v) for f, v in values.items()] + key,
            )
            rows = cur.fetchall()
    except DatabaseError as exc:
        raise inputs.db_error(exc, None)
    if not rows:
        raise NotFound(
            f"record {meta.record_id(pk_values)} not found.", code="RECORD_NOT_FOUND"
        )
    return row_images.rows_state(d, pk, cols, rows)


def _update_in_transaction(
    conn, d, table, meta, plan, written, keys, bulk, if_match, emit
) -> None:
    with inputs.write_transaction(conn), conn.cursor() as cur:
        # The previous values of the written fields, for the record history.
        state = (
            row_images.current_values(cur, d, table, meta.pk, written, keys)
            if written
            else {}
        )
        if bulk and if_match is None and _update_many(cur, conn, d, table, meta, plan):
            emit(state)
            return
        for i, (pk_values, values) in enumerate(plan):
            key = [d.to_db(f, v) for f, v in zip(meta.pk, pk_values, strict=True)]
            if if_match is not None:
                _check_version(cur, d, table, meta, key, pk_values, if_match)
            try:
                if values:
                    cur.execute(
                        dml.update_by_key(d, table.table_name, meta.pk, list(values)),
                        [d.to_db(f, v) for f, v in values.items()] + key,
                    )
                    found = cur.rowcount
                    if found == 0 and not d.update_counts_matched:
                        # MySQL counts changed rows only
                        found = _exists(cur, d, table, meta, key)
                else:
                    found = _exists(cur, d, table, meta, key)
            except DatabaseError as exc:
                raise inputs.db_error(exc, i if bulk else None)
            if not found:
                where = f"row {i}: " if bulk else ""
                raise NotFound(
                    f"{where}record {meta.record_id(pk_values)} not found.",
                    code="RECORD_NOT_FOUND",
                )
        emit(state)


def _update_many(cur, conn, d, table, meta, plan) -> bool:
    """A bulk update's rows as one statement run with many parameter sets (executemany:
    one round trip in psycopg's pipeline, one prepared statement in SQLite), rows grouped by
    the fields they write. False — nothing kept, its savepoint rolled back — when it cannot
    say that every row was found (MySQL counts changed rows only; a row writing nothing) or
    the database refuses a row: the caller then goes row by row to name that row."""
    if not d.update_counts_matched or len(plan) < 2 or not all(v for _, v in plan):
        return False
    groups: dict[tuple, list[int]] = {}
    for i, (_, values) in enumerate(plan):
        groups.setdefault(tuple(map(id, values)), []).append(i)
    try:
        with transaction.atomic(using=conn.alias):
            for indexes in groups.values():
                fields = list(plan[indexes[0]][1])
                params = [
                    [d.to_db(f, plan[i][1][f]) for f in fields]
                    + [d.to_db(f, v) for f, v in zip(meta.pk, plan[i][0], strict=True)]
                    for i in indexes
                ]
                cur.executemany(
                    dml.update_by_key(d, table.table_name, meta.pk, fields), params
                )
                if cur.rowcount != len(indexes):
                    raise _RowByRow
    except (_RowByRow, DatabaseError):
        return False
    return True


class _RowByRow(Exception):
    """Leave _update_many's savepoint: the rows go one by one instead."""


def _check_version(cur, d, table, meta, key, pk_values, expected: str) -> None:
    """Lock the row (where the database can) and compare its version with `expected`."""
    from bases.records import row_version

    cols = [d.quote(f.column_name) for f in meta.columns]
    cur.execute(dml.select_by_key(d, table.table_name, cols, meta.pk, lock=True), key)
    raw = cur.fetchone()
    if raw is None:
        raise NotFound(
            f"record {meta.record_id(pk_values)} not found.", code="RECORD_NOT_FOUND"
        )
    current = row_version(meta, d.rows_as_dicts(meta.columns, [raw])[0])
    if expected.strip() != "*" and current != expected.strip().strip('"').removeprefix(
        'W/"'
    ).strip('"'):
        raise PreconditionFailed(
            f"Record {meta.record_id(pk_values)} has changed since you read it "
            "(its version is no longer the one sent in If-Match): read it again.",
            details={"version": current},
        )


def _exists(cur, d, table, meta, key) -> int:
    cur.execute(dml.select_by_key(d, table.table_name, ["1"], meta.pk), key)
    return 1 if cur.fetchone() else 0


def delete_rows(
    table: Table, rows, *, actor: Actor, max_rows: int | None = 1000
) -> list:
    """Delete one or many rows (each given by its primary key) as `actor`."""
    source, meta = inputs.writable(table, actor, "records.delete")
    items, bulk = inputs.as_list(rows, "record", max_rows)
    keys = [
        inputs.pk_values(meta, row, i if bulk else None) for i, row in enumerate(items)
    ]
    prepared = dispatch.prepare(table, "delete", keys)
    with (
        user_db(source) as conn,
        schema_guard.guarded_write(conn, table, meta.all_fields),
    ):
        d = dialect_for(conn)
        columns = [f for f in meta.all_fields if f.column_name]
        with inputs.write_transaction(conn), conn.cursor() as cur:
            # What the deleted rows held, for the record history (every column: each reader
            # of the history sees only the fields they may see).
            state = row_images.current_values(cur, d, table, meta.pk, columns, keys)
            for i, pk_values in enumerate(keys):
                try:
                    cur.execute(
                        dml.delete_by_key(d, table.table_name, meta.pk),
                        [
                            d.to_db(f, v)
                            for f, v in zip(meta.pk, pk_values, strict=True)
                        ],
                    )
                except IntegrityError as exc:
                    raise inputs.db_error(exc, i if bulk else None)
                if cur.rowcount == 0:
                    where = f"row {i}: " if bulk else ""
                    raise NotFound(
                        f"{where}record {meta.record_id(pk_values)} not found.",
                        code="RECORD_NOT_FOUND",
                    )
            inputs.emit(
                table,
                "delete",
                keys,
                actor=actor,
                meta=meta,
                conn=conn,
                before=state,
                prepared=prepared,
            )
    return keys
