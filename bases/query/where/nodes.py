"""The `where` AST: Condition, And, Or, Not (what the text dialect parses to) and the operators.

Nodes are immutable and comparable, so one parse can serve many requests. Callers that select
rows by something no text can say (a list of keys, a cursor, a link) build the structural nodes
of bases/query/where/structural.py instead, never SQL or filter strings.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_CONDITIONS = 200
MAX_DEPTH = 20
MAX_LIST_VALUES = 1000
MAX_LENGTH = 100_000
MAX_DAYS = 100_000

# Operators, by how many values they take.
VALUE_OPS = (
    "eq",
    "neq",
    "gt",
    "ge",
    "lt",
    "le",
    "is",
    "isnot",
    "like",
    "nlike",
    "isWithin",
)
LIST_OPS = ("in", "btw", "nbtw", "allof", "anyof", "nallof", "nanyof")
NO_VALUE_OPS = (
    "blank",
    "notblank",
    "null",
    "notnull",
    "empty",
    "notempty",
    "checked",
    "notchecked",
)
ALIASES = {
    "not": "neq",
    "gte": "ge",
    "lte": "le",
    "isblank": "blank",
    "is_blank": "blank",
    "isnotblank": "notblank",
    "is_not_blank": "notblank",
    "is_notblank": "notblank",
}
OPERATORS = {op.lower(): op for op in VALUE_OPS + LIST_OPS + NO_VALUE_OPS}
OPERATORS.update(ALIASES)
VALID_OPERATORS = ", ".join(VALUE_OPS + LIST_OPS + NO_VALUE_OPS + tuple(ALIASES))


# --------------------------------------------------------------------------------------------
# AST


class WhereNode:
    """A parsed `where` expression: Condition, And, Or or Not (immutable, comparable)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Condition(WhereNode):
    field: str
    op: str  # canonical name (aliases resolved)
    # str for one-value operators, tuple[str, ...] for list operators, None for no-value ones.
    value: str | tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class And(WhereNode):
    children: tuple[WhereNode, ...]


@dataclass(frozen=True, slots=True)
class Or(WhereNode):
    children: tuple[WhereNode, ...]


@dataclass(frozen=True, slots=True)
class Not(WhereNode):
    child: WhereNode


# --------------------------------------------------------------------------------------------
# Structural nodes: what callers select rows by when no `where` text can say it. They compile
# like any node (inside And/Or/Not too) but have no text form, so they never reach a URL.


@dataclass(frozen=True, slots=True, eq=False)
class KeysIn(WhereNode):
    """The rows whose primary key is one of `keys` (tuples of values in `pk` order)."""

    pk: tuple  # the table's primary-key Fields
    keys: tuple


@dataclass(frozen=True, slots=True, eq=False)
class After(WhereNode):
    """The rows after one row in an order: `order` is ((Field, descending), …) ending with the
    primary key, `values` that row's values of those fields (bases/query/cursors.py)."""

    order: tuple
    values: tuple


@dataclass(frozen=True, slots=True, eq=False)
class LinkedTo(WhereNode):
    """The rows of `link`'s related table linked to one record, whose own key column for the
    link holds `value` (None: linked to nothing)."""

    link: object  # the LinkToAnotherRecord Field
    value: object
