"""The dialect-neutral formula compiler; `dialects.py` holds what differs per database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from bases.formula import FieldSpec, FType, TypedFormula, ast
from bases.formula.checker import parse_date_literal
from bases.formula.functions import DATEADD_UNITS, DIFF_UNITS, WEEKDAYS

# REPEAT() never builds text longer than this (a formula cannot make the database allocate GBs).
MAX_REPEAT_CHARS = 100_000


@dataclass(frozen=True)
class Frag:
    """A piece of SQL text and the parameters its `%s` placeholders take, in order."""

    sql: str
    params: tuple = ()


def fmt(template: str, *parts: Frag) -> Frag:
    """`template` with each `{}` replaced by the next part (templates are code, never user text)."""
    pieces = template.split("{}")
    if len(pieces) != len(parts) + 1:
        raise ValueError(f"template {template!r} takes {len(pieces) - 1} parts")
    sql, params = [pieces[0]], []
    for part, tail in zip(parts, pieces[1:], strict=True):
        sql.append(part.sql)
        sql.append(tail)
        params.extend(part.params)
    return Frag("".join(sql), tuple(params))


def join(parts: list[Frag], separator: str) -> Frag:
    return fmt(separator.join(["{}"] * len(parts)), *parts)


def param(value) -> Frag:
    return Frag("%s", (value,))


NULL = Frag("NULL")


def compile_formula(
    formula: TypedFormula, vendor: str, column_sql: Callable[[FieldSpec], Frag | str]
) -> Frag:
    """The SQL value expression of `formula` for database `vendor` ('postgresql', 'mysql', 'sqlite')."""
    from bases.query.formula.dialects import COMPILERS

    return COMPILERS[vendor](column_sql).value(formula.tree)


class FormulaCompiler:
    """Three views of a node: `value` (its SQL value), `pred` (a condition), `text` (as text)."""

    def __init__(self, column_sql: Callable[[FieldSpec], Frag | str]):
        self.column_sql = column_sql

    # --- values ---------------------------------------------------------------------------
    def value(self, node: ast.Node) -> Frag:
        if node.type is FType.BLANK:
            return NULL
        if isinstance(node, ast.Number):
            return Frag(node.text)
        if isinstance(node, ast.String):
            if node.type is not None and node.type.is_temporal:
                return self.date_literal(node.value)
            return self.string(node.value)
        if isinstance(node, ast.Boolean):
            return Frag("TRUE" if node.value else "FALSE")
        if isinstance(node, ast.FieldRef):
            if node.expansion is not None:
                return fmt("({})", self.value(node.expansion))
            column = self.column_sql(node.spec)
            return column if isinstance(column, Frag) else Frag(column)
        if isinstance(node, ast.Unary):
            operand = self.value(node.operand)
            return operand if node.op == "+" else fmt("(-{})", operand)
        if isinstance(node, ast.Binary):
            if node.op in ("+", "-", "*"):
                return fmt(
                    f"({{}} {node.op} {{}})",
                    self.value(node.left),
                    self.value(node.right),
                )
            if node.op == "/":
                return self.divide(self.value(node.left), self.value(node.right))
            if node.op == "&":
                return self.concat([node.left, node.right])
            return self.pred(node)
        if isinstance(node, ast.Call):
            return getattr(self, f"fn_{node.name.lower()}")(node, *node.args)
        raise TypeError(node)

    def string(self, value: str) -> Frag:
        return param(value)

    def date_literal(self, text: str) -> Frag:
        value = parse_date_literal(text)
        if isinstance(value, dt.datetime):
            return self.date_param(value.isoformat(sep=" "), True)
        return self.date_param(value.isoformat(), False)

    def date_param(self, iso: str, with_time: bool) -> Frag:
        return param(iso)

    def divide(self, left: Frag, right: Frag) -> Frag:
        return fmt("({} / NULLIF({}, 0))", left, right)

    def as_type(self, node: ast.Node, wanted: FType) -> Frag:
        """`node`'s value converted to the type of the expression it is a branch of."""
        if wanted is FType.TEXT and node.type is not FType.TEXT:
            return self.text(node)
        return self.value(node)

    # --- conditions -----------------------------------------------------------------------
    def pred(self, node: ast.Node) -> Frag:
        if isinstance(node, ast.Boolean):
            return Frag("TRUE" if node.value else "FALSE")
        if isinstance(node, ast.FieldRef) and node.expansion is not None:
            return fmt("({})", self.pred(node.expansion))
        if isinstance(node, ast.Binary) and node.op in ("&&", "||"):
            word = "AND" if node.op == "&&" else "OR"
            return fmt(
                f"({{}} {word} {{}})", self.pred(node.left), self.pred(node.right)
            )
        if isinstance(node, ast.Binary) and node.op in (
            "=",
            "!=",
            "<",
            "<=",
            ">",
            ">=",
        ):
            return self.compare(node.op, node.left, node.right)
        if isinstance(node, ast.Call) and node.name in ("AND", "OR", "NOT", "ISBLANK"):
            return self.value(node)
        # Conditions are two-valued, as in a spreadsheet: a blank is false, never "unknown".
        kind = node.type
        if kind is FType.BLANK:
            return Frag("FALSE")
        if kind is FType.BOOLEAN:
            return self.truth(self.value(node))
        if kind is FType.NUMBER:
            return fmt("COALESCE({} <> 0, FALSE)", self.value(node))
        if kind is FType.TEXT:
            return fmt("COALESCE({} <> '', FALSE)", self.value(node))
        return fmt("({} IS NOT NULL)", self.value(node))

    def truth(self, boolean_value: Frag) -> Frag:
        """A true/false value (a boolean column, a formula's result) as a condition."""
        return fmt("(COALESCE({}, 0) <> 0)", boolean_value)

    def compare(self, op: str, left: ast.Node, right: ast.Node) -> Frag:
        for blank, other in ((left, right), (right, left)):
            if blank.type is FType.BLANK:
                test = self.isblank(other)
                return test if op == "=" else fmt("(NOT {})", test)
        return fmt(
            f"COALESCE({{}} {op} {{}}, FALSE)", self.value(left), self.value(right)
        )

    def isblank(self, node: ast.Node) -> Frag:
        if node.type is FType.BLANK:
            return Frag("TRUE")
        value = self.value(node)
        if node.type is FType.TEXT:
            return fmt("({} IS NULL OR {} = '')", value, value)
        return fmt("({} IS NULL)", value)

    # --- text -----------------------------------------------------------------------------
    def text(self, node: ast.Node) -> Frag:
        kind = node.type
        if kind is FType.TEXT:
            return self.value(node)
        if kind is FType.BLANK:
            return NULL
        if kind is FType.NUMBER:
            return self.number_text(self.value(node))
        if kind is FType.DATE:
            return self.date_text(self.value(node))
        if kind is FType.DATETIME:
            return self.datetime_text(self.value(node))
        return fmt("(CASE WHEN {} THEN 'true' ELSE 'false' END)", self.pred(node))

    def number_text(self, value: Frag) -> Frag:
        return fmt("CAST({} AS TEXT)", value)

    def concat(self, nodes: list[ast.Node]) -> Frag:
        parts = [fmt("COALESCE({}, '')", self.text(node)) for node in nodes]
        return fmt("({})", join(parts, " || "))

    # --- functions: numbers ----------------------------------------------------------------
    def fn_round(self, node, x, digits=None):
        return fmt(
            "ROUND({}, {})", self.value(x), self.value(digits) if digits else Frag("0")
        )

    def fn_abs(self, node, x):
        return fmt("ABS({})", self.value(x))

    def fn_ceiling(self, node, x):
        return fmt("CEILING({})", self.value(x))

    def fn_floor(self, node, x):
        return fmt("FLOOR({})", self.value(x))

    def fn_mod(self, node, a, b):
        return fmt("MOD({}, NULLIF({}, 0))", self.value(a), self.value(b))

    def fn_power(self, node, base, exponent):
        a, b = self.value(base), self.value(exponent)
        # NULL where the database would raise: a complex result, 0 to a negative power, overflow.
        return fmt(
            "(CASE WHEN {} < 0 AND {} <> FLOOR({}) THEN NULL"
            " WHEN {} = 0 AND {} < 0 THEN NULL"
            " WHEN {} <> 0 AND ABS({} * LN(ABS({}))) > 600 THEN NULL"
            " ELSE POWER({}, {}) END)",
            a,
            b,
            b,
            a,
            b,
            a,
            b,
            a,
            a,
            b,
        )

    def fn_sqrt(self, node, x):
        value = self.value(x)
        return fmt("(CASE WHEN {} >= 0 THEN SQRT({}) END)", value, value)

    def fn_min(self, node, *xs):
        return self.extreme("LEAST", "MIN", xs)

    def fn_max(self, node, *xs):
        return self.extreme("GREATEST", "MAX", xs)

    def extreme(self, sql_name: str, sqlite_name: str, xs) -> Frag:
        """The least/greatest of values, blanks ignored (NULL only when all are blank)."""
        values = [self.value(x) for x in xs]
        if len(values) == 1:
            return values[0]
        # COALESCE(a, b, c), COALESCE(b, c, a), …: each slot is its own value or another non-blank.
        rotated = [
            fmt("COALESCE({})", join(values[i:] + values[:i], ", "))
            for i in range(len(values))
        ]
        return fmt(
            f"{self.extreme_name(sql_name, sqlite_name)}({{}})", join(rotated, ", ")
        )

    def extreme_name(self, sql_name: str, sqlite_name: str) -> str:
        return sql_name

    def fn_sum(self, node, *xs):
        return fmt(
            "({})", join([fmt("COALESCE({}, 0)", self.value(x)) for x in xs], " + ")
        )

    def fn_avg(self, node, *xs):
        values = [self.value(x) for x in xs]
        total = join([fmt("COALESCE({}, 0)", v) for v in values], " + ")
        count = join(
            [fmt("(CASE WHEN {} IS NULL THEN 0 ELSE 1 END)", v) for v in values], " + "
        )
        return self.divide(fmt("({})", total), fmt("({})", count))

    # --- functions: text --------------------------------------------------------------------
    def fn_concat(self, node, *xs):
        return self.concat(list(xs))

    def fn_left(self, node, s, n):
        return fmt("LEFT({}, {})", self.text(s), self.value(n))

    def fn_right(self, node, s, n):
        return fmt("RIGHT({}, {})", self.text(s), self.value(n))

    def fn_mid(self, node, s, start, count):
        return fmt(
            "SUBSTR({}, {}, {})", self.text(s), self.value(start), self.value(count)
        )

    def fn_len(self, node, s):
        return fmt("CHAR_LENGTH({})", self.text(s))

    def fn_lower(self, node, s):
        return fmt("LOWER({})", self.text(s))

    def fn_upper(self, node, s):
        return fmt("UPPER({})", self.text(s))

    def fn_trim(self, node, s):
        return fmt("TRIM({})", self.text(s))

    def fn_substitute(self, node, s, old, new):
        return fmt("REPLACE({}, {}, {})", self.text(s), self.text(old), self.text(new))

    fn_replace = fn_substitute

    def fn_search(self, node, s, needle):
        return fmt("INSTR({}, {})", self.text(s), self.text(needle))

    def fn_repeat(self, node, s, n):
        text, count = self.text(s), self.value(n)
        capped = fmt(
            f"LEAST(GREATEST({{}}, 0), FLOOR({MAX_REPEAT_CHARS} / GREATEST({{}}, 1)))",
            count,
            self.length(text),
        )
        return fmt("REPEAT({}, {})", text, self.integer(capped))

    def length(self, text: Frag) -> Frag:
        return fmt("CHAR_LENGTH({})", text)

    def integer(self, value: Frag) -> Frag:
        return fmt("CAST({} AS INTEGER)", value)

    def fn_url(self, node, s):
        return self.text(s)

    # --- functions: logic -------------------------------------------------------------------
    def fn_if(self, node, condition, then, otherwise=None):
        kind = node.type
        return fmt(
            "(CASE WHEN {} THEN {} ELSE {} END)",
            self.pred(condition),
            self.as_type(then, kind),
            self.as_type(otherwise, kind) if otherwise is not None else NULL,
        )

    def fn_switch(self, node, subject, *rest):
        kind = node.type
        whens = [
            fmt(
                "WHEN {} THEN {}",
                self.compare("=", subject, rest[i]),
                self.as_type(rest[i + 1], kind),
            )
            for i in range(0, len(rest) - 1, 2)
        ]
        default = self.as_type(rest[-1], kind) if len(rest) % 2 else NULL
        return fmt("(CASE {} ELSE {} END)", join(whens, " "), default)

    def fn_and(self, node, *xs):
        return fmt("({})", join([self.pred(x) for x in xs], " AND "))

    def fn_or(self, node, *xs):
        return fmt("({})", join([self.pred(x) for x in xs], " OR "))

    def fn_not(self, node, x):
        return fmt("(NOT {})", self.pred(x))

    def fn_blank(self, node):
        return NULL

    def fn_isblank(self, node, x):
        return self.isblank(x)

    # --- functions: dates -------------------------------------------------------------------
    def fn_dateadd(self, node, date, amount, unit):
        return self.date_add(
            self.value(date), self.value(amount), DATEADD_UNITS[unit.value], node.type
        )

    def fn_datetime_diff(self, node, a, b, unit=None):
        canonical = DIFF_UNITS[unit.value] if unit is not None else "second"
        return self.date_diff(self.value(a), self.value(b), canonical)

    def fn_weekday(self, node, date, start=None):
        offset = WEEKDAYS[start.value] if start is not None else 0
        return fmt(f"MOD({{}} + {7 - offset}, 7)", self.monday_index(self.value(date)))

    def fn_datestr(self, node, date):
        return self.date_text(self.value(date))

    def fn_day(self, node, date):
        return self.date_part("day", self.value(date))

    def fn_month(self, node, date):
        return self.date_part("month", self.value(date))

    def fn_year(self, node, date):
        return self.date_part("year", self.value(date))


SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}
