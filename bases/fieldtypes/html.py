"""Escaping helpers for the HTML a field type renders into a grid cell or a card.

Cells are rendered in Python (not one template include per cell): a 100-row window of 25
columns is 2,500 cells, and the grid's speed target leaves no room for template includes.
"""

from __future__ import annotations

from html import escape as _escape

DISPLAY_LIMIT = 300  # characters of long text kept in a cell's display


def escape(text) -> str:
    return _escape(str(text), quote=True)


def format_html(template: str, *args) -> str:
    return template.format(*(escape(a) for a in args))


def chip(text, colour="#eeeeee") -> str:
    return format_html('<span class="chip" data-bg="{}">{}</span>', colour, text)


# Markdown's syntax characters (and `<`, `&`: HTML tags and entities), each backslash-escaped.
_MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()<>#+-.!|~&=")


def markdown_text(text: str) -> str:
    """`text` as CommonMark that renders as exactly those characters (no markup, no HTML)."""
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in str(text))
