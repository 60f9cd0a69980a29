"""The filter builder's tree and the records API's `where` text: one conversion, both ways.

A view stores its filter as `where` text (bases/query/where/, docs/where.md) so the API's
`viewId` and the grid apply exactly the same rows. The builder edits a JSON tree:

    {"type": "group", "logic": "and" | "or", "not": false, "children": [
        {"type": "condition", "field": "<field id>", "op": "eq", "value": "Open"},
        {"type": "group", "logic": "or", "not": true, "children": [...]}]}

`value` is a string for one-value operators, a list of strings for list operators (`in`, `btw`,
`anyof`…) and null for operators without a value (`blank`, `checked`…). The root is always a
group. Conversions:

    tree_to_where(tree) -> str        where_to_tree(text, resolve=None) -> dict
    tree_to_node / node_to_tree       (the same on parsed ASTs)

`node_to_tree(tree_to_node(t)) == normalize(t)` and `tree_to_node(node_to_tree(n)) == n` for
every AST the parser can produce (tests/views/test_filters*.py, with hypothesis).
"""

from __future__ import annotations

import json
from typing import Any

from bases.fieldtypes import field_type_for
from bases.query.where import (
    LIST_OPS,
    MAX_CONDITIONS,
    NO_VALUE_OPS,
    OPERATORS,
    VALUE_OPS,
    And,
    Condition,
    Not,
    Or,
    WhereNode,
    compile_where,
    parse_where,
    render_where,
)
from nocoplatform.errors import DomainError, InvalidInput

MAX_TREE_BYTES = 200_000

# Every operator of the where dialect, with the label the builder shows, in menu order.
OPERATOR_LABELS = {
    "eq": "is equal to",
    "neq": "is not equal to",
    "like": "contains / is like",
    "nlike": "does not contain",
    "gt": ">",
    "ge": "≥",
    "lt": "<",
    "le": "≤",
    "btw": "is between",
    "nbtw": "is not between",
    "in": "is one of",
    "anyof": "has any of",
    "allof": "has all of",
    "nanyof": "has none of",
    "nallof": "does not have all of",
    "isWithin": "is within",
    "is": "is (null, blank, true…)",
    "isnot": "is not (null, blank, true…)",
    "blank": "is blank",
    "notblank": "is not blank",
    "null": "is null",
    "notnull": "is not null",
    "empty": "is empty text",
    "notempty": "is not empty text",
    "checked": "is checked",
    "notchecked": "is not checked",
}
assert set(OPERATOR_LABELS) == set(VALUE_OPS + LIST_OPS + NO_VALUE_OPS)


def arity(op: str) -> str:
    """'none', 'one' or 'list': what kind of value an operator takes."""
    if op in NO_VALUE_OPS:
        return "none"
    if op in LIST_OPS:
        return "list"
    return "one"


def canonical(op) -> str:
    """The canonical name of an operator (aliases resolved); the input when unknown."""
    return OPERATORS.get(str(op or "").lower(), str(op or ""))


def empty_tree() -> dict:
    return {"type": "group", "logic": "and", "not": False, "children": []}


# --------------------------------------------------------------------------------------------
# tree -> AST -> text


def _bad(message: str) -> InvalidInput:
    return InvalidInput(message, code="INVALID_FILTER_TREE")


def _condition_node(item: dict) -> Condition:
    field = item.get("field")
    if not isinstance(field, str) or not field.strip():
        raise _bad("Every condition needs a field.")
    raw_op = item.get("op")
    op = OPERATORS.get(str(raw_op or "").lower())
    if op is None:
        raise InvalidInput(f"Unknown operator '{raw_op}'.", code="UNKNOWN_OPERATOR")
    value = item.get("value")
    kind = arity(op)
    if kind == "none":
        return Condition(field, op, None)
    if kind == "list":
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",")]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _bad(f"Operator '{op}' takes a list of values.")
        if not value:
            raise _bad(f"Operator '{op}' needs at least one value.")
        return Condition(field, op, tuple(value))
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _bad(f"Operator '{op}' takes one value.")
    return Condition(field, op, value)


def tree_to_node(tree: Any, _depth: int = 0) -> WhereNode | None:
    """The AST for a builder tree (None when it has no conditions). Raises InvalidInput."""
    if _depth > 20:
        raise InvalidInput(
            "Filters nest deeper than 20 levels.", code="TOO_MANY_CONDITIONS"
        )
    if not isinstance(tree, dict):
        raise _bad("A filter is an object with a type.")
    kind = tree.get("type")
    if kind == "condition":
        return _condition_node(tree)
    if kind != "group":
        raise _bad(f"Unknown filter item type '{kind}'.")
    logic = tree.get("logic", "and")
    if logic not in ("and", "or"):
        raise _bad("A group's logic is 'and' or 'or'.")
    children = tree.get("children", [])
    if not isinstance(children, list):
        raise _bad("A group's children are a list.")
    nodes = [tree_to_node(c, _depth + 1) for c in children]
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        node = None
    elif len(nodes) == 1:
        node = nodes[0]
    else:
        node = (And if logic == "and" else Or)(tuple(nodes))
    if node is not None and tree.get("not"):
        node = Not(node)
    return node


def tree_to_where(tree: Any) -> str:
    return render_where(tree_to_node(tree))


# --------------------------------------------------------------------------------------------
# text -> AST -> tree


def _condition_tree(node: Condition, resolve) -> dict:
    field = node.field
    if resolve is not None:
        try:
            field = resolve(node.field).id
        except DomainError:
            field = node.field  # kept as written; validation names the problem
    value = list(node.value) if isinstance(node.value, tuple) else node.value
    return {"type": "condition", "field": field, "op": node.op, "value": value}


def node_to_tree(node: WhereNode | None, resolve=None) -> dict:
    """The builder tree for an AST: always a group at the root.

    With `resolve` (a FieldResolver), field names written as titles or column names become ids.
    """

    def group(inner: WhereNode | None, negated: bool) -> dict:
        out = empty_tree()
        out["not"] = negated
        if inner is None:
            return out
        if isinstance(inner, And | Or):
            out["logic"] = "and" if isinstance(inner, And) else "or"
            out["children"] = [item(c) for c in inner.children]
        else:
            out["children"] = [item(inner)]
        return out

    def item(child: WhereNode) -> dict:
        if isinstance(child, Condition):
            return _condition_tree(child, resolve)
        if isinstance(child, Not):
            return group(child.child, True)
        return group(child, False)

    if isinstance(node, Not):
        # A negated root stays a negated group inside a plain root, so the root's own "not"
        # never has to be shown.
        return group(node, False)
    return group(node, False)


def where_to_tree(text: str, resolve=None) -> dict:
    return node_to_tree(parse_where(text), resolve)


def normalize(tree: dict) -> dict:
    """What a tree becomes after a trip through `where` text (the builder shows this)."""
    return node_to_tree(tree_to_node(tree))


def load_tree(raw: str | None) -> dict:
    """The tree posted by the builder (JSON text). Raises InvalidInput."""
    if not raw:
        return empty_tree()
    if len(raw) > MAX_TREE_BYTES:
        raise InvalidInput("The filter is too large.", code="TOO_MANY_CONDITIONS")
    try:
        tree = json.loads(raw)
    except (ValueError, RecursionError):
        raise _bad("The filter is not valid JSON.")
    if not isinstance(tree, dict) or tree.get("type") != "group":
        raise _bad("The filter's root is a group.")
    _check_shape(tree)
    return tree


def _check_shape(tree: dict) -> None:
    """Groups hold a list of objects, no deeper than the dialect allows (iteratively, so a
    hostile tree cannot exhaust the stack)."""
    stack = [(tree, 0)]
    seen = 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if seen > 2 * MAX_CONDITIONS:
            raise InvalidInput(
                "The filter has too many conditions.", code="TOO_MANY_CONDITIONS"
            )
        if not isinstance(item, dict):
            raise _bad("Every filter item is an object.")
        if item.get("type") == "group":
            if depth >= 20:
                raise InvalidInput(
                    "Filters nest deeper than 20 levels.", code="TOO_MANY_CONDITIONS"
                )
            children = item.get("children", [])
            if not isinstance(children, list):
                raise _bad("A group's children are a list.")
            stack.extend((c, depth + 1) for c in children)


# --------------------------------------------------------------------------------------------
# Per field type: which operators fit, and per-condition validation


def operators_for(field) -> list[str]:
    """The operators the field's type accepts (FieldType.filter_operators), in menu order."""
    cached = getattr(field, "_filter_ops", None)
    if cached is not None:
        return cached
    accepted = set(field_type_for(field).filter_operators(field))
    field._filter_ops = [op for op in OPERATOR_LABELS if op in accepted]
    return field._filter_ops


def filterable(field) -> bool:
    return field_type_for(field).filterable(field)


def _compile_one(field, node: WhereNode) -> None:
    compile_where(
        node,
        resolve=lambda name: field,
        vendor="sqlite",
    )


def validate_tree(tree: dict, resolve) -> dict[str, str]:
    """Problems by condition path ("0", "1.2"…): empty when the whole tree may be saved.

    Each condition is checked on its own against its field (unknown field, operator that does
    not fit the type, bad value), so the builder can show every message next to its row.
    """
    errors: dict[str, str] = {}

    def walk(item: Any, path: str, depth: int) -> None:
        if depth > 20:
            errors[path or "root"] = "Filters nest deeper than 20 levels."
            return
        if not isinstance(item, dict):
            errors[path or "root"] = "Not a filter item."
            return
        if item.get("type") == "group":
            for i, child in enumerate(item.get("children") or []):
                walk(child, f"{path}.{i}" if path else str(i), depth + 1)
            return
        try:
            node = _condition_node(item)
            field = resolve(node.field)
            if not filterable(field):
                raise InvalidInput(
                    f"'{field.title}' cannot be filtered yet.",
                    code="FILTER_NOT_SUPPORTED",
                )
            if incomplete(item):
                return  # not applied until it has a value; not an error
            _compile_one(field, node)
        except DomainError as exc:
            errors[path] = exc.message

    walk(tree, "", 0)
    if not errors:
        try:
            text = tree_to_where(complete_part(tree))
            parse_where(text)  # limits: conditions, depth, length
        except DomainError as exc:
            errors["root"] = exc.message
    return errors


def incomplete(item: dict) -> bool:
    """A condition still waiting for its value (the builder keeps it; saving skips it).

    The builder treats an empty value as "not filled in yet", as NocoDB's does; the empty
    string itself is matched with `empty` / `blank`.
    """
    if item.get("type") != "condition":
        return False
    op = canonical(item.get("op"))
    if op not in OPERATOR_LABELS or arity(op) == "none":
        return False
    value = item.get("value")
    if arity(op) == "list":
        if isinstance(value, str):
            value = [v for v in value.split(",")]
        if not isinstance(value, list):
            return False
        filled = [v for v in value if isinstance(v, str) and v.strip()]
        return len(filled) < (2 if op in ("btw", "nbtw") else 1)
    return value is None or (isinstance(value, str) and not value.strip())


def complete_part(tree: dict) -> dict:
    """The tree without incomplete conditions (and groups left empty): what gets saved."""
    if tree.get("type") != "group":
        return tree
    children = []
    for child in tree.get("children") or []:
        if not isinstance(child, dict) or incomplete(child):
            continue
        if child.get("type") == "group":
            child = complete_part(child)
            if not child["children"]:
                continue
        children.append(child)
    return {**tree, "children": children}


def count_conditions(tree: dict) -> int:
    if tree.get("type") == "condition":
        return 1
    return sum(count_conditions(c) for c in tree.get("children") or [])
