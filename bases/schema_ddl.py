"""DDL on user databases for the schema services: one schema editor per table change,
column alters and drops, and the check that stored values fit a column's new type.

bases/schema_services.py decides what changes (permissions, metadata); this module runs it.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import DatabaseError, connections

from bases import fieldtypes as ft
from bases import schema
from bases.models import Field
from bases.query.dialects import dialect_for
from bases.query.identifiers import check_new_name
from bases.sources import source_alias, user_db
from nocoplatform.errors import SchemaOutOfSync, Unprocessable


def source_vendor(alias: str) -> str:
    return connections[alias].vendor


def ddl_error(exc: DatabaseError) -> Unprocessable:
    cause = exc.__cause__ or exc
    text = (
        str(cause).strip().splitlines()[0]
        if str(cause).strip()
        else type(cause).__name__
    )
    return Unprocessable(f"The database refused the change: {text}", code="DDL_FAILED")


@contextmanager
def table_ddl(alias: str, vendor: str, table_name: str, renamed: dict | None = None):
    """A schema editor for DDL on one table. Database refusals become 422; on SQLite, where
    altering a table rebuilds it, the table's other indexes are put back afterwards."""
    rebuilds = dialect_for(vendor).rebuilds_tables
    indexes = schema.sqlite_indexes(alias, table_name) if rebuilds else []
    try:
        with schema.editor(alias) as ed:
            yield ed
    except DatabaseError as exc:
        raise ddl_error(exc)
    if indexes:
        schema.restore_sqlite_indexes(alias, indexes, renamed)


def drop_column(alias: str, vendor: str, info, column: str | None) -> None:
    """DROP one column of a live table (SQLite: rebuild, then restore the other indexes)."""
    model = schema.build_model(vendor, info)
    old = next((f for f in model._meta.local_fields if f.column == column), None)
    if old is None:
        return
    with table_ddl(alias, vendor, info.name) as ed:
        ed.remove_field(model, old)


def alter_column(
    field: Field, uidt: str, options: dict, new_name: str
) -> dict[str, str]:
    table = field.table
    source = table.source
    alias = source_alias(source)
    with user_db(source):
        info = schema.live_table(alias, table.table_name)
        col = info.column(field.column_name)
        if col is None:
            raise SchemaOutOfSync(
                f"Column '{field.column_name}' is gone from the database. Sync the base's schema."
            )
        vendor = source_vendor(alias)
        if new_name != col.name:
            check_new_name(vendor, new_name, what="column name")
        model = schema.build_model(vendor, info)
        old = next(f for f in model._meta.local_fields if f.column == col.name)
        if ft.get(uidt).fits(col.column_type):
            new = schema.column_field(vendor, col, single_pk=False)
        else:
            new = schema.new_column_field(uidt, options=options, null=col.nullable)
        new.set_attributes_from_name(old.name)
        new.db_column = new_name
        new.column = new_name
        new.model = model
        with table_ddl(alias, vendor, table.table_name, {col.name: new_name}) as ed:
            ed.alter_field(model, old, new, strict=True)
    return {col.name: new_name} if new_name != col.name else {}


def check_retype(field: Field, uidt: str, options: dict) -> dict:
    """Check the stored values fit the new type; for selects, collect them as options."""
    from bases import records

    values = records.distinct_values(field, limit=5000)
    kind = ft.get(uidt)
    if kind.has_choices:
        seen = []
        for value in values:
            parts = str(value).split(",") if kind.multiple else [str(value)]
            seen += [p.strip() for p in parts if p.strip() and p.strip() not in seen]
        current = [c["title"] for c in options.get("choices", [])]
        return {
            **options,
            "choices": ft.normalise_choices(
                options.get("choices", []) + [v for v in seen if v not in current]
            ),
        }
    bad = []
    for value in values:
        try:
            kind.parse(value, options)
        except Exception:  # noqa: BLE001 - any parse failure means the value does not fit
            bad.append(value)
    if bad:
        raise Unprocessable(
            f"{len(bad)} stored value(s) are not valid for {kind.label}, for example '{bad[0]}'. "
            "Fix them first.",
            code="VALUES_DO_NOT_FIT",
        )
    return options
