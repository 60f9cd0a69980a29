"""Read a user database's schema into plain data (tables, columns, keys, enums).

Django's per-backend introspection does most of the work; a small query per dialect adds what it
does not give (the declared type text, enum labels, auto-increment on MySQL/SQLite).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import connections

from bases import fieldtypes as ft


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
    intro = conn.introspection
    tables: list[TableInfo] = []
    with conn.cursor() as cursor:
        for info in intro.get_table_list(cursor):
            if info.type not in ("t", "v", "p"):
                continue
            if _is_system_table(conn.vendor, info.name) or (
                only is not None and info.name not in only
            ):
                continue
            table = TableInfo(
                name=info.name, kind="view" if info.type == "v" else "table"
            )
            raw_types = _raw_types(conn, cursor, info.name)
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
                        conn,
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


def _is_system_table(vendor: str, name: str) -> bool:
    return name.startswith("sqlite_") or (vendor == "mysql" and name.startswith("#"))


def _column(conn, intro, desc, raw: dict, is_pk: bool, is_unique: bool) -> ColumnInfo:
    db_type = raw.get("type") or ""
    try:
        django_type = intro.get_field_type(desc.type_code, desc)
    except KeyError:
        django_type = None
    enum_values = raw.get("enum") or []
    low = db_type.lower()
    if enum_values:
        column_type = ft.TEXT
    elif conn.vendor == "mysql" and low.startswith("tinyint(1)"):
        column_type = ft.BOOLEAN
    elif low in (
        "json",
        "jsonb",
    ):  # PostgreSQL's json (not jsonb) and SQLite's declared JSON
        column_type = ft.JSON
    elif conn.vendor == "mysql" and re.match(
        r"(tiny|medium|long)?blob|(var)?binary", low
    ):
        column_type = ft.BINARY  # Django reads MySQL BLOBs as TextField
    elif django_type is None:
        column_type = _sqlite_declared(low) if conn.vendor == "sqlite" else ft.OTHER
    else:
        column_type = ft.DJANGO_TO_COLUMN.get(django_type, ft.OTHER)
    if conn.vendor == "sqlite" and column_type == ft.OTHER and not db_type:
        column_type = (
            ft.LONGTEXT
        )  # SQLite columns without a declared type hold anything
    if conn.vendor == "sqlite":
        # Django calls every integer primary key an AutoField; only a lone INTEGER PRIMARY KEY
        # (the rowid alias) or AUTOINCREMENT numbers itself.
        is_auto = bool(raw.get("auto", False))
    else:
        is_auto = bool(django_type and django_type.endswith("AutoField")) or raw.get(
            "auto", False
        )
    precision, scale = desc.precision, desc.scale
    if (
        column_type == ft.DECIMAL and precision is None
    ):  # SQLite: only the declared type says
        match = re.search(r"\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)", db_type)
        if match:
            precision, scale = int(match.group(1)), int(match.group(2) or 0)
    default = desc.default
    if default is not None:
        default = str(default)
        if conn.vendor == "mysql" and default == "NULL":
            default = None  # MariaDB reports "no default" as the literal NULL
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


def _sqlite_declared(low: str) -> str:
    """Column type of a SQLite declared type Django's introspection does not know."""
    name = low.split("(", 1)[0].strip()
    if name in ("timestamp", "timestamptz", "datetime2"):
        return ft.DATETIME
    if name in ("numeric", "number"):
        return ft.DECIMAL
    if name in ("double", "double precision", "float"):
        return ft.FLOAT
    if "int" in name:
        return ft.INTEGER
    if "char" in name:
        return ft.TEXT
    if "clob" in name or name == "string":
        return ft.LONGTEXT
    return ft.OTHER


def _raw_types(conn, cursor, table: str) -> dict[str, dict]:
    if conn.vendor == "postgresql":
        cursor.execute(
            """
            SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typtype,
                   ARRAY(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid
                         ORDER BY e.enumsortorder)
            FROM pg_attribute a
            JOIN pg_type t ON t.oid = a.atttypid
            WHERE a.attrelid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident(%s))
              AND a.attnum > 0 AND NOT a.attisdropped
            """,
            [table],
        )
        return {
            name: {"type": type_text, "enum": list(labels) if typtype == "e" else []}
            for name, type_text, typtype, labels in cursor.fetchall()
        }
    if conn.vendor == "mysql":
        cursor.execute(
            "SELECT COLUMN_NAME, COLUMN_TYPE, EXTRA FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
            [table],
        )
        out = {}
        for name, type_text, extra in cursor.fetchall():
            type_text = (
                type_text.decode() if isinstance(type_text, bytes) else type_text
            )
            enum = []
            match = re.fullmatch(r"(?:enum|set)\((.*)\)", type_text, flags=re.I)
            if match and type_text.lower().startswith("enum"):
                enum = [
                    v.replace("''", "'")
                    for v in re.findall(r"'((?:[^']|'')*)'", match.group(1))
                ]
            out[name] = {
                "type": type_text,
                "enum": enum,
                "auto": "auto_increment" in (extra or ""),
            }
        return out
    cursor.execute(f"PRAGMA table_info({conn.ops.quote_name(table)})")
    rows = cursor.fetchall()
    auto = False
    cursor.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = %s", [table]
    )
    row = cursor.fetchone()
    if row and row[0] and "autoincrement" in row[0].lower():
        auto = True
    pk_count = sum(1 for r in rows if r[5])
    return {
        r[1]: {
            "type": r[2],
            "enum": [],
            # INTEGER PRIMARY KEY is the rowid alias: it numbers itself.
            "auto": bool(r[5])
            and pk_count == 1
            and (auto or r[2].upper() == "INTEGER"),
        }
        for r in rows
    }


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
        if conn.vendor == "postgresql":
            cursor.execute(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod) "
                "FROM pg_attribute a WHERE a.attrelid = to_regclass("
                "quote_ident(current_schema()) || '.' || quote_ident(%s)) "
                "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                [table],
            )
        elif conn.vendor == "mysql":
            cursor.execute(
                "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s "
                "ORDER BY ORDINAL_POSITION",
                [table],
            )
        else:
            cursor.execute(
                "SELECT name, type FROM pragma_table_info(%s) ORDER BY cid", [table]
            )
        return [
            (name, kind.decode() if isinstance(kind, bytes) else str(kind or ""))
            for name, kind in cursor.fetchall()
        ]


def schema_generation(conn) -> int | None:
    """A number that changes whenever the database's schema does, where reading it costs
    (next to) nothing: SQLite's schema cookie (in process, no round trip). None elsewhere:
    PostgreSQL and MySQL have no such counter."""
    if conn.vendor != "sqlite":
        return None
    # On every write: the driver's own connection, not Django's cursor wrapper (~2 µs, not ~20).
    conn.ensure_connection()
    return conn.connection.execute("PRAGMA schema_version").fetchone()[0]
