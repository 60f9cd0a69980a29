"""PostgreSQL: native uuid, timestamptz and interval values, `= ANY(array)`, ILIKE, JSON plans."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from bases.models import Field
from bases.query.dialects.base import Bind, Dialect
from bases.query.formula.compiler import Frag, fmt


class PostgresDialect(Dialect):
    vendor = "postgresql"
    lock_suffix = " FOR UPDATE"
    length_function = "char_length"
    typed_bulk_insert = True
    update_from_subquery = True
    # psycopg's typed protocol hands these over final (bool, int, Decimal, date, UUID, str).
    as_is_types = frozenset(
        ("text", "longtext", "integer", "bigint", "decimal", "float", "boolean")
        + ("date", "uuid")
    )

    def order_term(
        self, column_sql: str, descending: bool, nullable: bool = True
    ) -> str:
        """NULLs smallest, as MySQL and SQLite sort them (PostgreSQL's own order is largest)."""
        if not nullable:
            return super().order_term(column_sql, descending)
        return f"{column_sql} {'DESC NULLS LAST' if descending else 'ASC NULLS FIRST'}"

    def json_list(self, value: Frag, source: Frag, order: tuple[str, ...]) -> Frag:
        # As text, like the other databases' (json LIKE does not exist; the reader decodes it).
        return fmt(
            "(SELECT CAST(json_agg({}{}) AS text){})",
            value,
            self._order(order),
            self._not_null(value, source),
        )

    def text_list(
        self, value: Frag, source: Frag, order: tuple[str, ...], separator: str
    ) -> Frag:
        sep = separator.replace("'", "''")
        return fmt(
            f"(SELECT string_agg(CAST({{}} AS text), '{sep}'{{}}){{}})",
            value,
            self._order(order),
            source,
        )

    def in_list(self, column_sql: str, values: list) -> tuple[str, list]:
        """One array parameter (`= ANY(%s)`) instead of N placeholders."""
        return f"{column_sql} = ANY(%s)", [list(values)]

    def uuid_to_db(self, field: Field, value: uuid.UUID):
        return value if field.column_type == "uuid" else str(value)

    def datetime_to_db(self, value: dt.datetime):
        return value

    def like(self, col: str, value: str, p: Bind) -> str:
        return f"{col} ILIKE {p(self.like_pattern(value))} ESCAPE '!'"

    def contains_option(self, col: str, needle: str, p: Bind) -> str:
        return f"position({p(needle)} in (',' || {col} || ',')) > 0"

    def bind_time(self, t: dt.time):
        return t

    def bind_duration(self, delta: dt.timedelta):
        return delta

    def uuid_equals(self, col: str, u: uuid.UUID, p: Bind) -> str:
        return f"{col} = {p(u)}"

    def bind_instant(self, moment: dt.datetime):
        return moment.astimezone(dt.UTC)

    supports_replicas = True

    def replica_state(self, cursor) -> tuple[bool, float]:
        # Caught up when everything received is replayed; otherwise the age of the last
        # transaction replayed (an over-estimate after an idle spell on the primary: safe).
        cursor.execute(
            "SELECT pg_is_in_recovery(), CASE "
            "WHEN NOT pg_is_in_recovery() THEN 0 "
            "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
            "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) "
            "END"
        )
        in_recovery, lag = cursor.fetchone()
        return bool(in_recovery), float(lag)

    def system_identifier(self, cursor) -> str | None:
        cursor.execute("SELECT system_identifier FROM pg_control_system()")
        return str(cursor.fetchone()[0])

    live_columns_sql = (
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) "
        "FROM pg_attribute a WHERE a.attrelid = to_regclass("
        "quote_ident(current_schema()) || '.' || quote_ident(%s)) "
        "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
    )

    def raw_column_types(self, cursor, table: str) -> dict[str, dict]:
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

    def estimate_rows(self, cur, select_sql: str, params: list) -> int | None:
        def run():
            cur.execute(f"EXPLAIN (FORMAT JSON) {select_sql}", params)
            plan = cur.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            return int(plan[0]["Plan"]["Plan Rows"])

        return self._estimate(run)

    def auto_number_ddl(self, table: str, column: str, pk: list[str]) -> list:
        """Existing rows numbered in key order, then a sequence (dropped with the column)
        continuing after them as the column's default: PostgreSQL numbers every new row,
        bulk inserts included. (Not an identity column: that would make it NOT NULL.)"""
        q = self.quote
        # [0-9a-z_] only, so it may stand in the text literal nextval() takes.
        sequence = q(self.auto_number_name(table, column))
        return [
            (self._number_in_key_order(table, column, pk), []),
            (f"CREATE SEQUENCE {sequence} OWNED BY {q(table)}.{q(column)}", []),
            (
                f"SELECT setval('{sequence}', COALESCE(MAX({q(column)}), 0) + 1, false) "
                f"FROM {q(table)}",
                [],
            ),
            (
                f"ALTER TABLE {q(table)} ALTER COLUMN {q(column)} "
                f"SET DEFAULT nextval('{sequence}')",
                [],
            ),
        ]
