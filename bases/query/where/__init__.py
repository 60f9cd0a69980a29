"""The `where` layer: nodes (the AST), parse (text to nodes), render (nodes to text), values
(typed filter values) and compile (nodes to SQL for one dialect). See docs/query.md."""

from bases.query.where.compile import compile_where
from bases.query.where.nodes import (
    ALIASES,
    LIST_OPS,
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_LIST_VALUES,
    NO_VALUE_OPS,
    OPERATORS,
    VALID_OPERATORS,
    VALUE_OPS,
    After,
    And,
    Condition,
    KeysIn,
    LinkedTo,
    Not,
    Or,
    WhereNode,
)
from bases.query.where.parse import parse_where
from bases.query.where.render import render_where

__all__ = [
    "ALIASES",
    "LIST_OPS",
    "MAX_CONDITIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_LIST_VALUES",
    "NO_VALUE_OPS",
    "OPERATORS",
    "VALID_OPERATORS",
    "VALUE_OPS",
    "After",
    "And",
    "Condition",
    "KeysIn",
    "LinkedTo",
    "Not",
    "Or",
    "WhereNode",
    "compile_where",
    "parse_where",
    "render_where",
]
