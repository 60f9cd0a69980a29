"""Schema edits on user databases, through Django's schema editor for each dialect.

Models are built on the fly from the *live* columns (introspected just before the edit), each
column keeping its exact declared type, so that SQLite's "rebuild the table" path reproduces
every column, key and default it does not mean to change. DDL runs in a transaction where the
dialect can roll DDL back (PostgreSQL, SQLite).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from contextlib import contextmanager

from django.apps.registry import Apps
from django.db import connections, models
from django.db.models.expressions import RawSQL

from bases import fieldtypes as ft
from bases.connections import timeouts
from bases.introspection import ColumnInfo, TableInfo, introspect
from bases.query.dialects import dialect_for

_counter = 0

log = logging.getLogger(__name__)


class RawTypeField(models.Field):
    """A column whose type is given verbatim (the database's own declaration)."""

    def __init__(self, *args, raw_type: str = "", **kwargs):
        self.raw_type = raw_type
        super().__init__(*args, **kwargs)

    def db_type(self, connection):
        # Read from the database: every DDL statement is parsed for placeholders
        # (bases/query/identifiers.py), so a `%` in it (an enum's value) is written `%%`.
        return self.raw_type.replace("%", "%%")

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["raw_type"] = self.raw_type
        return name, path, args, kwargs


class _BareSQL(RawSQL):
    """A SQLite default as PRAGMA table_info reports it (its parentheses stripped): the schema
    editor wraps it in one pair again, so rebuilding a table keeps the default as it was."""

    def as_sql(self, compiler, connection):
        # `%` passes two parsers: Django formats literal defaults with `%` (SQLite requires
        # them), then the statement is parsed for placeholders (bases/query/identifiers.py).
        return self.sql.replace("%", "%%%%"), self.params


def build_model(
    vendor: str,
    info: TableInfo,
    *,
    apps: Apps | None = None,
    replace: dict[str, models.Field] | None = None,
) -> type[models.Model]:
    """A throwaway model class for one live table. `replace` swaps the field built for a column."""
    global _counter
    _counter += 1
    apps = apps or Apps()
    replace = replace or {}
    attrs: dict = {"__module__": "bases.dynamic"}
    stubs: dict[str, type[models.Model]] = {}
    fks = {fk.column: fk for fk in info.foreign_keys}
    has_pk = any(c.is_pk for c in info.columns)
    for i, col in enumerate(info.columns):
        if col.name in replace:
            field = replace[col.name]
        elif col.name in fks:
            fk = fks[col.name]
            # The stub's key has the referencing column's own declared type: Django gives a
            # foreign key column the type of its target, and SQLite rebuilds must keep it.
            stub_key = (fk.ref_table, fk.ref_column, col.db_type)
            target = stubs.get(stub_key) or _stub(
                apps, fk.ref_table, fk.ref_column, vendor, col.db_type
            )
            stubs[stub_key] = target
            field = models.ForeignKey(
                target,
                on_delete=models.DO_NOTHING,
                db_column=col.name,
                null=col.nullable,
                to_field="key",
                related_name="+",
                primary_key=col.is_pk and len(info.pk_columns) == 1,
            )
        else:
            field = column_field(vendor, col, single_pk=len(info.pk_columns) == 1)
        field.db_column = col.name
        attrs[f"c{i}"] = field
    if not has_pk:
        raise ValueError("tables without a primary key cannot be edited")
    meta = type(
        "Meta",
        (),
        {
            "app_label": "noco_dynamic",
            "db_table": info.name,
            "apps": apps,
            "managed": True,
        },
    )
    attrs["Meta"] = meta
    return type(f"Dyn{_counter}", (models.Model,), attrs)


def _stub(
    apps: Apps, table: str, column: str, vendor: str, raw_type: str = ""
) -> type[models.Model]:
    global _counter
    _counter += 1
    meta = type(
        "Meta",
        (),
        {
            "app_label": "noco_dynamic",
            "db_table": table,
            "apps": apps,
            "managed": False,
        },
    )
    key = (
        RawTypeField(raw_type=raw_type, primary_key=True, db_column=column)
        if raw_type
        else (models.BigIntegerField(primary_key=True, db_column=column))
    )
    return type(
        f"Stub{_counter}",
        (models.Model,),
        {"__module__": "bases.dynamic", "Meta": meta, "key": key},
    )


def column_field(vendor: str, col: ColumnInfo, *, single_pk: bool) -> models.Field:
    kwargs: dict = {"null": col.nullable}
    if col.is_pk and single_pk:
        kwargs = {"primary_key": True}
        if col.is_auto:
            return (
                models.BigAutoField(**kwargs)
                if col.column_type == ft.BIGINT
                else models.AutoField(**kwargs)
            )
    if (
        dialect_for(vendor).rebuilds_tables
        and col.default is not None
        and not col.is_pk
    ):
        kwargs["db_default"] = _BareSQL(col.default, [])
    if col.is_unique and not col.is_pk:
        kwargs["unique"] = True
    return RawTypeField(raw_type=col.db_type or "text", **kwargs)


def new_column_field(uidt: str, *, options: dict, null: bool = True) -> models.Field:
    return ft.get(uidt).model_field(null=null, options=options)


def column_name_for(title: str, taken: set[str], vendor: str = "") -> str:
    """A safe, unique snake_case column or table name derived from a title."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-zA-Z0-9]+", "_", text).strip("_").lower() or "field"
    if name[0].isdigit():
        name = "f_" + name
    name = name[:56]
    lowered = {t.lower() for t in taken}
    candidate, n = name, 2
    while candidate.lower() in lowered:
        candidate, n = f"{name}_{n}", n + 1
    return candidate


def live_table(alias: str, table_name: str) -> TableInfo:
    infos = introspect(alias, only={table_name})
    if not infos:
        from nocoplatform.errors import SchemaOutOfSync

        raise SchemaOutOfSync(
            f"Table '{table_name}' no longer exists in the database. Sync the base's schema."
        )
    return infos[0]


@contextmanager
def editor(alias: str):
    """Django's schema editor, its DDL under the schema-edit timeout (bases/connections/timeouts.py)."""
    conn = connections[alias]
    with timeouts.schema_edits(alias):
        with conn.schema_editor(atomic=conn.features.can_rollback_ddl) as ed:
            yield ed


def sqlite_indexes(alias: str, table: str) -> list[tuple[str, str]]:
    """(name, sql) of a SQLite table's own indexes and triggers (an AutoNumber's), to restore
    after a table rebuild."""
    with connections[alias].cursor() as cur:
        cur.execute(
            "SELECT name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
            "AND tbl_name = %s AND sql IS NOT NULL",
            [table],
        )
        return cur.fetchall()


def restore_sqlite_indexes(
    alias: str, indexes: list[tuple[str, str]], renamed: dict[str, str] | None = None
) -> None:
    conn = connections[alias]
    with conn.cursor() as cur:
        cur.execute("SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger')")
        present = {r[0] for r in cur.fetchall()}
        for name, sql in indexes:
            if name in present:
                continue
            # Stored text, run as a statement parsed for placeholders (identifiers.py).
            sql = sql.replace("%", "%%")
            for old, new in (renamed or {}).items():
                sql = sql.replace(conn.ops.quote_name(old), conn.ops.quote_name(new))
            try:
                cur.execute(sql)
            except Exception:  # an index on a dropped column cannot come back
                log.info("index %s not restored after the table rebuild", name)
