"""Tokens of the formula language, each with its position in the text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bases.formula.errors import FormulaError

MAX_LENGTH = 10_000


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # NUMBER STRING FIELD NAME OP LPAREN RPAREN COMMA END
    text: str  # the value: digits, unescaped string, field title, upper-cased name, operator
    pos: int


_NUMBER = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DIGITS = frozenset("0123456789")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPS = (
    "&&",
    "||",
    "==",
    "!=",
    "<>",
    "<=",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "&",
    "=",
    "<",
    ">",
)
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "}": "}", "{": "{"}


def tokenize(text: str) -> list[Token]:
    if not isinstance(text, str):
        raise FormulaError("A formula is text.", code="INVALID_FORMULA")
    if len(text) > MAX_LENGTH:
        raise FormulaError(
            f"A formula can be at most {MAX_LENGTH:,} characters long.",
            code="FORMULA_TOO_LONG",
        )
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in _DIGITS or (c == "." and i + 1 < n and text[i + 1] in _DIGITS):
            match = _NUMBER.match(text, i)
            tokens.append(Token("NUMBER", match.group(), i))
            i = match.end()
        elif c in "\"'":
            value, end = _quoted(text, i, c, "string")
            tokens.append(Token("STRING", value, i))
            i = end
        elif c == "{":
            value, end = _quoted(text, i, "}", "field name")
            if not value.strip():
                raise FormulaError("Empty field name in { }.", i, code="FORMULA_SYNTAX")
            tokens.append(Token("FIELD", value, i))
            i = end
        elif c.isascii() and (c.isalpha() or c == "_"):
            match = _NAME.match(text, i)
            tokens.append(Token("NAME", match.group().upper(), i))
            i = match.end()
        elif c in "(),":
            kind = {"(": "LPAREN", ")": "RPAREN", ",": "COMMA"}[c]
            tokens.append(Token(kind, c, i))
            i += 1
        else:
            op = next((op for op in _OPS if text.startswith(op, i)), None)
            if op is None:
                raise FormulaError(
                    f"Unexpected character {c!r}.", i, code="FORMULA_SYNTAX"
                )
            tokens.append(Token("OP", op, i))
            i += len(op)
    tokens.append(Token("END", "", n))
    return tokens


def _quoted(text: str, start: int, close: str, what: str) -> tuple[str, int]:
    """The unescaped content of a quoted string or `{field}` starting at `start`, and its end."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(_ESCAPES.get(text[i + 1], "\\" + text[i + 1]))
            i += 2
        elif c == close:
            return "".join(out), i + 1
        else:
            out.append(c)
            i += 1
    closing = "}" if close == "}" else close
    raise FormulaError(
        f"This {what} is not closed: add {closing}.", start, code="FORMULA_SYNTAX"
    )


def field_refs(text: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of each `{field}` reference in `text` (end exclusive)."""
    out = []
    for token in tokenize(text):
        if token.kind == "FIELD":
            _, end = _quoted(text, token.pos, "}", "field name")
            out.append((token.pos, end, token.text))
    return out


def field_ref(name: str) -> str:
    """`name` written as a reference: `{name}`, with `\\` and `}` escaped."""
    return "{" + name.replace("\\", "\\\\").replace("}", "\\}") + "}"


def rewrite_refs(text: str, rename) -> str:
    """`text` with each reference `{name}` for which `rename(name)` gives a new name written
    with that name instead (the rest of the text as it was). Text that does not tokenize is
    returned unchanged."""
    try:
        refs = field_refs(text)
    except FormulaError:
        return text
    pieces, last = [], 0
    for start, end, name in refs:
        new = rename(name)
        if new is None:
            continue
        pieces += [text[last:start], field_ref(new)]
        last = end
    return "".join(pieces) + text[last:]
