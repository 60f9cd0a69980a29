"""MySQL and MariaDB: collations that fold case, accents and trailing spaces are compared as
bytes where the where dialect promises exact text; RETURNING only on MariaDB 10.5+."""

from __future__ import annotations

import re

from bases import fieldtypes as ft
from bases.query.dialects.base import Bind, Dialect
from bases.query.formula.compiler import Frag, fmt


def _bytes(expr: str) -> str:
    return f"CAST(CONVERT({expr} USING utf8mb4) AS BINARY)"


class MySQLDialect(Dialect):
    vendor = "mysql"
    lock_suffix = " FOR UPDATE"
    default_values = " () VALUES ()"
    length_function = "CHAR_LENGTH"
    text_in_list = False
    update_counts_matched = False

    @property
    def supports_returning(self) -> bool:
        conn = self.conn
        return bool(getattr(conn, "mysql_is_mariadb", False)) and (
            conn.mysql_version >= (10, 5)
        )

    def json_list(self, value: Frag, source: Frag, order: tuple[str, ...]) -> Frag:
        # GROUP_CONCAT of each value's JSON text: ordered on MySQL 8 as on MariaDB (MySQL's
        # JSON_ARRAYAGG takes no ORDER BY). Bounded by group_concat_max_len (1 MB on MariaDB).
        return fmt(
            "(SELECT CONCAT('[', GROUP_CONCAT(JSON_EXTRACT(JSON_ARRAY({}), '$[0]')"
            "{} SEPARATOR ','), ']'){})",
            value,
            self._order(order),
            self._not_null(value, source),
        )

    def text_list(
        self, value: Frag, source: Frag, order: tuple[str, ...], separator: str
    ) -> Frag:
        sep = separator.replace("'", "''")
        return fmt(
            f"(SELECT GROUP_CONCAT({{}}{{}} SEPARATOR '{sep}'){{}})",
            value,
            self._order(order),
            source,
        )

    def text_eq(self, col: str, value: str, p: Bind) -> str:
        # The collation would ignore case, accents and trailing spaces: compare bytes, after
        # a collation-aware test an index can serve.
        return f"{col} = {p(value)} AND {_bytes(col)} = {_bytes(p(value))}"

    def text_group(self, value: str) -> str | None:
        # The collation would put "Big" and "big" (and "x", "x ") in one group.
        return _bytes(value)

    def like(self, col: str, value: str, p: Bind) -> str:
        pattern = p(self.like_pattern(value))
        return (
            f"CAST(LOWER(CONVERT({col} USING utf8mb4)) AS BINARY) LIKE "
            f"CAST(LOWER(CONVERT({pattern} USING utf8mb4)) AS BINARY) ESCAPE '!'"
        )

    def contains_option(self, col: str, needle: str, p: Bind) -> str:
        return (
            f"LOCATE(CAST({p(needle)} AS BINARY), "
            f"CAST(CONCAT(',', CONVERT({col} USING utf8mb4), ',') AS BINARY)) > 0"
        )

    def is_system_table(self, name: str) -> bool:
        return super().is_system_table(name) or name.startswith("#")

    def column_type(self, low: str, db_type: str, django_type: str | None) -> str:
        if low.startswith("tinyint(1)"):
            return ft.BOOLEAN
        if re.match(r"(tiny|medium|long)?blob|(var)?binary", low):
            return ft.BINARY  # Django reads MySQL BLOBs as TextField
        return super().column_type(low, db_type, django_type)

    def column_default(self, default: str) -> str | None:
        # MariaDB reports "no default" as the literal NULL.
        return None if default == "NULL" else default

    live_columns_sql = (
        "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s "
        "ORDER BY ORDINAL_POSITION"
    )

    def raw_column_types(self, cursor, table: str) -> dict[str, dict]:
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

    def estimate_rows(self, cur, select_sql: str, params: list) -> int | None:
        def run():
            cur.execute(f"EXPLAIN {select_sql}", params)
            names = [c[0] for c in cur.description]
            rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
            if rows and rows[0].get("rows") is not None:
                return int(rows[0]["rows"])
            return None

        return self._estimate(run)

    def auto_number_ddl(self, table: str, column: str, pk: list[str]) -> list:
        """Existing rows numbered in key order, then a BEFORE INSERT trigger numbering each
        new row after the highest number (a table has one AUTO_INCREMENT, its key). Two
        concurrent inserts may read the same highest number: the column is unique, so the
        second fails (422) rather than repeat a number."""
        q = self.quote
        keys = ", ".join(q(k) for k in pk)
        join = " AND ".join(f"noco_t.{q(k)} = noco_n.{q(k)}" for k in pk)
        trigger = q(self.auto_number_name(table, column))
        return [
            (
                f"UPDATE {q(table)} AS noco_t JOIN (SELECT {keys}, row_number() OVER "
                f"(ORDER BY {keys}) AS noco_rn FROM {q(table)}) AS noco_n ON {join} "
                f"SET noco_t.{q(column)} = noco_n.noco_rn",
                [],
            ),
            (
                f"CREATE UNIQUE INDEX {q(self.auto_number_name(table, column))} "
                f"ON {q(table)} ({q(column)})",
                [],
            ),
            (
                f"CREATE TRIGGER {trigger} BEFORE INSERT ON {q(table)} FOR EACH ROW "
                f"SET NEW.{q(column)} = COALESCE(NEW.{q(column)}, (SELECT "
                f"COALESCE(MAX({q(column)}), 0) + 1 FROM {q(table)}))",
                [],
            ),
        ]

    def auto_number_drop(self, table: str, column: str) -> list:
        trigger = self.quote(self.auto_number_name(table, column))
        return [(f"DROP TRIGGER IF EXISTS {trigger}", [])]
