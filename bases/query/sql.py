"""Dialect details for building SQL over user tables: quoting, NULL ordering, value adaptation,
keyset predicates and cursors. Identifiers come from metadata only; values are `%s` parameters."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import functools
import hashlib
import json
import sqlite3
import uuid

import orjson

from bases.fieldtypes import field_type_for
from bases.models import Field
from bases.query.identifiers import quote_identifier
from nocoplatform.errors import InvalidInput


class Dialect:
    def __init__(self, conn):
        self.conn = conn
        self.vendor = conn.vendor
        self.quote = functools.partial(quote_identifier, self.vendor)

    @property
    def supports_returning(self) -> bool:
        if self.vendor == "postgresql":
            return True
        if self.vendor == "sqlite":
            return sqlite3.sqlite_version_info >= (3, 35)
        return bool(
            getattr(self.conn, "mysql_is_mariadb", False)
        ) and self.conn.mysql_version >= (10, 5)

    @property
    def nulls_first_ascending(self) -> bool:
        # Each database's own NULL order, so ORDER BY matches plain indexes (PostgreSQL sorts NULLs
        # as largest; MySQL and SQLite as smallest). The keyset predicate follows the same rule.
        return self.vendor != "postgresql"

    def order_term(self, column_sql: str, descending: bool) -> str:
        return f"{column_sql} {'DESC' if descending else 'ASC'}"

    def in_list(self, column_sql: str, values: list) -> tuple[str, list]:
        """`column IN (…)`; on PostgreSQL one array parameter (`= ANY(%s)`) instead of N."""
        if self.vendor == "postgresql":
            return f"{column_sql} = ANY(%s)", [list(values)]
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

    def to_db(self, field: Field, value):
        if value is None:
            return None
        if isinstance(value, (dict, list)):
            return json.dumps(value, ensure_ascii=False)
        if field.column_type == "json" and not isinstance(value, str):
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, uuid.UUID):
            # Native uuid on PostgreSQL; elsewhere the 36-character text form (see UUIDType).
            return (
                value
                if self.vendor == "postgresql" and field.column_type == "uuid"
                else str(value)
            )
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None and self.vendor in ("mysql", "sqlite"):
                value = value.astimezone(dt.UTC).replace(tzinfo=None)
            return value
        if isinstance(value, decimal.Decimal) and self.vendor == "sqlite":
            return str(value)
        return value

    # Column types whose values psycopg already hands over in their final form (PostgreSQL's
    # typed protocol: bool, int, Decimal, date, UUID, str), so reading them needs no Python
    # work per cell. MySQL and SQLite values can be bytes or loosely typed: always converted.
    _AS_IS = {
        "postgresql": frozenset(
            ("text", "longtext", "integer", "bigint", "decimal", "float", "boolean")
            + ("date", "uuid")
        )
    }

    def rows_as_dicts(self, fields: list[Field], raw_rows) -> list[dict]:
        """Database rows as {title: value} dicts, converting only the cells that need it."""
        titles = [f.title for f in fields]
        as_is = self._AS_IS.get(self.vendor, ())
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


def keyset_after(
    dialect: Dialect, keys: list[tuple[str, bool, bool]], values: list
) -> tuple[str, list]:
    """SQL for "rows after this one" in ORDER BY `keys` (column sql, descending, nullable).

    Whether NULLs come first depends on the dialect and direction: first ascending on MySQL and
    SQLite (last on PostgreSQL), the reverse descending. For one key c and last value v:
      NULLs come first, v NULL:     after: c IS NOT NULL         tie: c IS NULL
      NULLs come first, v not NULL: after: c beyond v            tie: c = v
      NULLs come last,  v NULL:     after: nothing               tie: c IS NULL
      NULLs come last,  v not NULL: after: c beyond v OR NULL    tie: c = v
    Non-nullable keys skip the NULL cases. The last key is the primary key (never NULL).
    """
    (col, desc, nullable), value = keys[0], values[0]
    nulls_first = dialect.nulls_first_ascending != desc
    beyond = f"{col} < %s" if desc else f"{col} > %s"
    if value is None:
        after, after_params = (f"{col} IS NOT NULL", []) if nulls_first else (None, [])
        tie, tie_params = f"{col} IS NULL", []
    else:
        after, after_params = (
            (beyond if nulls_first or not nullable else f"({beyond} OR {col} IS NULL)"),
            [value],
        )
        tie, tie_params = f"{col} = %s", [value]
    if len(keys) == 1:
        return (after, after_params) if after else ("1 = 0", [])
    rest_sql, rest_params = keyset_after(dialect, keys[1:], values[1:])
    tie_sql = f"({tie} AND {rest_sql})"
    if after is None:
        return tie_sql, tie_params + rest_params
    return f"({after} OR {tie_sql})", after_params + tie_params + rest_params


def _jsonable(value):
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    return value


def sort_signature(parts: list[str]) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:10]


def encode_cursor(signature: str, values: list) -> str:
    raw = orjson.dumps({"s": signature, "v": [_jsonable(v) for v in values]})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, signature: str, fields: list[Field]) -> list:
    from bases import fieldtypes as ft

    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
        values = data["v"]
        ok = (
            data["s"] == signature
            and isinstance(values, list)
            and len(values) == len(fields)
        )
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise InvalidInput(
            "`cursor` is not valid for this query (cursors belong to one sort and filter).",
            code="INVALID_CURSOR",
        )
    out = []
    for field, value in zip(fields, values, strict=True):
        if value is None:
            out.append(None)
            continue
        kind = ft.REGISTRY.get(field.uidt)
        try:
            if field.column_type in ("integer", "bigint"):
                out.append(int(value))
            elif field.column_type in ("decimal", "float"):
                out.append(decimal.Decimal(str(value)))
            elif field.column_type == "date":
                out.append(dt.date.fromisoformat(value))
            elif field.column_type == "datetime":
                out.append(dt.datetime.fromisoformat(value))
            elif field.column_type == "time":
                out.append(dt.time.fromisoformat(value))
            elif field.column_type == "boolean":
                out.append(bool(value))
            else:
                out.append(value if kind is None else value)
        except (ValueError, TypeError, decimal.InvalidOperation):
            raise InvalidInput("`cursor` is damaged.", code="INVALID_CURSOR")
    return out
