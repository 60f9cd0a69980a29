"""Syntax tree nodes. Each node keeps its position for error messages; the checker sets `type`."""

from __future__ import annotations

from dataclasses import dataclass, field

from bases.formula.types import FType


@dataclass(eq=False)
class Node:
    pos: int
    type: FType | None = field(default=None, init=False)


@dataclass(eq=False)
class Number(Node):
    text: str = ""


@dataclass(eq=False)
class String(Node):
    value: str = ""


@dataclass(eq=False)
class Boolean(Node):
    value: bool = False


@dataclass(eq=False)
class FieldRef(Node):
    title: str = ""
    # Set by the checker: the field this names (and, for a formula field, its checked tree).
    spec: object = None
    expansion: Node | None = None


@dataclass(eq=False)
class Unary(Node):
    op: str = "-"
    operand: Node | None = None


@dataclass(eq=False)
class Binary(Node):
    op: str = "+"
    left: Node | None = None
    right: Node | None = None


@dataclass(eq=False)
class Call(Node):
    name: str = ""
    args: list[Node] = field(default_factory=list)


def walk(node: Node):
    """Every node of the tree, parents first (formula expansions not included)."""
    yield node
    for child in children(node):
        yield from walk(child)


def children(node: Node) -> list[Node]:
    if isinstance(node, Unary):
        return [node.operand]
    if isinstance(node, Binary):
        return [node.left, node.right]
    if isinstance(node, Call):
        return list(node.args)
    return []
