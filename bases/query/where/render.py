"""The inverse of the parser: `parse_where(render_where(n)) == n`."""

from __future__ import annotations

from bases.query.where.nodes import And, Condition, Not, Or, WhereNode
from bases.query.where.parse import CLOSER, ITEM_END


def _quote_text(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _render_field(name: str) -> str:
    safe = (
        name
        and name == name.strip()
        and "," not in name
        and ")" not in name
        and name[0] not in '"(~'
    )
    return name if safe else _quote_text(name)


def _render_single(value: str) -> str:
    if value.lstrip().startswith('"'):
        return _quote_text(value)
    m = CLOSER.search(value + ")")
    return value if m and m.start() == len(value) else _quote_text(value)


def _render_item(value: str) -> str:
    if value != value.strip() or value.startswith('"'):
        return _quote_text(value)
    m = ITEM_END.search(value + ")")
    return value if m and m.start() == len(value) else _quote_text(value)


def render_where(node: WhereNode | None) -> str:
    """Render an AST back to `where` text."""
    if node is None:
        return ""
    if isinstance(node, Condition):
        head = f"({_render_field(node.field)},{node.op}"
        if node.value is None:
            return head + ")"
        if isinstance(node.value, tuple):
            return head + "," + ",".join(_render_item(v) for v in node.value) + ")"
        return head + "," + _render_single(node.value) + ")"
    if isinstance(node, Not):
        inner = render_where(node.child)
        return "~not" + (f"({inner})" if isinstance(node.child, And | Or) else inner)
    if isinstance(node, And | Or):
        joiner = "~and" if isinstance(node, And) else "~or"
        parts = []
        for child in node.children:
            text = render_where(child)
            parts.append(f"({text})" if isinstance(child, And | Or) else text)
        return joiner.join(parts)
    raise TypeError(f"not a where node: {node!r}")
