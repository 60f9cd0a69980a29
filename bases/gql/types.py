"""Scalars, GraphQL names for user titles, and output values.

Field values are typed from the field type's declared OpenAPI schema (FieldType.schema), so a
new field type (formula, lookup, rollup, system fields…) gets a GraphQL type without code here.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal

import orjson
from graphql import (
    GraphQLBoolean,
    GraphQLError,
    GraphQLFloat,
    GraphQLScalarType,
    GraphQLString,
    IntValueNode,
    StringValueNode,
    value_from_ast_untyped,
)


def _plain(value):
    """A value as JSON holds it (dates as ISO text, decimals as numbers)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return orjson.loads(orjson.dumps(value, default=str))


def _big_int(value):
    if isinstance(value, bool):
        raise GraphQLError(f"BigInt cannot represent a boolean: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,19}", value):
        return int(value)
    raise GraphQLError(f"BigInt cannot represent: {value!r}")


def _big_int_literal(node, _variables=None):
    if isinstance(node, (IntValueNode, StringValueNode)):
        return _big_int(node.value if isinstance(node, IntValueNode) else node.value)
    raise GraphQLError("BigInt takes an integer.")


BigInt = GraphQLScalarType(
    "BigInt",
    description="A whole number of up to 64 bits (GraphQL's Int stops at 32).",
    serialize=lambda v: _big_int(_plain(v) if not isinstance(v, int) else v),
    parse_value=_big_int,
    parse_literal=_big_int_literal,
)
JSON = GraphQLScalarType(
    "JSON",
    description="Any JSON value (JSON fields, attachments, values of types without a "
    "narrower scalar).",
    serialize=_plain,
    parse_value=lambda v: v,
    parse_literal=lambda node, variables=None: value_from_ast_untyped(node, variables),
)

_BY_OPENAPI = {
    "integer": BigInt,
    "number": GraphQLFloat,
    "boolean": GraphQLBoolean,
    "string": GraphQLString,
}


def scalar_for(schema: dict):
    """The scalar of a value whose OpenAPI schema is `schema` (FieldType.schema(field))."""
    return _BY_OPENAPI.get(schema.get("type"), JSON)


def output(value):
    return _plain(value)


# Names GraphQL reserves or this schema uses for its own types.
RESERVED_TYPES = {
    "Query",
    "Mutation",
    "PageInfo",
    "BigInt",
    "JSON",
    "String",
    "Int",
    "Float",
    "Boolean",
    "ID",
}


def graphql_name(text: str) -> str:
    """A GraphQL name (`[_A-Za-z][_0-9A-Za-z]*`, not starting with `__`) for a user title."""
    name = re.sub(r"[^_0-9A-Za-z]", "_", text).strip("_") or "field"
    if name[0].isdigit():
        name = "_" + name
    return name


class Names:
    """Unique names in one namespace: a clash gets `_2`, `_3`… in the order met."""

    def __init__(self, taken=()):
        self.taken = set(taken)

    def __call__(self, text: str) -> str:
        base = graphql_name(text)
        name, n = base, 1
        while name in self.taken:
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name)
        return name
