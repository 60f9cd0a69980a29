"""What every database dialect knows, and the defaults the three subclasses change.

A dialect is made per connection (`dialect_for(connection)`) or per vendor name when no
connection is at hand (`dialect_for("mysql")`, for compiling a `where` tree). It owns every
piece of SQL text that differs between databases: quoting, value adaptation both ways, NULL
order, `IN` lists, LIKE and text comparison, RETURNING, row locks and the planner's estimate.
Identifiers come from metadata only; values are always `%s` parameters.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid
from collections.abc import Callable

from django.db import DatabaseError

from bases import fieldtypes as ft
from bases.fieldtypes import field_type_for
from bases.models import Field
from bases.query.formula.compiler import Frag, fmt
from bases.query.identifiers import quote_identifier

# Binds one value and returns its placeholder ("%s"), keeping parameters in text order.
Bind = Callable[[object], str]


class Dialect:
    vendor = ""
    # NULLs sort as the smallest value on every database (NocoDB's order): first ascending,
    # last descending. MySQL and SQLite do so natively; PostgreSQL is told so, for nullable
    # columns only (`order_term`), so NOT NULL columns keep their plain indexes. The keyset
    # predicate (bases/query/cursors.py) follows the same rule.
    nulls_first_ascending = True
    # `SELECT … FOR UPDATE` where the database has row locks (SQLite locks the whole file).
    lock_suffix = ""
    # The `INSERT INTO t` tail for a row of defaults only.
    default_values = " DEFAULT VALUES"
    length_function = "length"
    # Column types whose values the driver already hands over in their final form, so reading
    # them needs no Python work per cell.
    as_is_types: frozenset[str] = frozenset()
    # ALTER TABLE rebuilds the table (SQLite): column defaults are declared again with it and
    # the table's other indexes put back afterwards (bases/schema.py).
    rebuilds_tables = False
    # Whether an UPDATE's row count counts matched rows (MySQL counts changed ones).
    update_counts_matched = True
    # Bulk inserts through typed arrays or COPY (records/writes.py), PostgreSQL only.
    typed_bulk_insert = False
    # One `UPDATE … FROM (SELECT … FOR UPDATE) … RETURNING` that reads the old row and writes
    # the new one in a single statement.
    update_from_subquery = False

    def __init__(self, conn=None):
        self.conn = conn

    def quote(self, name: str) -> str:
        return quote_identifier(self.vendor, name)

    def parameter_limit(self) -> int:
        """How many values one statement on this connection may bind."""
        return getattr(self.conn.features, "max_query_params", None) or 65_535

    @property
    def supports_returning(self) -> bool:
        return True

    def formula_compiler(self):
        """The formula compiler class of this database (bases/query/formula/dialects.py)."""
        from bases.query.formula.dialects import COMPILERS

        return COMPILERS[self.vendor]

    # ---- ordering and key lists
    def order_term(
        self, column_sql: str, descending: bool, nullable: bool = True
    ) -> str:
        return f"{column_sql} {'DESC' if descending else 'ASC'}"

    def in_list(self, column_sql: str, values: list) -> tuple[str, list]:
        """`column IN (…)`, one placeholder per value."""
        return f"{column_sql} IN ({', '.join(['%s'] * len(values))})", list(values)

    def keys_in(self, pk: list[Field], keys: list) -> tuple[str, list]:
        """The rows whose primary key is one of `keys` (each a list of values in `pk` order):
        `in_list` for a one-column key, `(a = %s AND b = %s) OR …` for a composite one."""
        q = self.quote
        if len(pk) == 1:
            return self.in_list(
                q(pk[0].column_name), [self.to_db(pk[0], k[0]) for k in keys]
            )
        one = "(" + " AND ".join(f"{q(f.column_name)} = %s" for f in pk) + ")"
        return " OR ".join([one] * len(keys)), [
            self.to_db(f, v) for k in keys for f, v in zip(pk, k, strict=True)
        ]

    # ---- values in and out
    def to_db(self, field: Field, value):
        if value is None:
            return None
        if isinstance(value, (dict, list)):
            return json.dumps(value, ensure_ascii=False)
        if field.column_type == "json" and not isinstance(value, str):
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, uuid.UUID):
            return self.uuid_to_db(field, value)
        if isinstance(value, dt.datetime):
            return self.datetime_to_db(value)
        if isinstance(value, decimal.Decimal):
            return self.decimal_to_db(value)
        return value

    def uuid_to_db(self, field: Field, value: uuid.UUID):
        # The 36-character text form (see UUIDType); PostgreSQL keeps native uuids.
        return str(value)

    def datetime_to_db(self, value: dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value

    def decimal_to_db(self, value: decimal.Decimal):
        return value

    def rows_as_dicts(self, fields: list[Field], raw_rows) -> list[dict]:
        """Database rows as {title: value} dicts, converting only the cells that need it."""
        titles = [f.title for f in fields]
        as_is = self.as_is_types
        convert = [
            (i, f)
            for i, f in enumerate(fields)
            if f.column_type not in as_is or field_type_for(f).decodes_json
        ]
        if not convert:
            return [dict(zip(titles, raw, strict=True)) for raw in raw_rows]
        out = []
        for raw in raw_rows:
            values = list(raw)
            for i, f in convert:
                values[i] = self.from_db(f, values[i])
            out.append(dict(zip(titles, values, strict=True)))
        return out

    def from_db(self, field: Field, value):
        if value is None:
            return None
        ctype = field.column_type
        if ctype == "boolean":
            return bool(value)
        if (ctype == "json" or field_type_for(field).decodes_json) and isinstance(
            value, (str, bytes)
        ):
            try:
                return json.loads(value)
            except ValueError:
                return value
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        if ctype == "datetime" and isinstance(value, str):
            try:
                parsed = dt.datetime.fromisoformat(value)
            except ValueError:
                return value
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
        if ctype == "date" and isinstance(value, str):
            try:
                return dt.date.fromisoformat(value[:10])
            except ValueError:
                return value
        if isinstance(value, (bytes, memoryview)):
            return bytes(value).hex()
        return value

    # ---- filter pieces (bases/query/where/compile.py)
    def length(self, col: str) -> str:
        return f"{self.length_function}({col})"

    def text_eq(self, col: str, value: str, p: Bind) -> str:
        return f"{col} = {p(value)}"

    # Whether text `IN (…)` compares like `text_eq` (not on MySQL, whose collation folds).
    text_in_list = True

    def text_group(self, value: str) -> str | None:
        """What GROUP BY groups text `value` by so that a group holds one exact text, as
        `text_eq` finds it (None: the value itself)."""
        return None

    @staticmethod
    def like_pattern(value: str) -> str:
        """`value`'s `%` kept as wildcards, `_` and the escape character `!` made literal."""
        parts = value.split("%") if "%" in value else ["", value, ""]
        return "%".join(p.replace("!", "!!").replace("_", "!_") for p in parts)

    def like(self, col: str, value: str, p: Bind) -> str:
        raise NotImplementedError

    def contains_option(self, col: str, needle: str, p: Bind) -> str:
        """`needle` (",option,") inside ",col,": one option of a multi-select cell."""
        raise NotImplementedError

    def filter_number(self, d: decimal.Decimal):
        return d

    def bind_time(self, t: dt.time):
        return t.isoformat()

    def bind_duration(self, delta: dt.timedelta):
        return delta // dt.timedelta(microseconds=1)

    def uuid_equals(self, col: str, u: uuid.UUID, p: Bind) -> str:
        # Stored as text: the bare hex or the dashed form, in either case.
        return f"LOWER({col}) IN ({p(u.hex)}, {p(str(u))})"

    def bind_date(self, day: dt.date):
        return day

    def bind_instant(self, moment: dt.datetime):
        return moment.astimezone(dt.UTC).replace(tzinfo=None)

    # ---- lists of linked values (bases/query/linked.py)
    def json_list(self, value: Frag, source: Frag, order: tuple[str, ...]) -> Frag:
        """A scalar subquery: the non-NULL `value`s of the rows `source` (" FROM … WHERE …")
        reads, as JSON array text in `order`; NULL when there are none."""
        raise NotImplementedError

    def text_list(
        self, value: Frag, source: Frag, order: tuple[str, ...], separator: str
    ) -> Frag:
        """A scalar subquery: the rows' `value`s as text joined by `separator` (a constant
        of the code, never user text) in `order`; NULL when there are none."""
        raise NotImplementedError

    def typed_result(self, value: Frag, column_type: str) -> Frag:
        """A computed value of `column_type` as comparisons with bound values need it (the
        keyset cursor binds decimals as the dialect stores them)."""
        return value

    @staticmethod
    def _order(order: tuple[str, ...]) -> Frag:
        # A part, not template text: quoted names may hold "{}".
        return Frag(f" ORDER BY {', '.join(order)}" if order else "")

    @staticmethod
    def _not_null(value: Frag, source: Frag) -> Frag:
        return fmt("{} AND {} IS NOT NULL", source, value)

    # ---- aggregates and counts
    def estimate_rows(self, cur, select_sql: str, params: list) -> int | None:
        """The planner's row estimate for `select_sql`; None where the database has none."""
        return None

    def _estimate(self, run) -> int | None:
        try:
            return run()
        except (DatabaseError, KeyError, IndexError, TypeError, ValueError):
            return None

    # ---- catalog (bases/introspection.py, bases/schema_guard.py)
    def is_system_table(self, name: str) -> bool:
        return name.startswith("sqlite_")

    def column_type(self, low: str, db_type: str, django_type: str | None) -> str:
        """The column type (bases.fieldtypes constants) of a declared type (`low`: lowered),
        given what Django's introspection made of it (None: it did not know it)."""
        if low in ("json", "jsonb"):  # PostgreSQL's json (not jsonb), SQLite's JSON
            return ft.JSON
        if django_type is None:
            return ft.OTHER
        return ft.DJANGO_TO_COLUMN.get(django_type, ft.OTHER)

    def is_auto(self, raw: dict, django_type: str | None) -> bool:
        return bool(django_type and django_type.endswith("AutoField")) or raw.get(
            "auto", False
        )

    def column_default(self, default: str) -> str | None:
        return default

    def raw_column_types(self, cursor, table: str) -> dict[str, dict]:
        """{column: {"type": declared type, "enum": labels, "auto": numbers itself}}: what
        Django's introspection does not give."""
        raise NotImplementedError

    def live_columns(self, cursor, table: str) -> list[tuple[str, str]]:
        """(name, declared type) of a table's columns in table order; [] when it is gone."""
        cursor.execute(self.live_columns_sql, [table])
        return [
            (name, kind.decode() if isinstance(kind, bytes) else str(kind or ""))
            for name, kind in cursor.fetchall()
        ]

    live_columns_sql = ""

    # ---- AutoNumber columns (bases/fieldtypes/system.py)
    def auto_number_ddl(self, table: str, column: str, pk: list[str]) -> list | None:
        """(sql, params) statements that number the rows of a just-added integer column in
        key order and have the database number every new row; None: not on this database."""
        return None

    def auto_number_drop(self, table: str, column: str) -> list:
        """(sql, params) statements to run before such a column is dropped."""
        return []

    @staticmethod
    def auto_number_name(table: str, column: str) -> str:
        digest = hashlib.sha256(f"{table}\x00{column}".encode()).hexdigest()[:16]
        return f"noco_autonumber_{digest}"

    def _number_in_key_order(self, table: str, column: str, pk: list[str]) -> str:
        q = self.quote
        keys = ", ".join(q(k) for k in pk)
        join = " AND ".join(f"{q(table)}.{q(k)} = noco_n.{q(k)}" for k in pk)
        return (
            f"UPDATE {q(table)} SET {q(column)} = noco_n.noco_rn FROM (SELECT {keys}, "
            f"row_number() OVER (ORDER BY {keys}) AS noco_rn FROM {q(table)}) AS noco_n "
            f"WHERE {join}"
        )

    def schema_generation(self, conn) -> int | None:
        """A counter that changes with the schema, where reading it is free; else None."""
        return None

    # ---- read replicas (bases/connections/replicas.py)

    supports_replicas = False

    def replica_state(self, cursor) -> tuple[bool, float]:
        """(whether this server is a replica, seconds its replay is behind: 0 when it has
        replayed everything it received)."""
        raise NotImplementedError(f"{self.vendor} read replicas are not supported")

    def system_identifier(self, cursor) -> str | None:
        """What a server and its physical replicas share (None when it cannot be read)."""
        return None
