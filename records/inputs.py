"""What every write of user rows shares: authorising the write, parsing and validating the
body's values through the field types, the write's transaction and its one change event.

Used by the writers (records/writes.py: insert, update, delete; records/links.py: link and
unlink). A bulk request's errors name the index of the row that failed (`row 3: …`).
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import DatabaseError, IntegrityError, transaction

from bases import changes
from bases import fieldtypes as ft
from bases.models import DataSource, Field, Table
from bases.records import TableMeta
from nocoplatform.errors import Forbidden, InvalidInput, Unprocessable
from permissions.checks import Actor, require
from records import dispatch
from records.events import RecordsChanged

PK_ALIASES = ("Id", "id", "ID")


def emit(table: Table, op: str, keys: list, *, actor: Actor, meta, conn, **rest):
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


def writable(
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
def write_transaction(conn):
    """One transaction on the user database. Constraints checked only at COMMIT (deferred
    foreign keys) become the same 422 as immediate ones, never a 500."""
    try:
        with transaction.atomic(using=conn.alias):
            yield
    except DatabaseError as exc:
        if isinstance(exc, (IntegrityError,)) or "constraint" in str(exc).lower():
            raise db_error(exc, None)
        raise


def as_list(body, what: str, max_rows: int | None) -> tuple[list, bool]:
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


def column_for(meta: TableMeta, key: str, where: str, for_update: bool):
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
        why = (
            f" (a {ftype.label.lower()}: its value is computed)"
            if ftype.computed
            else ""
        )
        raise InvalidInput(
            f"{where}'{field.title}' is read-only{why}.", code="READ_ONLY_FIELD"
        )
    # Bounded by what the column holds (bases/value_limits.py): the same 400 naming the field
    # on every database, before any of them sees the value.
    return field, ftype.stored_as(field).value_parser(field, db=meta.table.source.kind)


def values(
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
            entry = columns[key] = column_for(meta, key, _where(index), for_update)
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


def pk_values(meta: TableMeta, row, index: int | None) -> list:
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


def db_error(exc: DatabaseError, index: int | None) -> Unprocessable:
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
