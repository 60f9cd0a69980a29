"""Read a user database's schema into plain data (tables, columns, keys, enums).

Django's per-backend introspection does most of the work; a small catalog query per dialect
(bases/query/dialects: `raw_column_types`) adds what it does not give (the declared type text,
enum labels, auto-increment on MySQL/SQLite).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import connections

from bases import fieldtypes as ft
from bases.query.dialects import dialect_for


@dataclass
class ColumnInfo:
    name: str
    db_type: str
    column_type: str
    nullable: bool = True
    default: str | None = None
    is_pk: bool = False
    is_auto: bool = False
    is_unique: bool = False
    enum_values: list[str] = field(default_factory=list)
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None


@dataclass
class ForeignKeyInfo:
    column: str
    ref_table: str
    ref_column: str


@dataclass
class TableInfo:
    name: str
    kind: str  # "table" or "view"
    columns: list[ColumnInfo] = field(default_factory=list)
    foreign_keys: list[ForeignKeyInfo] = field(default_factory=list)

    @property
    def pk_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.is_pk]

    def column(self, name: str) -> ColumnInfo | None:
        return next((c for c in self.columns if c.name == name), None)


def introspect(alias: str, only: set[str] | None = None) -> list[TableInfo]:
    """Every table and view of the connection's database/schema (or only those named)."""
    conn = connections[alias]
    d = dialect_for(conn)
    intro = conn.introspection
    tables: list[TableInfo] = []
    with conn.cursor() as cursor:
        for info in intro.get_table_list(cursor):
            if info.type not in ("t", "v", "p"):
                continue
            if d.is_system_table(info.name) or (
                only is not None and info.name not in only
            ):
                continue
            table = TableInfo(
                name=info.name, kind="view" if info.type == "v" else "table"
            )
            raw_types = d.raw_column_types(cursor, info.name)
            constraints = intro.get_constraints(cursor, info.name)
            pk_cols = set()
            unique_cols = set()
            for c in constraints.values():
                if c.get("primary_key"):
                    pk_cols.update(c["columns"])
                elif c.get("unique") and len(c["columns"]) == 1:
                    unique_cols.add(c["columns"][0])
            for desc in intro.get_table_description(cursor, info.name):
                raw = raw_types.get(desc.name, {})
                table.columns.append(
                    _column(
                        d,
                        intro,
                        desc,
                        raw,
                        desc.name in pk_cols,
                        desc.name in unique_cols,
                    )
                )
            if table.kind == "table":
                for column, (ref_column, ref_table) in intro.get_relations(
                    cursor, info.name
                ).items():
                    table.foreign_keys.append(
                        ForeignKeyInfo(column, ref_table, ref_column)
                    )
            tables.append(table)
    return tables


def _column(d, intro, desc, raw: dict, is_pk: bool, is_unique: bool) -> ColumnInfo:
    db_type = raw.get("type") or ""
    try:
        django_type = intro.get_field_type(desc.type_code, desc)
    except KeyError:
        django_type = None
    enum_values = raw.get("enum") or []
    low = db_type.lower()
    if enum_values:
        column_type = ft.TEXT
    else:
        column_type = d.column_type(low, db_type, django_type)
    is_auto = d.is_auto(raw, django_type)
    precision, scale = desc.precision, desc.scale
    if (
        column_type == ft.DECIMAL and precision is None
    ):  # SQLite: only the declared type says
        match = re.search(r"\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)", db_type)
        if match:
            precision, scale = int(match.group(1)), int(match.group(2) or 0)
    default = desc.default
    if default is not None:
        default = d.column_default(str(default))
    return ColumnInfo(
        name=desc.name,
        db_type=db_type or (django_type or ""),
        column_type=column_type,
        nullable=bool(desc.null_ok) and not is_pk,
        default=default,
        is_pk=is_pk,
        is_auto=is_auto,
        is_unique=is_unique or is_pk,
        enum_values=enum_values,
        max_length=desc.internal_size
        if column_type == ft.TEXT and desc.internal_size and desc.internal_size > 0
        else None,
        precision=precision if column_type == ft.DECIMAL else None,
        scale=scale if column_type == ft.DECIMAL else None,
    )


def junction_columns(table: TableInfo) -> tuple[ForeignKeyInfo, ForeignKeyInfo] | None:
    """Is this a many-to-many junction table? Two foreign keys and nothing else of substance."""
    if table.kind != "table" or len(table.foreign_keys) != 2:
        return None
    fk_cols = {fk.column for fk in table.foreign_keys}
    for col in table.columns:
        if col.name in fk_cols or (col.is_pk and col.is_auto):
            continue
        if col.column_type in (ft.DATETIME,) and col.name.lower() in {
            "created_at",
            "updated_at",
            "created",
            "modified",
        }:
            continue
        return None
    a, b = table.foreign_keys
    return a, b


def live_columns(conn, table: str) -> list[tuple[str, str]]:
    """(name, declared type) of a table's columns in their order in the table; [] when the
    table is gone. One catalog query (bases/schema_guard.py compares it with the metadata);
    the type text is the one `introspect` stores as Field.db_type."""
    with conn.cursor() as cursor:
        return dialect_for(conn).live_columns(cursor, table)


def schema_generation(conn) -> int | None:
    """A number that changes whenever the database's schema does, where reading it costs
    (next to) nothing: SQLite's schema cookie (in process, no round trip). None elsewhere:
    PostgreSQL and MySQL have no such counter."""
    return dialect_for(conn).schema_generation(conn)
