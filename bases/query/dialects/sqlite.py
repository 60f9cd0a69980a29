"""SQLite: loosely typed storage (decimals, dates and times as text), Unicode-aware LIKE
through noco_like (bases/query/textmatch.py), RETURNING from 3.35."""

from __future__ import annotations

import datetime as dt
import decimal
import sqlite3

from bases import fieldtypes as ft
from bases.query.dialects.base import Bind, Dialect
from bases.query.formula.compiler import Frag, fmt
from bases.query.identifiers import quote_identifier


class SQLiteDialect(Dialect):
    vendor = "sqlite"
    rebuilds_tables = True

    @property
    def supports_returning(self) -> bool:
        return sqlite3.sqlite_version_info >= (3, 35)

    def parameter_limit(self) -> int:
        # The library's compiled-in limit (32,766 since 3.32, 999 before), read at run time.
        self.conn.ensure_connection()
        getlimit = getattr(self.conn.connection, "getlimit", None)  # Python 3.11+
        if getlimit is not None:
            return getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        return 999

    def decimal_to_db(self, value: decimal.Decimal):
        return str(value)

    def typed_result(self, value: Frag, column_type: str) -> Frag:
        # Decimals are bound as text (exact); a decimal column's NUMERIC affinity converts
        # that text before comparing, an expression has none unless CAST gives it: without it
        # every number compares below every text, and a keyset cursor repeats its row.
        if column_type in ("decimal", "float"):
            return fmt("CAST({} AS NUMERIC)", value)
        return value

    # SQLite (before 3.44) has no ORDER BY inside an aggregate: the rows come ordered from a
    # subquery, which SQLite does not flatten into an aggregate query (so keeps its order).
    def json_list(self, value: Frag, source: Frag, order: tuple[str, ...]) -> Frag:
        v = self.quote("noco_v")
        return fmt(
            f"(SELECT NULLIF(json_group_array({v}), '[]') FROM "
            f"(SELECT {{}} AS {v}{{}}{{}}))",
            value,
            self._not_null(value, source),
            self._order(order),
        )

    def text_list(
        self, value: Frag, source: Frag, order: tuple[str, ...], separator: str
    ) -> Frag:
        sep, v = separator.replace("'", "''"), self.quote("noco_v")
        return fmt(
            f"(SELECT group_concat({v}, '{sep}') FROM (SELECT {{}} AS {v}{{}}{{}}))",
            value,
            source,
            self._order(order),
        )

    def like(self, col: str, value: str, p: Bind) -> str:
        # SQLite's LIKE and lower() fold ASCII only: noco_like (registered on every user
        # SQLite connection) folds all of Unicode, in linear time.
        parts = value.split("%") if "%" in value else ["", value, ""]
        return f"noco_like({col}, {p('%'.join(parts))})"

    def contains_option(self, col: str, needle: str, p: Bind) -> str:
        return f"instr(',' || {col} || ',', {p(needle)}) > 0"

    def filter_number(self, d: decimal.Decimal):
        return float(d)

    def bind_date(self, day: dt.date):
        return day.isoformat()

    def bind_instant(self, moment: dt.datetime):
        return super().bind_instant(moment).isoformat(" ")

    # ---- catalog
    def column_type(self, low: str, db_type: str, django_type: str | None) -> str:
        if django_type is None and low not in ("json", "jsonb"):
            column_type = _declared(low)
        else:
            column_type = super().column_type(low, db_type, django_type)
        if column_type == ft.OTHER and not db_type:
            return ft.LONGTEXT  # columns without a declared type hold anything
        return column_type

    def is_auto(self, raw: dict, django_type: str | None) -> bool:
        # Django calls every integer primary key an AutoField; only a lone INTEGER PRIMARY
        # KEY (the rowid alias) or AUTOINCREMENT numbers itself.
        return bool(raw.get("auto", False))

    live_columns_sql = "SELECT name, type FROM pragma_table_info(%s) ORDER BY cid"

    def auto_number_ddl(self, table: str, column: str, pk: list[str]) -> list:
        """Existing rows numbered in key order, then a trigger that numbers each new row
        after the highest number (SQLite runs one writer at a time, so none repeats).
        A table rebuild keeps it (bases/schema.py restores triggers with indexes)."""
        q = self.quote
        trigger = q(self.auto_number_name(table, column))
        return [
            (self._number_in_key_order(table, column, pk), []),
            (
                f"CREATE TRIGGER {trigger} AFTER INSERT ON {q(table)} FOR EACH ROW "
                f"WHEN NEW.{q(column)} IS NULL BEGIN UPDATE {q(table)} SET {q(column)} = "
                f"(SELECT COALESCE(MAX({q(column)}), 0) + 1 FROM {q(table)}) "
                f"WHERE rowid = NEW.rowid; END",
                [],
            ),
        ]

    def auto_number_drop(self, table: str, column: str) -> list:
        trigger = self.quote(self.auto_number_name(table, column))
        return [(f"DROP TRIGGER IF EXISTS {trigger}", [])]

    def raw_column_types(self, cursor, table: str) -> dict[str, dict]:
        cursor.execute(
            f"PRAGMA table_info({quote_identifier('sqlite', table, ddl=True)})"
        )
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = %s", [table]
        )
        row = cursor.fetchone()
        auto = bool(row and row[0] and "autoincrement" in row[0].lower())
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

    def schema_generation(self, conn) -> int | None:
        # SQLite's schema cookie, in process: the driver's own connection, not Django's
        # cursor wrapper (~2 µs, not ~20), as it is read on every write.
        conn.ensure_connection()
        return conn.connection.execute("PRAGMA schema_version").fetchone()[0]


def _declared(low: str) -> str:
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
