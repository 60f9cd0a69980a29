"""Keyset paging: the "rows after this one" predicate and the opaque cursor that carries the
last row's sort values (signed with the sort and filter they belong to)."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import uuid

import orjson

from bases.models import Field
from bases.query.dialects import Dialect
from bases.query.expressions import as_frag
from bases.query.formula.compiler import Frag, fmt
from nocoplatform.errors import InvalidInput


def keyset_after(dialect: Dialect, keys: list[tuple], values: list) -> tuple[str, list]:
    """SQL for "rows after this one" in ORDER BY `keys` (column, descending, nullable).

    A column is quoted SQL text or a Frag (a computed field's expression with its parameters,
    repeated wherever the column is: parameters stay in text order).
    NULLs come first ascending and last descending on every database (the dialect's
    `nulls_first_ascending`; PostgreSQL is told so in its ORDER BY). For one key c and last value v:
      NULLs come first, v NULL:     after: c IS NOT NULL         tie: c IS NULL
      NULLs come first, v not NULL: after: c beyond v            tie: c = v
      NULLs come last,  v NULL:     after: nothing               tie: c IS NULL
      NULLs come last,  v not NULL: after: c beyond v OR NULL    tie: c = v
    Non-nullable keys skip the NULL cases. The last key is the primary key (never NULL).
    """
    frag = _after(dialect, [(as_frag(c), d, n) for c, d, n in keys], values)
    return frag.sql, list(frag.params)


def _after(dialect: Dialect, keys: list[tuple], values: list) -> Frag:
    (col, desc, nullable), value = keys[0], values[0]
    nulls_first = dialect.nulls_first_ascending != desc
    v = Frag("%s", (value,))
    beyond = fmt("{} < {}" if desc else "{} > {}", col, v)
    if value is None:
        after = fmt("{} IS NOT NULL", col) if nulls_first else None
        tie = fmt("{} IS NULL", col)
    else:
        after = (
            beyond
            if nulls_first or not nullable
            else fmt("({} OR {} IS NULL)", beyond, col)
        )
        tie = fmt("{} = {}", col, v)
    if len(keys) == 1:
        return after or Frag("1 = 0")
    tie_sql = fmt("({} AND {})", tie, _after(dialect, keys[1:], values[1:]))
    if after is None:
        return tie_sql
    return fmt("({} OR {})", after, tie_sql)


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
                out.append(value)
        except (ValueError, TypeError, decimal.InvalidOperation):
            raise InvalidInput("`cursor` is damaged.", code="INVALID_CURSOR")
    return out
