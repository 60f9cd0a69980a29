"""NocoDB's v2 `where` filter dialect: a parser to a small AST and a per-dialect SQL compiler.

    node = parse_where("(name,like,%smith%)~and~not(age,lt,18)")
    sql, params = compile_where(node, resolve=..., vendor="postgresql", quote=..., today=None)

The parser knows nothing about tables; the compiler resolves field names, checks each value
against its field's type and emits SQL whose only user-controlled parts are `%s` parameters.
The rules (what `blank` means, how NULL is treated, case sensitivity...) are in docs/where.md;
keep the two in step.
"""

from __future__ import annotations

import calendar
import datetime as dt
import decimal
import functools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bases.fieldtypes import named as field_type_named
from bases.query.identifiers import quote_identifier
from nocoplatform.errors import InvalidInput

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
# Parser


def _syntax(message: str, pos: int) -> InvalidInput:
    return InvalidInput(
        f"{message} at position {pos + 1}.",
        code="WHERE_SYNTAX",
        details={"position": pos + 1},
    )


# A ')' closes a condition only when followed (after optional spaces) by the end, '~' or ')'.
_CLOSER = re.compile(r"\)(?=\s*(?:\Z|[~)]))")
_ITEM_END = re.compile(r",|\)(?=\s*(?:\Z|[~)]))")
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
        m = _CLOSER.search(self.s, start)
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
            m = _ITEM_END.search(self.s, self.i)
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


# --------------------------------------------------------------------------------------------
# Renderer (the inverse of the parser: parse_where(render_where(n)) == n)


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
    m = _CLOSER.search(value + ")")
    return value if m and m.start() == len(value) else _quote_text(value)


def _render_item(value: str) -> str:
    if value != value.strip() or value.startswith('"'):
        return _quote_text(value)
    m = _ITEM_END.search(value + ")")
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


# --------------------------------------------------------------------------------------------
# Compiler

TEXT, NUMBER, BOOL, DATE, DATETIME, TIME, UUID, DURATION, JSON, OTHER = (
    "text",
    "number",
    "boolean",
    "date",
    "datetime",
    "time",
    "uuid",
    "duration",
    "json",
    "other",
)
_COLUMN_KINDS = {
    "text": TEXT,
    "longtext": TEXT,
    "integer": NUMBER,
    "bigint": NUMBER,
    "decimal": NUMBER,
    "float": NUMBER,
    "boolean": BOOL,
    "date": DATE,
    "datetime": DATETIME,
    "time": TIME,
    "uuid": UUID,
    "duration": DURATION,
    "json": JSON,
    "binary": OTHER,
    "other": OTHER,
}
_ORDERED = (NUMBER, DATE, DATETIME, TIME, DURATION)
_TRUE = {"true", "1", "yes", "on", "checked"}
_FALSE = {"false", "0", "no", "off", "unchecked"}
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,4})?")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_INT64 = 2**63
_DAY = dt.timedelta(days=1)

# Date sub-operators: name -> takes an argument?
_DATE_SUBOPS = {
    "today": False,
    "tomorrow": False,
    "yesterday": False,
    "oneWeekAgo": False,
    "oneWeekFromNow": False,
    "oneMonthAgo": False,
    "oneMonthFromNow": False,
    "daysAgo": True,
    "daysFromNow": True,
    "exactDate": True,
}
_WITHIN_SUBOPS = {
    "pastWeek": False,
    "pastMonth": False,
    "pastYear": False,
    "nextWeek": False,
    "nextMonth": False,
    "nextYear": False,
    "pastNumberOfDays": True,
    "nextNumberOfDays": True,
}
_DATE_SUBOPS_LC = {k.lower(): k for k in _DATE_SUBOPS}
_WITHIN_SUBOPS_LC = {k.lower(): k for k in _WITHIN_SUBOPS}


def _bad_value(message: str) -> InvalidInput:
    return InvalidInput(message, code="INVALID_FILTER_VALUE")


def _add_months(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + (day.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise _bad_value("The date is out of range.")
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _day_count(arg: str, name: str) -> int:
    text = arg.strip()
    if not text.isdigit() or not text.isascii():
        raise _bad_value(f"'{name}' needs a whole number of days, got '{arg}'.")
    n = int(text)
    if n > MAX_DAYS:
        raise _bad_value(f"'{name}' accepts at most {MAX_DAYS} days.")
    return n


def _shift(day: dt.date, days: int) -> dt.date:
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        raise _bad_value("The date is out of range.")


class _Compiler:
    def __init__(self, resolve, vendor: str, quote, today):
        if vendor not in ("postgresql", "mysql", "sqlite"):
            raise ValueError(f"unsupported vendor {vendor!r}")
        self.resolve = resolve
        self.vendor = vendor
        self.quote = quote
        if today is None:
            today = dt.datetime.now(dt.UTC).date()
        elif isinstance(today, dt.datetime):
            today = today.date()
        self.today: dt.date = today
        self.params: list[Any] = []

    # ---- tree
    def node(self, node: WhereNode) -> str:
        if isinstance(node, Condition):
            return self.condition(node)
        if isinstance(node, Not):
            # COALESCE makes ~not the exact complement even where SQL would say UNKNOWN.
            return f"NOT COALESCE(({self.node(node.child)}), FALSE)"
        if isinstance(node, And | Or):
            joiner = " AND " if isinstance(node, And) else " OR "
            return joiner.join(f"({self.node(c)})" for c in node.children)
        raise TypeError(f"not a where node: {node!r}")

    def p(self, value: Any) -> str:
        self.params.append(value)
        return "%s"

    # ---- fields
    def kind_of(self, field) -> str:
        if field_type_named(getattr(field, "uidt", "")).is_boolean:
            return BOOL
        kind = _COLUMN_KINDS.get(getattr(field, "column_type", None) or "other", OTHER)
        return kind

    def unsupported(self, field, op: str, kind: str) -> InvalidInput:
        return InvalidInput(
            f"Operator '{op}' is not supported for field '{field.title}' "
            f"({field.uidt}, {kind}).",
            code="OPERATOR_NOT_SUPPORTED",
        )

    def condition(self, cond: Condition) -> str:
        field = self.resolve(cond.field)
        if field_type_named(getattr(field, "uidt", "")).is_link or not getattr(
            field, "column_name", ""
        ):
            raise InvalidInput(
                f"Filtering on '{field.title}' ({field.uidt}) is not supported yet.",
                code="FILTER_NOT_SUPPORTED",
            )
        kind = self.kind_of(field)
        col = self.quote(field.column_name)
        op, value = cond.op, cond.value

        if op in ("is", "isnot"):
            special = value.strip().lower()
            positive = op == "is"
            if special == "null":
                op, value = ("null" if positive else "notnull"), None
            elif special in ("blank", "notblank"):
                op = (
                    special
                    if positive
                    else ("notblank" if special == "blank" else "blank")
                )
                value = None
            elif kind == BOOL and special in ("true", "false"):
                op = "checked" if (special == "true") == positive else "notchecked"
                value = None
            else:
                op = "eq" if positive else "neq"

        if op == "null":
            return f"{col} IS NULL"
        if op == "notnull":
            return f"{col} IS NOT NULL"
        if op in ("blank", "notblank"):
            if kind == TEXT:
                blank = f"{col} IS NULL OR {self.length(col)} = 0"
                notblank = f"{col} IS NOT NULL AND {self.length(col)} > 0"
            else:
                blank, notblank = f"{col} IS NULL", f"{col} IS NOT NULL"
            return blank if op == "blank" else notblank
        if op in ("empty", "notempty"):
            if kind != TEXT:
                raise self.unsupported(field, op, kind)
            if op == "empty":
                return f"{col} IS NOT NULL AND {self.length(col)} = 0"
            return f"{col} IS NULL OR {self.length(col)} > 0"
        if op in ("checked", "notchecked"):
            if kind != BOOL:
                raise self.unsupported(field, op, kind)
            return self.checked(col, op == "checked")
        if op in ("like", "nlike"):
            if kind != TEXT:
                raise self.unsupported(field, op, kind)
            sql = self.like(col, value)
            return sql if op == "like" else f"{col} IS NULL OR NOT ({sql})"
        if op == "isWithin":
            if kind not in (DATE, DATETIME):
                raise self.unsupported(field, op, kind)
            lo, hi = self.within(value)
            return self.day_range(col, kind, lo, hi)
        if op in ("allof", "anyof", "nallof", "nanyof"):
            return self.select_set(field, col, kind, op, value)
        if op in ("eq", "neq"):
            sql = self.equals(field, col, kind, value)
            return sql if op == "eq" else f"{col} IS NULL OR NOT ({sql})"
        if op in ("gt", "ge", "lt", "le"):
            if kind not in _ORDERED:
                raise self.unsupported(field, op, kind)
            return self.compare(field, col, kind, op, value)
        if op == "in":
            return self.in_list(field, col, kind, value)
        if op in ("btw", "nbtw"):
            if kind not in _ORDERED:
                raise self.unsupported(field, op, kind)
            low, high = value
            sql = (
                f"{self.compare(field, col, kind, 'ge', low)} AND "
                f"{self.compare(field, col, kind, 'le', high)}"
            )
            return sql if op == "btw" else f"{col} IS NULL OR NOT ({sql})"
        raise InvalidInput(f"Unknown operator '{op}'.", code="UNKNOWN_OPERATOR")

    # ---- dialect pieces
    def length(self, col: str) -> str:
        return {
            "postgresql": "char_length",
            "mysql": "CHAR_LENGTH",
            "sqlite": "length",
        }[self.vendor] + f"({col})"

    def mysql_bytes(self, expr: str) -> str:
        return f"CAST(CONVERT({expr} USING utf8mb4) AS BINARY)"

    def checked(self, col: str, checked: bool) -> str:
        if checked:
            return f"{col} = {self.p(True)}"
        return f"{col} IS NULL OR {col} = {self.p(False)}"

    # ---- text
    def text_eq(self, col: str, value: str) -> str:
        if self.vendor == "mysql":
            # The collation would ignore case, accents and trailing spaces: compare bytes,
            # after a collation-aware test an index can serve.
            return (
                f"{col} = {self.p(value)} AND "
                f"{self.mysql_bytes(col)} = {self.mysql_bytes(self.p(value))}"
            )
        return f"{col} = {self.p(value)}"

    def like(self, col: str, value: str) -> str:
        parts = value.split("%") if "%" in value else ["", value, ""]
        if self.vendor == "sqlite":
            # SQLite's LIKE and lower() fold ASCII only: noco_like (bases/query/textmatch.py,
            # registered on every user SQLite connection) folds all of Unicode, in linear time.
            return f"noco_like({col}, {self.p('%'.join(parts))})"
        pattern = "%".join(p.replace("!", "!!").replace("_", "!_") for p in parts)
        if self.vendor == "postgresql":
            return f"{col} ILIKE {self.p(pattern)} ESCAPE '!'"
        return (
            f"CAST(LOWER(CONVERT({col} USING utf8mb4)) AS BINARY) LIKE "
            f"CAST(LOWER(CONVERT({self.p(pattern)} USING utf8mb4)) AS BINARY) ESCAPE '!'"
        )

    def contains_option(self, col: str, option: str) -> str:
        needle = f",{option},"
        if self.vendor == "postgresql":
            return f"position({self.p(needle)} in (',' || {col} || ',')) > 0"
        if self.vendor == "sqlite":
            return f"instr(',' || {col} || ',', {self.p(needle)}) > 0"
        return (
            f"LOCATE(CAST({self.p(needle)} AS BINARY), "
            f"CAST(CONCAT(',', CONVERT({col} USING utf8mb4), ',') AS BINARY)) > 0"
        )

    def select_set(self, field, col: str, kind: str, op: str, values) -> str:
        ftype = field_type_named(getattr(field, "uidt", ""))
        if kind != TEXT or not ftype.has_choices:
            raise self.unsupported(field, op, kind)
        options = [v for v in values if v != ""]
        if not options:
            raise _bad_value(f"Operator '{op}' needs at least one option.")
        for option in options:
            if "," in option:
                raise _bad_value(f"Options cannot contain commas: '{option}'.")
        if ftype.multiple:
            tests = [self.contains_option(col, o) for o in options]
        else:
            tests = [self.text_eq(col, o) for o in options]
        joiner = " AND " if op in ("allof", "nallof") else " OR "
        sql = joiner.join(f"({t})" for t in tests)
        if op in ("allof", "anyof"):
            return sql
        return f"{col} IS NULL OR NOT ({sql})"

    # ---- typed values
    def number(self, field, value: str):
        text = value.strip()
        if not _NUMBER_RE.fullmatch(text):
            raise _bad_value(f"'{value}' is not a number (field '{field.title}').")
        d = decimal.Decimal(text)
        if d and not -100 <= d.adjusted() <= 100:
            raise _bad_value(f"'{value}' is out of range (field '{field.title}').")
        if d == d.to_integral_value() and abs(d) < _INT64:
            return int(d)
        return float(d) if self.vendor == "sqlite" else d

    def boolean(self, field, value: str) -> bool:
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise _bad_value(f"'{value}' is not true or false (field '{field.title}').")

    def time(self, field, value: str):
        try:
            t = dt.time.fromisoformat(value.strip())
        except ValueError:
            raise _bad_value(
                f"'{value}' is not a time HH:MM[:SS] (field '{field.title}')."
            )
        if t.tzinfo is not None:
            raise _bad_value(f"'{value}': times without a time zone only.")
        return t if self.vendor == "postgresql" else t.isoformat()

    def duration(self, field, value: str):
        seconds = self.number(field, value)
        try:
            delta = dt.timedelta(seconds=float(seconds))
        except OverflowError:
            raise _bad_value(f"'{value}' is out of range (field '{field.title}').")
        if self.vendor == "postgresql":
            return delta
        return delta // dt.timedelta(microseconds=1)

    def uuid_values(self, field, value: str) -> list:
        try:
            u = uuid.UUID(value.strip())
        except ValueError:
            raise _bad_value(f"'{value}' is not a UUID (field '{field.title}').")
        if self.vendor == "postgresql":
            return [u]
        return [u.hex, str(u)]

    def scalar(self, field, kind: str, value: str):
        """A bindable value for =, <, > on non-text, non-date kinds."""
        if kind == NUMBER:
            return self.number(field, value)
        if kind == BOOL:
            return self.boolean(field, value)
        if kind == TIME:
            return self.time(field, value)
        if kind == DURATION:
            return self.duration(field, value)
        raise AssertionError(kind)

    # ---- dates
    def bind_date(self, day: dt.date):
        return day.isoformat() if self.vendor == "sqlite" else day

    def bind_instant(self, moment: dt.datetime):
        moment = moment.astimezone(dt.UTC)
        if self.vendor == "postgresql":
            return moment
        naive = moment.replace(tzinfo=None)
        return naive.isoformat(" ") if self.vendor == "sqlite" else naive

    def day_start(self, day: dt.date):
        return self.bind_instant(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC))

    def date_value(self, field, kind: str, value: str) -> tuple[str, Any]:
        """('day', date) or ('instant', aware datetime) from a sub-operator or a literal."""
        parts = value.split(",")
        name = _DATE_SUBOPS_LC.get(parts[0].strip().lower())
        if name is not None:
            takes_arg = _DATE_SUBOPS[name]
            if takes_arg != (len(parts) == 2) or len(parts) > 2:
                form = f"{name},N" if takes_arg else name
                if name == "exactDate":
                    form = "exactDate,YYYY-MM-DD"
                raise _bad_value(
                    f"Date sub-operator is written '{form}', got '{value}'."
                )
            today = self.today
            if name == "exactDate":
                return self.literal_date(field, kind, parts[1].strip(), date_only=True)
            if name in ("daysAgo", "daysFromNow"):
                n = _day_count(parts[1], name)
                return "day", _shift(today, -n if name == "daysAgo" else n)
            day = {
                "today": lambda: today,
                "tomorrow": lambda: _shift(today, 1),
                "yesterday": lambda: _shift(today, -1),
                "oneWeekAgo": lambda: _shift(today, -7),
                "oneWeekFromNow": lambda: _shift(today, 7),
                "oneMonthAgo": lambda: _add_months(today, -1),
                "oneMonthFromNow": lambda: _add_months(today, 1),
            }[name]()
            return "day", day
        return self.literal_date(field, kind, value.strip())

    def literal_date(self, field, kind, text: str, date_only: bool = False):
        if _DATE_RE.fullmatch(text):
            try:
                return "day", dt.date.fromisoformat(text)
            except ValueError:
                pass
        elif kind == DATETIME and not date_only and _DATETIME_RE.match(text):
            try:
                moment = dt.datetime.fromisoformat(text)
            except ValueError:
                pass
            else:
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=dt.UTC)
                try:
                    moment.astimezone(dt.UTC)
                except OverflowError:
                    raise _bad_value(f"'{text}' is out of range.")
                return "instant", moment
        accepted = "YYYY-MM-DD" + (
            ", YYYY-MM-DD HH:MM[:SS][+HH:MM]"
            if kind == DATETIME and not date_only
            else ""
        )
        raise _bad_value(
            f"'{text}' is not a date for field '{field.title}'. Use {accepted} or one of: "
            f"{', '.join(_DATE_SUBOPS)} (daysAgo, daysFromNow and exactDate take a value)."
        )

    def within(self, value: str) -> tuple[dt.date, dt.date]:
        parts = value.split(",")
        name = _WITHIN_SUBOPS_LC.get(parts[0].strip().lower())
        if name is None or _WITHIN_SUBOPS[name] != (len(parts) == 2) or len(parts) > 2:
            raise _bad_value(
                f"isWithin takes one of: {', '.join(_WITHIN_SUBOPS)} "
                f"(pastNumberOfDays,N and nextNumberOfDays,N take a number), got '{value}'."
            )
        today = self.today
        if name.endswith("NumberOfDays"):
            n = _day_count(parts[1], name)
            other = _shift(today, -n if name.startswith("past") else n)
        else:
            sign = -1 if name.startswith("past") else 1
            unit = name[4:]
            if unit == "Week":
                other = _shift(today, 7 * sign)
            elif unit == "Month":
                other = _add_months(today, sign)
            else:
                other = _add_months(today, 12 * sign)
        return (other, today) if other <= today else (today, other)

    def day_range(self, col: str, kind: str, lo: dt.date, hi: dt.date) -> str:
        """lo <= col's day <= hi."""
        if kind == DATE:
            return f"{col} >= {self.p(self.bind_date(lo))} AND {col} <= {self.p(self.bind_date(hi))}"
        end = self.day_start(_shift(hi, 1))
        return f"{col} >= {self.p(self.day_start(lo))} AND {col} < {self.p(end)}"

    def date_compare(self, field, col: str, kind: str, op: str, value: str) -> str:
        what, v = self.date_value(field, kind, value)
        if what == "instant":
            sign = {"eq": "=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}[op]
            return f"{col} {sign} {self.p(self.bind_instant(v))}"
        if kind == DATE:
            sign = {"eq": "=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}[op]
            return f"{col} {sign} {self.p(self.bind_date(v))}"
        if op == "eq":
            return self.day_range(col, kind, v, v)
        if op in ("gt", "le"):
            bound = self.day_start(_shift(v, 1))
            return f"{col} {'>=' if op == 'gt' else '<'} {self.p(bound)}"
        bound = self.day_start(v)
        return f"{col} {'>=' if op == 'ge' else '<'} {self.p(bound)}"

    # ---- comparisons
    def equals(self, field, col: str, kind: str, value: str) -> str:
        if kind == TEXT:
            return self.text_eq(col, value)
        if kind in (DATE, DATETIME):
            return self.date_compare(field, col, kind, "eq", value)
        if kind == UUID:
            vals = self.uuid_values(field, value)
            if self.vendor == "postgresql":
                return f"{col} = {self.p(vals[0])}"
            return f"LOWER({col}) IN ({', '.join(self.p(v) for v in vals)})"
        if kind in (JSON, OTHER):
            raise self.unsupported(field, "eq", kind)
        if kind == BOOL:
            return self.checked(col, self.boolean(field, value))
        return f"{col} = {self.p(self.scalar(field, kind, value))}"

    def compare(self, field, col: str, kind: str, op: str, value: str) -> str:
        if kind in (DATE, DATETIME):
            return self.date_compare(field, col, kind, op, value)
        sign = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}[op]
        return f"{col} {sign} {self.p(self.scalar(field, kind, value))}"

    def in_list(self, field, col: str, kind: str, values) -> str:
        if kind in (BOOL, JSON, OTHER):
            raise self.unsupported(field, "in", kind)
        if kind in (TEXT, NUMBER, TIME, DURATION) and not (
            kind == TEXT and self.vendor == "mysql"
        ):
            if kind == TEXT:
                bound = list(values)
            else:
                bound = [self.scalar(field, kind, v) for v in values]
            return f"{col} IN ({', '.join(self.p(v) for v in bound)})"
        return " OR ".join(f"({self.equals(field, col, kind, v)})" for v in values)


def compile_where(
    node: WhereNode | None,
    *,
    resolve: Callable[[str], Any],
    vendor: str,
    quote: Callable[[str], str] | None = None,
    today: dt.date | None = None,
) -> tuple[str, list]:
    """SQL (with %s placeholders) and its parameters for a parsed `where` expression.

    `resolve(name)` returns the Field named (title first, then column name) or raises
    InvalidInput(code="FIELD_NOT_FOUND"); `quote` quotes identifiers for `vendor`
    ("postgresql", "mysql" or "sqlite"), by default the dialect's own quoting; `today` (UTC
    by default) anchors the date sub-operators. No node compiles to an always-true condition.
    """
    if node is None:
        return "1 = 1", []
    quote = quote or functools.partial(quote_identifier, vendor)
    compiler = _Compiler(resolve, vendor, quote, today)
    sql = compiler.node(node)
    return f"({sql})", compiler.params
