"""Writing records: create, update, delete (one or bulk, all or nothing) and link/unlink.

Every write validates values through the field types, touches only the fields given, and runs in
one transaction on the user database. Bulk requests name the index of the row that failed.

Each write produces ONE RecordsChanged (records/events.py; a bulk write is one event with many
keys), emitted with records.dispatch inside the write's transaction: the record history, the
webhook outbox and realtime subscribe to it (docs/events.md). It carries the values written and,
for updates and deletes, the rows' previous values, read in the write's transaction with one
SELECT per batch of up to 1000 keys (locked FOR UPDATE where the database can, so a concurrent
writer cannot slip between that read and the write; bases/row_images.py).
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import psycopg
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction

from bases import changes, row_images, schema_guard
from bases import fieldtypes as ft
from bases.models import DataSource, Field, Table
from bases.query import dml
from bases.query.dialects import dialect_for
from bases.records import TableMeta
from bases.sources import user_db
from nocoplatform.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    Unprocessable,
)
from permissions.checks import Actor, require
from records import dispatch
from records.events import RecordsChanged

PK_ALIASES = ("Id", "id", "ID")


def _emit(table: Table, op: str, keys: list, *, actor: Actor, meta, conn, **rest):
    """The write's one RecordsChanged, to its subscribers (records/dispatch.py)."""
    dispatch.emit(
        RecordsChanged(
            table=table,
            op=op,
            keys=tuple(tuple(k) for k in keys),
            actor=actor,
            meta=meta,
            using=conn.alias,
            client_id=changes.write_origin.get(),
            **rest,
        )
    )


def _writable(
    table: Table, actor: Actor, operation: str
) -> tuple[DataSource, TableMeta]:
    """Authorise a write; the data source and the actor's view of the table's fields."""
    require(actor, operation, table)
    meta = TableMeta.of(table, actor=actor)
    source = table.source
    if not source.allow_data_edit:
        raise Forbidden(
            "Data editing is switched off for this data source.",
            code="DATA_EDIT_DISABLED",
        )
    if table.read_only_reason:
        raise Forbidden(
            f"'{table.title}' is read-only: {table.read_only_reason}.",
            code="TABLE_READ_ONLY",
        )
    return source, meta


@contextmanager
def _write_transaction(conn):
    """One transaction on the user database. Constraints checked only at COMMIT (deferred
    foreign keys) become the same 422 as immediate ones, never a 500."""
    try:
        with transaction.atomic(using=conn.alias):
            yield
    except DatabaseError as exc:
        if isinstance(exc, (IntegrityError,)) or "constraint" in str(exc).lower():
            raise _db_error(exc, None)
        raise


def _as_list(body, what: str, max_rows: int | None) -> tuple[list, bool]:
    if isinstance(body, dict):
        return [body], False
    if isinstance(body, list):
        if not body:
            raise InvalidInput(f"Send at least one {what}.", code="INVALID_BODY")
        if max_rows is not None and len(body) > max_rows:
            raise InvalidInput(
                f"At most {max_rows} {what}s per request; split the rest.",
                code="TOO_MANY_RECORDS",
            )
        return body, True
    raise InvalidInput(f"Send a {what} object or a list of them.", code="INVALID_BODY")


def _column_for(meta: TableMeta, key: str, where: str, for_update: bool):
    """(field, parser) for a body key, or None for a key to skip; raises on a bad key."""
    # meta.resolve knows only the fields the actor may see: a hidden field is "unknown" here,
    # exactly like a field that does not exist (its existence is not revealed).
    try:
        field = meta.resolve(key)
    except InvalidInput:
        if key in PK_ALIASES and len(meta.pk) == 1:
            field = meta.pk[0]  # NocoDB clients name the key "Id" whatever its title
        else:
            raise InvalidInput(f"{where}unknown field '{key}'.", code="FIELD_NOT_FOUND")
    if field.is_pk and for_update:
        return None
    if field.id in meta.read_only:
        # Mass assignment of a field the actor may read but not write is refused, not ignored.
        raise Forbidden(
            f"{where}'{field.title}' is read-only for you.", code="FIELD_READ_ONLY"
        )
    # An explicit id on insert is allowed where the database accepts it.
    ftype = ft.get(field.uidt)
    explicit_id = ftype.auto_key and not for_update
    if ftype.read_only and not explicit_id:
        raise InvalidInput(
            f"{where}'{field.title}' is read-only.", code="READ_ONLY_FIELD"
        )
    # Bounded by what the column holds (bases/value_limits.py): the same 400 naming the field
    # on every database, before any of them sees the value.
    return field, ftype.stored_as(field).value_parser(field, db=meta.table.source.kind)


def _values(
    meta: TableMeta,
    row,
    index: int | None,
    *,
    for_update: bool,
    columns: dict | None = None,
) -> dict[Field, object]:
    """Parse one body row. `columns` caches key → (field, parser) across the rows of a bulk
    (this runs for every cell of a 1000-row request: the loop stays lean)."""
    if not isinstance(row, dict):
        raise InvalidInput(f"{_where(index)}expected an object.", code="INVALID_BODY")
    columns = {} if columns is None else columns
    out: dict[Field, object] = {}
    for key, value in row.items():
        entry = columns.get(key, _UNSEEN)
        if entry is _UNSEEN:
            entry = columns[key] = _column_for(meta, key, _where(index), for_update)
        if entry is None:
            continue
        field, parse = entry
        try:
            parsed = parse(value, field.options)
        except InvalidInput as exc:
            raise InvalidInput(
                f"{_where(index)}field '{field.title}': {exc.message}",
                code="INVALID_VALUE",
            )
        if parsed is None and not field.is_nullable and not field.is_auto:
            raise InvalidInput(
                f"{_where(index)}field '{field.title}' is required.",
                code="INVALID_VALUE",
            )
        out[field] = parsed
    return out


_UNSEEN = object()


def _where(index: int | None) -> str:
    return f"row {index}: " if index is not None else ""


def _pk_values(meta: TableMeta, row, index: int | None) -> list:
    where = _where(index)
    pk = meta.require_pk()
    if not isinstance(row, dict):
        raise InvalidInput(
            f"{where}expected an object with the record's id.", code="INVALID_BODY"
        )
    values = []
    for f in pk:
        key = (
            f.title
            if f.title in row
            else (f.column_name if f.column_name in row else None)
        )
        if key is None and len(pk) == 1:
            key = next((k for k in PK_ALIASES if k in row), None)
        if key is None:
            raise InvalidInput(
                f"{where}missing the primary key '{f.title}'.",
                code="MISSING_PRIMARY_KEY",
            )
        values.append(meta.parse_record_id(row[key])[0] if len(pk) == 1 else row[key])
    return values


def _db_error(exc: DatabaseError, index: int | None) -> Unprocessable:
    cause = exc.__cause__ or exc
    text = (
        str(cause).strip().splitlines()[0]
        if str(cause).strip()
        else type(cause).__name__
    )
    where = _where(index)
    return Unprocessable(
        f"{where}the database refused the change: {text}", code="CONSTRAINT_VIOLATION"
    )


def insert_rows(
    table: Table, rows, *, actor: Actor, max_rows: int | None = 1000
) -> list:
    """Insert one or many rows as `actor`; return their primary key values (in order).

    Keys naming fields hidden from the actor are FIELD_NOT_FOUND (400); read-only ones 403.
    """
    source, meta = _writable(table, actor, "records.create")
    items, _ = _as_list(rows, "record", max_rows)
    columns: dict = {}
    parsed = [
        _values(
            meta, row, i if len(items) > 1 else None, for_update=False, columns=columns
        )
        for i, row in enumerate(items)
    ]
    ids: list = []
    prepared = dispatch.prepare(table, "insert", None)
    with (
        user_db(source) as conn,
        schema_guard.guarded_write(conn, table, meta.all_fields),
    ):
        d = dialect_for(conn)
        with _write_transaction(conn):
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
            _emit(
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
                    raise _db_error(exc, i if bulk else None)
                out[i] = list(cur.fetchone()) if returning else [cur.lastrowid]
            return out
        if (
            d.typed_bulk_insert
            and len(values_list) > 1
            and all(f.db_type for f in fields)
        ):
            fetched = None
            if all(_scalar_column(f) for f in fields):
                fetched = _unnest_insert(conn, d, table, fields, values_list, returning)
            if fetched is None:
                fetched = _copy_insert(conn, d, table, fields, values_list, returning)
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
                    raise _db_error(exc, indexes[0] if bulk else None)
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
                raise _db_error(exc, i if bulk else None)
            if returning:
                out[i] = returned
            else:
                out[i] = (_explicit_pk(meta, values) or [cur.lastrowid]) if pk else []
    return out


# Column types whose parsed values are scalars psycopg sends as one typed array.
_UNNEST_TYPES = frozenset(
    {
        *ft.TEXTUAL,
        *ft.NUMERIC,
        ft.BOOLEAN,
        ft.DATE,
        ft.DATETIME,
        ft.TIME,
        ft.UUID,
    }
)


def _scalar_column(field: Field) -> bool:
    # An array column (or a domain over one) would be flattened by unnest.
    return field.column_type in _UNNEST_TYPES and "[" not in field.db_type


def _unnest_insert(conn, d, table, fields, values_list, returning: str):
    """PostgreSQL bulk insert of scalar columns in one statement: each column is one array
    parameter in psycopg's binary format, unnested WITH ORDINALITY into an INSERT … SELECT
    whose rows keep the request's order (1.6 ms less per 1000 rows than the temporary table of
    _copy_insert, and no catalog churn). Values are cast to the column types as one-row
    INSERTs cast them (an ISO date-time with an offset into a `timestamp` column is stored in
    UTC, the connection's time zone).

    None when psycopg cannot send a column as one array (values of mixed Python types) or the
    database refuses a row; the caller then tries the COPY path, then row by row.
    """
    statement = dml.insert_unnest(d, table.table_name, fields, returning)
    # Each row's dict holds `fields` in this order (insert_rows groups rows by their fields).
    columns = [list(c) for c in zip(*(v.values() for v in values_list), strict=True)]
    try:
        with transaction.atomic(using=conn.alias):
            raw = conn.connection.cursor()
            raw.execute(statement, columns)
            fetched = raw.fetchall() if returning else [[] for _ in values_list]
            raw.close()
    except (DatabaseError, psycopg.Error):
        return None  # the savepoint has been rolled back
    return fetched


def _copy_insert(conn, d, table, fields, values_list, returning: str):
    """PostgreSQL bulk insert: COPY the rows into a temporary table, then one INSERT … SELECT.

    COPY sends the values in psycopg's C row format (no statement to parse, no per-value
    placeholder), the fastest way in; the INSERT keeps RETURNING, defaults, constraints and
    triggers of the real table. Rows keep their order through an ordinal column, so the keys
    returned match the request's rows. None when the database refuses any row (the caller then
    inserts row by row to name it).
    """
    create, copy_in, insert, drop = dml.insert_by_copy(
        d, table.table_name, fields, returning
    )
    # Values leave the parsers ready for psycopg; JSON needs its text form here, and date-times
    # go in UTC: COPY's text into a `timestamp` column drops an offset where a one-row INSERT
    # converts to the connection's time zone (UTC).
    convert = [
        (i, _copy_converter(d, f))
        for i, f in enumerate(fields)
        if f.column_type in (ft.JSON, ft.DATETIME)
    ]
    try:
        with transaction.atomic(using=conn.alias):
            raw = conn.connection.cursor()
            # Names are quoted for statements parsed for placeholders (identifiers.py): the
            # raw cursor parses them when given parameters, so it is given an empty list; COPY
            # parses nothing (dml.insert_by_copy undid its `%%`).
            raw.execute(create, ())
            with raw.copy(copy_in) as copy:
                # Each row's dict holds `fields` in this order (insert_rows groups the rows
                # by their fields' ids in order): its values are the row as it is.
                for values in values_list:
                    row = list(values.values())
                    for i, to_copy in convert:
                        row[i] = to_copy(row[i])
                    copy.write_row(row)
            raw.execute(insert, ())
            fetched = raw.fetchall() if returning else [[] for _ in values_list]
            raw.execute(drop, ())
            raw.close()
    except (DatabaseError, psycopg.Error):
        # A raw psycopg cursor raises psycopg's errors; the savepoint has been rolled back.
        return None
    return fetched


def _copy_converter(d, field: Field):
    if field.column_type == ft.JSON:
        return lambda value: d.to_db(field, value)
    return lambda value: (
        value.astimezone(dt.UTC)
        if isinstance(value, dt.datetime) and value.tzinfo is not None
        else value
    )


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
    source, meta = _writable(table, actor, "records.update")
    items, bulk = _as_list(rows, "record", max_rows)
    if if_match is not None and bulk:
        raise InvalidInput(
            "If-Match applies to one record; send one object.", code="INVALID_BODY"
        )
    plan, columns = [], {}
    for i, row in enumerate(items):
        index = i if bulk else None
        plan.append(
            (
                _pk_values(meta, row, index),
                _values(meta, row, index, for_update=True, columns=columns),
            )
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
            _emit(
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
        raise _db_error(exc, None)
    if not rows:
        raise NotFound(
            f"record {meta.record_id(pk_values)} not found.", code="RECORD_NOT_FOUND"
        )
    return row_images.rows_state(d, pk, cols, rows)


def _update_in_transaction(
    conn, d, table, meta, plan, written, keys, bulk, if_match, emit
) -> None:
    with _write_transaction(conn), conn.cursor() as cur:
        # The previous values of the written fields, for the record history.
        state = (
            row_images.current_values(cur, d, table, meta.pk, written, keys)
            if written
            else {}
        )
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
                raise _db_error(exc, i if bulk else None)
            if not found:
                where = f"row {i}: " if bulk else ""
                raise NotFound(
                    f"{where}record {meta.record_id(pk_values)} not found.",
                    code="RECORD_NOT_FOUND",
                )
        emit(state)


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
    source, meta = _writable(table, actor, "records.delete")
    items, bulk = _as_list(rows, "record", max_rows)
    keys = [_pk_values(meta, row, i if bulk else None) for i, row in enumerate(items)]
    prepared = dispatch.prepare(table, "delete", keys)
    with (
        user_db(source) as conn,
        schema_guard.guarded_write(conn, table, meta.all_fields),
    ):
        d = dialect_for(conn)
        columns = [f for f in meta.all_fields if f.column_name]
        with _write_transaction(conn), conn.cursor() as cur:
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
                    raise _db_error(exc, i if bulk else None)
                if cur.rowcount == 0:
                    where = f"row {i}: " if bulk else ""
                    raise NotFound(
                        f"{where}record {meta.record_id(pk_values)} not found.",
                        code="RECORD_NOT_FOUND",
                    )
            _emit(
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


# --- links -----------------------------------------------------------------------------------


def _link_targets(related_meta: TableMeta, body) -> list:
    items, _ = _as_list(body, "linked record", settings.NOCO_MAX_PAGE_SIZE)
    out = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            out.append(_pk_values(related_meta, item, i)[0])
        else:
            out.append(related_meta.parse_record_id(item)[0])
    return out


def link_records(
    table: Table, link: Field, record_id, body, *, actor: Actor, unlink: bool = False
) -> int:
    """Link (or unlink) records of the related table to one record as `actor`; returns how
    many. The link field must be visible and writable for them, the related table visible."""
    source, meta = _writable(table, actor, "records.update")
    if link.id not in meta.resolve.by_id:
        raise NotFound("Link field not found.", code="FIELD_NOT_FOUND")
    if link.id in meta.read_only:
        raise Forbidden(f"'{link.title}' is read-only for you.", code="FIELD_READ_ONLY")
    related = link.related_table
    related_meta = TableMeta.of(related, actor=actor)
    if link.options.get("relation") == "hm":
        # Has-many links are stored in the related table's rows: the actor must be allowed
        # to change those too (a table override may make it read-only for them).
        require(actor, "records.update", related)
    related_meta.require_pk()
    o = link.options
    this_pk = meta.parse_record_id(record_id)
    targets = _link_targets(related_meta, body)
    op = "unlink" if unlink else "link"
    prepared = dispatch.prepare(table, op, [this_pk])
    with (
        user_db(source) as conn,
        schema_guard.guarded_write(conn, table, meta.all_fields),
    ):
        d = dialect_for(conn)
        with _write_transaction(conn), conn.cursor() as cur:
            this_ref = _ref_value(
                cur,
                d,
                meta,
                this_pk,
                o.get("fk_column")
                if o.get("relation") == "bt"
                else o.get("ref_column"),
            )
            rel_pk = related_meta.pk[0]
            for t in targets:
                _require_row(cur, d, related_meta, [t])
            relation = o.get("relation")
            if relation == "bt":
                if len(targets) > 1:
                    raise InvalidInput(
                        "A belongs-to link holds one record.", code="INVALID_BODY"
                    )
                target = targets[0]
                ref_val = _ref_value(
                    cur, d, related_meta, [target], o.get("ref_column")
                )
                new = None if unlink else ref_val
                if unlink and this_ref != ref_val:
                    return 0
                cur.execute(
                    dml.set_column_by_key(d, table.table_name, o["fk_column"], meta.pk),
                    [
                        new,
                        *[d.to_db(f, v) for f, v in zip(meta.pk, this_pk, strict=True)],
                    ],
                )
            elif relation == "hm":
                statement = dml.set_column(
                    d,
                    related.table_name,
                    o["fk_column"],
                    rel_pk.column_name,
                    len(targets),
                    only_if=unlink,
                )
                cur.execute(
                    statement,
                    [*targets, this_ref] if unlink else [this_ref, *targets],
                )
            else:
                junction = Table.objects.get(pk=o["junction_table_id"])
                other_refs = [
                    _ref_value(cur, d, related_meta, [t], o.get("other_ref_column"))
                    for t in targets
                ]
                names = (junction.table_name, o["self_column"], o["other_column"])
                for other in other_refs:
                    cur.execute(dml.junction_delete(d, *names), [this_ref, other])
                    if not unlink:
                        cur.execute(dml.junction_insert(d, *names), [this_ref, other])
            _emit(
                table,
                op,
                [this_pk],
                actor=actor,
                meta=meta,
                conn=conn,
                fields=(link.id,),
                link=link,
                related=related_meta,
                targets=tuple(targets),
                prepared=prepared,
            )
    return len(targets)


def _require_row(cur, d, meta: TableMeta, pk_values: list) -> None:
    cur.execute(
        dml.select_by_key(d, meta.table.table_name, ["1"], meta.pk),
        [d.to_db(f, v) for f, v in zip(meta.pk, pk_values, strict=True)],
    )
    if cur.fetchone() is None:
        raise NotFound(
            f"Record {meta.record_id(pk_values)} of '{meta.table.title}' not found.",
            code="RECORD_NOT_FOUND",
        )


def _ref_value(cur, d, meta: TableMeta, pk_values: list, column: str | None):
    cur.execute(
        dml.select_by_key(d, meta.table.table_name, [d.quote(column)], meta.pk),
        [d.to_db(f, v) for f, v in zip(meta.pk, pk_values, strict=True)],
    )
    row = cur.fetchone()
    if row is None:
        raise NotFound(
            f"Record {meta.record_id(pk_values)} of '{meta.table.title}' not found.",
            code="RECORD_NOT_FOUND",
        )
    return row[0]
