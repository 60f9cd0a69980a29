"""Syntax tree → typed tree: names resolved, argument types checked, result type inferred.

Runs when a formula is saved (and when a field it uses changes), so every error a person can make
is found there, with its position: an unknown field or function, a wrong argument type, a circular
reference. A formula that uses another formula gets that formula's checked tree in place
(`FieldRef.expansion`), so the SQL compiler sees one expression.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bases.formula import ast
from bases.formula.errors import FormulaError
from bases.formula.functions import FUNCTIONS, signature
from bases.formula.parser import parse
from bases.formula.types import FType, unify

# Formulas that use formulas are expanded in place; this bounds the expanded size (A = B + B,
# B = C + C, … would otherwise double at each level).
MAX_EXPANDED_NODES = 20_000

_DATE_LITERAL = re.compile(
    r"^\d{4}[-/]\d{1,2}[-/]\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2})?)?$"
)


@dataclass(frozen=True)
class FieldSpec:
    """What the checker needs to know of a field a formula may name."""

    title: str
    type: FType
    formula: str | None = None  # set for formula fields: checked and expanded in place
    key: object = None  # the caller's handle for the field (its column, its id…)


@dataclass
class TypedFormula:
    tree: ast.Node
    type: FType
    refs: set[str] = field(default_factory=set)  # titles named directly
    display: str = ""  # "url" when the result is a link

    @property
    def result_type(self) -> FType:
        # A formula that is only BLANK() shows as empty text.
        return FType.TEXT if self.type is FType.BLANK else self.type


def check(
    text: str,
    fields: Callable[[str], FieldSpec | None] | dict[str, FieldSpec],
    *,
    title: str | None = None,
    _stack: tuple[str, ...] = (),
    _budget: list[int] | None = None,
) -> TypedFormula:
    """The typed tree of formula `text` of field `title`, or a FormulaError with a position."""
    lookup = fields.get if isinstance(fields, dict) else fields
    names = list(fields) if isinstance(fields, dict) else []
    checker = _Checker(
        lookup, names, (*_stack, title) if title else _stack, _budget or [0]
    )
    tree = parse(text)
    checker.visit(tree)
    display = "url" if isinstance(tree, ast.Call) and tree.name == "URL" else ""
    return TypedFormula(tree, tree.type, checker.refs, display)


def parse_date_literal(value: str) -> dt.datetime | dt.date | None:
    """A literal like "2026-12-24" or "2026/12/24 10:30", or None when it is not a date."""
    if not _DATE_LITERAL.match(value.strip()):
        return None
    text = value.strip().replace("/", "-").replace("T", " ")
    try:
        if " " in text:
            day, time = text.split(" ")
            parts = [int(p) for p in day.split("-")] + [int(p) for p in time.split(":")]
            return dt.datetime(*parts)
        return dt.date(*(int(p) for p in text.split("-")))
    except ValueError:
        return None


class _Checker:
    def __init__(self, lookup, names, stack, budget):
        self.lookup = lookup
        self.names = names
        self.stack = stack
        self.budget = budget
        self.refs: set[str] = set()

    def visit(self, node: ast.Node) -> FType:
        self.budget[0] += 1
        if self.budget[0] > MAX_EXPANDED_NODES:
            raise FormulaError(
                "The formula is too complex once the formulas it uses are included.",
                node.pos,
                code="FORMULA_TOO_LONG",
            )
        method = getattr(self, f"visit_{type(node).__name__.lower()}")
        node.type = method(node)
        return node.type

    def visit_number(self, node: ast.Number) -> FType:
        if not math.isfinite(float(node.text)):
            raise FormulaError(
                "This number is too large.", node.pos, code="FORMULA_TYPE"
            )
        return FType.NUMBER

    def visit_string(self, node: ast.String) -> FType:
        return FType.TEXT

    def visit_boolean(self, node: ast.Boolean) -> FType:
        return FType.BOOLEAN

    def visit_fieldref(self, node: ast.FieldRef) -> FType:
        spec = self.lookup(node.title)
        if spec is None:
            close = difflib.get_close_matches(node.title, self.names, n=1)
            hint = f" Did you mean {{{close[0]}}}?" if close else ""
            raise FormulaError(
                f"There is no field named {{{node.title}}}.{hint}",
                node.pos,
                code="FORMULA_UNKNOWN_FIELD",
            )
        self.refs.add(spec.title)
        node.spec = spec
        if spec.formula is None:
            return spec.type
        if spec.title in self.stack:
            cycle = " → ".join(f"{{{t}}}" for t in (*self.stack, spec.title))
            raise FormulaError(
                f"Circular reference: {cycle}.", node.pos, code="FORMULA_CIRCULAR"
            )
        try:
            inner = check(
                spec.formula,
                self.lookup,
                title=spec.title,
                _stack=self.stack,
                _budget=self.budget,
            )
        except FormulaError as error:
            if error.code in ("FORMULA_CIRCULAR", "FORMULA_TOO_LONG"):
                raise FormulaError(error.text, node.pos, code=error.code) from None
            raise FormulaError(
                f"The formula of field {{{spec.title}}} is invalid: {error.text}",
                node.pos,
                code="FORMULA_INVALID_REFERENCE",
            ) from None
        node.expansion = inner.tree
        return inner.type

    def visit_unary(self, node: ast.Unary) -> FType:
        self.expect(node.operand, "number", f"'{node.op}'")
        return FType.NUMBER

    def visit_binary(self, node: ast.Binary) -> FType:
        left, right = self.visit(node.left), self.visit(node.right)
        op = node.op
        if op in ("+", "-", "*", "/"):
            for side, kind in ((node.left, left), (node.right, right)):
                if kind is FType.TEXT and op == "+":
                    raise FormulaError(
                        "'+' adds numbers: join text with & or CONCAT().",
                        node.pos,
                        code="FORMULA_TYPE",
                    )
                if kind.is_temporal:
                    hint = (
                        "DATEADD()"
                        if op in "+-" and left.is_temporal != right.is_temporal
                        else "DATETIME_DIFF()"
                    )
                    raise FormulaError(
                        f"'{op}' works on numbers, not dates: use {hint}.",
                        side.pos,
                        code="FORMULA_TYPE",
                    )
                self.require(side, kind, "number", f"'{op}'")
            return FType.NUMBER
        if op == "&":
            return FType.TEXT
        if op in ("&&", "||"):
            self.require(node.left, left, "bool", f"'{op}'")
            self.require(node.right, right, "bool", f"'{op}'")
            return FType.BOOLEAN
        self.comparable(node, node.left, node.right)
        return FType.BOOLEAN

    def comparable(self, at: ast.Node, a: ast.Node, b: ast.Node) -> None:
        """`a` and `b` can be compared (=, <, SWITCH cases); raise a FormulaError if not."""
        ta, tb = a.type, b.type
        if FType.BLANK in (ta, tb) or ta == tb:
            if (
                FType.BLANK in (ta, tb)
                and isinstance(at, ast.Binary)
                and at.op not in ("=", "!=")
            ):
                raise FormulaError(
                    "A blank value can only be compared with = or !=.",
                    at.pos,
                    code="FORMULA_TYPE",
                )
            return
        if ta.is_temporal and tb.is_temporal:
            return
        for date_side, other in ((a, b), (b, a)):
            if date_side.type.is_temporal and self.date_literal(other):
                return
        raise FormulaError(
            f"Cannot compare {ta.label} with {tb.label}.", at.pos, code="FORMULA_TYPE"
        )

    def date_literal(self, node: ast.Node) -> bool:
        if isinstance(node, ast.String) and parse_date_literal(node.value) is not None:
            node.type = FType.DATETIME if ":" in node.value else FType.DATE
            return True
        return False

    def visit_call(self, node: ast.Call) -> FType:
        fn = FUNCTIONS.get(node.name)
        if fn is None:
            close = difflib.get_close_matches(node.name, list(FUNCTIONS), n=1)
            hint = f" Did you mean {close[0]}()?" if close else ""
            raise FormulaError(
                f"Unknown function {node.name}().{hint}",
                node.pos,
                code="FORMULA_UNKNOWN_FUNCTION",
            )
        count = len(node.args)
        most = None if fn.variadic else len(fn.params)
        if count < fn.required or (most is not None and count > most):
            raise FormulaError(
                f"{node.name}() takes {_count(fn.required, most)}, not {count}: {signature(node.name)}.",
                node.pos,
                code="FORMULA_ARGUMENTS",
            )
        special = getattr(self, f"call_{node.name.lower()}", None)
        if special is not None:
            return special(node)
        for index, arg in enumerate(node.args):
            kind = fn.params[min(index, len(fn.params) - 1)]
            if kind == "unit":
                self.unit(node, arg, fn.units)
            else:
                self.expect(arg, kind, f"{node.name}()")
        return fn.result

    def call_if(self, node: ast.Call) -> FType:
        self.expect(node.args[0], "bool", "IF()")
        branches = [self.visit(arg) for arg in node.args[1:]] or [FType.BLANK]
        result = branches[0] if len(branches) == 1 else unify(*branches)
        if result is None:
            raise FormulaError(
                f"IF() gives {branches[0].label} in one case and {branches[1].label} in the other.",
                node.args[2].pos,
                code="FORMULA_TYPE",
            )
        return result

    def call_switch(self, node: ast.Call) -> FType:
        subject, rest = node.args[0], node.args[1:]
        self.visit(subject)
        pairs = [rest[i : i + 2] for i in range(0, len(rest) - len(rest) % 2, 2)]
        result = FType.BLANK
        for case, value in pairs:
            self.visit(case)
            self.comparable(case, subject, case)
            result = self.merge(result, value, "SWITCH()")
        if len(rest) % 2:
            result = self.merge(result, rest[-1], "SWITCH()")
        return result

    def merge(self, so_far: FType, node: ast.Node, where: str) -> FType:
        kind = self.visit(node)
        merged = unify(so_far, kind)
        if merged is None:
            raise FormulaError(
                f"{where} gives {so_far.label} in one case and {kind.label} in another.",
                node.pos,
                code="FORMULA_TYPE",
            )
        return merged

    def call_dateadd(self, node: ast.Call) -> FType:
        date, amount, unit = node.args
        kind = self.expect(date, "date", "DATEADD()")
        self.expect(amount, "number", "DATEADD()")
        canonical = self.unit(node, unit, FUNCTIONS["DATEADD"].units)
        if kind is FType.DATE and canonical not in ("second", "minute", "hour"):
            return FType.DATE
        return FType.DATETIME

    def unit(self, call: ast.Call, arg: ast.Node, units: dict) -> str:
        if not isinstance(arg, ast.String) or arg.value not in units:
            names = (
                units.values()
                if all(isinstance(v, str) for v in units.values())
                else units
            )
            choices = ", ".join(f'"{u}"' for u in dict.fromkeys(names))
            raise FormulaError(
                f"{call.name}() needs one of {choices} here, in quotes.",
                arg.pos,
                code="FORMULA_ARGUMENTS",
            )
        arg.type = FType.TEXT
        return units[arg.value]

    def expect(self, node: ast.Node, kind: str, where: str) -> FType:
        got = self.visit(node)
        self.require(node, got, kind, where)
        return node.type  # a date literal's type is DATE or DATETIME once recognised

    def require(self, node: ast.Node, got: FType, kind: str, where: str) -> None:
        if got is FType.BLANK or kind in ("any", "text"):
            return
        if kind == "number" and got is FType.NUMBER:
            return
        if kind == "bool" and got in (FType.BOOLEAN, FType.NUMBER, FType.TEXT):
            return
        if kind == "date" and (got.is_temporal or self.date_literal(node)):
            return
        wanted = {"number": "a number", "bool": "true/false", "date": "a date"}[kind]
        hint = ""
        if kind == "date" and isinstance(node, ast.String):
            hint = ' Write dates as "YYYY-MM-DD" or "YYYY-MM-DD HH:MM".'
        raise FormulaError(
            f"{where} needs {wanted} here, not {got.label}.{hint}",
            node.pos,
            code="FORMULA_TYPE",
        )


def _count(least: int, most: int | None) -> str:
    if most is None:
        return f"at least {least} argument{'s' * (least != 1)}"
    if least == most:
        return f"{least} argument{'s' * (least != 1)}"
    return f"{least} to {most} arguments"
