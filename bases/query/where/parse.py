"""NocoDB's v2 `where` text parsed to the AST of bases/query/where/nodes.py.

    node = parse_where("(name,like,%smith%)~and~not(age,lt,18)")

The parser knows nothing about tables. The rules are in docs/where.md; keep the two in step.
"""

from __future__ import annotations

import functools
import re

from bases.query.where.nodes import (
    LIST_OPS,
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_LIST_VALUES,
    NO_VALUE_OPS,
    OPERATORS,
    VALID_OPERATORS,
    And,
    Condition,
    Not,
    Or,
    WhereNode,
)
from nocoplatform.errors import InvalidInput


def _syntax(message: str, pos: int) -> InvalidInput:
    return InvalidInput(
        f"{message} at position {pos + 1}.",
        code="WHERE_SYNTAX",
        details={"position": pos + 1},
    )


# A ')' closes a condition only when followed (after optional spaces) by the end, '~' or ')'.
CLOSER = re.compile(r"\)(?=\s*(?:\Z|[~)]))")
ITEM_END = re.compile(r",|\)(?=\s*(?:\Z|[~)]))")
_OP_END = re.compile(r"[,)]")
_WORD = re.compile(r"[A-Za-z_]*")


class _Parser:
    def __init__(self, text: str):
        self.s = text
        self.n = len(text)
        self.i = 0
        self.conditions = 0

    # helpers
    def ws(self) -> None:
        s, i, n = self.s, self.i, self.n
        while i < n and s[i].isspace():
            i += 1
        self.i = i

    def peek(self) -> str:
        return self.s[self.i] if self.i < self.n else ""

    def logical(self) -> str:
        """Read `~word` at the cursor and return the lowercased word."""
        start = self.i
        self.i += 1  # '~'
        word = _WORD.match(self.s, self.i).group()
        self.i += len(word)
        word = word.lower()
        if word not in ("and", "or", "not"):
            raise _syntax(
                f"unknown logical operator '~{word}' (use ~and, ~or, ~not)", start
            )
        return word

    def deeper(self, depth: int, pos: int) -> int:
        depth += 1
        if depth > MAX_DEPTH:
            raise InvalidInput(
                f"The where expression nests deeper than {MAX_DEPTH} levels "
                f"(at position {pos + 1}); parentheses and ~not each count as a level.",
                code="TOO_MANY_CONDITIONS",
            )
        return depth

    # grammar
    def parse(self) -> WhereNode:
        node = self.expr(0)
        self.ws()
        if self.i < self.n:
            if self.peek() == ")":
                raise _syntax("unexpected ')': parentheses are unbalanced", self.i)
            raise _syntax(
                f"unexpected '{self.peek()}': expected ~and, ~or or the end", self.i
            )
        return node

    def expr(self, depth: int) -> WhereNode:
        items = [self.term(depth)]
        joiner = None
        while True:
            self.ws()
            if self.peek() != "~":
                break
            pos = self.i
            word = self.logical()
            if word == "not":
                raise _syntax("expected ~and or ~or before ~not", pos)
            if joiner and word != joiner:
                raise _syntax(
                    "~and and ~or are mixed at the same level; add parentheses to say "
                    "which goes first",
                    pos,
                )
            joiner = word
            items.append(self.term(depth))
        if len(items) == 1:
            return items[0]
        return And(tuple(items)) if joiner == "and" else Or(tuple(items))

    def term(self, depth: int) -> WhereNode:
        self.ws()
        pos = self.i
        c = self.peek()
        if c == "~":
            word = self.logical()
            if word != "not":
                raise _syntax(f"expected a condition before '~{word}'", pos)
            return Not(self.term(self.deeper(depth, pos)))
        if c != "(":
            if not c:
                raise _syntax(
                    "expected a condition '(field,op,value)' but the text ended", pos
                )
            raise _syntax(f"expected '(' but found '{c}'", pos)
        j = pos + 1
        while j < self.n and self.s[j].isspace():
            j += 1
        nxt = self.s[j] if j < self.n else ""
        if nxt in ("(", "~"):
            inner_depth = self.deeper(depth, pos)
            self.i = j
            node = self.expr(inner_depth)
            self.ws()
            if self.peek() != ")":
                if self.i >= self.n:
                    raise _syntax(
                        "the group opened here is not closed (missing ')')", pos
                    )
                raise _syntax(
                    f"unexpected '{self.peek()}': expected ')', ~and or ~or", self.i
                )
            self.i += 1
            return node
        if nxt == ")":
            raise _syntax("empty parentheses: expected (field,op,value)", pos)
        return self.condition()

    def quoted(self) -> str:
        """Read a double-quoted string at the cursor; `\\"` and `\\\\` are escapes."""
        start = self.i
        s, n = self.s, self.n
        i = start + 1
        out = []
        while True:
            j = i
            while j < n and s[j] not in '"\\':
                j += 1
            out.append(s[i:j])
            if j >= n:
                raise _syntax("unterminated quoted string (missing '\"')", start)
            if s[j] == '"':
                self.i = j + 1
                return "".join(out)
            # backslash
            if j + 1 < n and s[j + 1] in '"\\':
                out.append(s[j + 1])
                i = j + 2
            else:
                out.append("\\")
                i = j + 1

    def condition(self) -> Condition:
        open_pos = self.i
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise InvalidInput(
                f"The where expression has more than {MAX_CONDITIONS} conditions.",
                code="TOO_MANY_CONDITIONS",
            )
        self.i += 1  # '('
        self.ws()
        # field
        if self.peek() == '"':
            field = self.quoted()
            self.ws()
            if self.peek() != ",":
                raise self._unclosed_or(open_pos, "expected ',' after the field name")
        else:
            start = self.i
            comma = self.s.find(",", start)
            paren = self.s.find(")", start)
            if comma < 0 and paren < 0:
                raise _syntax(
                    "the condition opened here is not closed (missing ')')", open_pos
                )
            if comma < 0 or (0 <= paren < comma):
                raise _syntax(
                    "missing operator: a condition is (field,op) or (field,op,value)",
                    paren,
                )
            field = self.s[start:comma].strip()
            self.i = comma
        if not field:
            raise _syntax("missing field name", self.i)
        self.i += 1  # ','
        # operator
        op_start = self.i
        m = _OP_END.search(self.s, op_start)
        if not m:
            raise _syntax(
                "the condition opened here is not closed (missing ')')", open_pos
            )
        raw_op = self.s[op_start : m.start()].strip()
        if not raw_op:
            raise _syntax("missing operator", op_start)
        op = OPERATORS.get(raw_op.lower())
        if op is None:
            raise InvalidInput(
                f"Unknown operator '{raw_op}' at position {op_start + 1}. "
                f"Valid operators: {VALID_OPERATORS}.",
                code="UNKNOWN_OPERATOR",
                details={"position": op_start + 1},
            )
        self.i = m.start()
        if self.peek() == ")":
            self.i += 1
            if op in NO_VALUE_OPS:
                return Condition(field, op, None)
            raise InvalidInput(
                f"Operator '{op}' needs a value: ({field},{op},value).",
                code="INVALID_FILTER_VALUE",
            )
        self.i += 1  # ','
        if op in LIST_OPS:
            items = self.items(open_pos)
            if op in ("btw", "nbtw") and len(items) != 2:
                raise InvalidInput(
                    f"Operator '{op}' takes exactly two values: ({field},{op},low,high).",
                    code="INVALID_FILTER_VALUE",
                )
            return Condition(field, op, items)
        value = self.single(open_pos)
        if op in NO_VALUE_OPS:
            if value.strip():
                raise InvalidInput(
                    f"Operator '{op}' takes no value: ({field},{op}).",
                    code="INVALID_FILTER_VALUE",
                )
            return Condition(field, op, None)
        return Condition(field, op, value)

    def _unclosed_or(self, open_pos: int, message: str) -> InvalidInput:
        if self.i >= self.n:
            return _syntax(
                "the condition opened here is not closed (missing ')')", open_pos
            )
        return _syntax(message, self.i)

    def single(self, open_pos: int) -> str:
        start = self.i
        self.ws()
        if self.peek() == '"':
            value = self.quoted()
            self.ws()
            if self.peek() != ")":
                raise self._unclosed_or(open_pos, "expected ')' after the quoted value")
            self.i += 1
            return value
        m = CLOSER.search(self.s, start)
        if not m:
            raise _syntax(
                "the condition opened here is not closed (missing ')')", open_pos
            )
        self.i = m.end()
        return self.s[start : m.start()]

    def items(self, open_pos: int) -> tuple[str, ...]:
        out: list[str] = []
        while True:
            if len(out) >= MAX_LIST_VALUES:
                raise InvalidInput(
                    f"A list of values is limited to {MAX_LIST_VALUES} items.",
                    code="TOO_MANY_CONDITIONS",
                )
            self.ws()
            if self.peek() == '"':
                out.append(self.quoted())
                self.ws()
                c = self.peek()
                if c not in (",", ")"):
                    raise self._unclosed_or(
                        open_pos, "expected ',' or ')' after the quoted value"
                    )
                self.i += 1
                if c == ")":
                    return tuple(out)
                continue
            m = ITEM_END.search(self.s, self.i)
            if not m:
                raise _syntax(
                    "the condition opened here is not closed (missing ')')", open_pos
                )
            out.append(self.s[self.i : m.start()].strip())
            self.i = m.end()
            if m.group() == ")":
                return tuple(out)


def parse_where(text: str | None) -> WhereNode | None:
    """Parse a `where` string; None for empty or blank text. Raises InvalidInput."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_LENGTH:
        raise InvalidInput(
            f"The where expression is longer than {MAX_LENGTH} characters.",
            code="TOO_MANY_CONDITIONS",
        )
    return _parse_cached(text)


@functools.lru_cache(maxsize=2048)
def _parse_cached(text: str) -> WhereNode:
    # The tree is immutable (frozen dataclasses, tuples), so one parse serves every request
    # that repeats the same filter: a client polling a list, a view's saved filter.
    return _Parser(text).parse()
