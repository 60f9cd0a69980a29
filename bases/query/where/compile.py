"""A `where` tree compiled to SQL for one dialect.

    sql, params = compile_where(node, resolve=meta.resolve, dialect=dialect_for(conn))

The compiler resolves field names, checks each value against its field's type and emits SQL
whose only user-controlled parts are `%s` parameters. What differs between databases (LIKE,
text equality, value binding) is asked of the dialect (bases/query/dialects). The rules (what
`blank` means, how NULL is treated, case sensitivity...) are in docs/where.md.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from bases.fieldtypes import named as field_type_named
from bases.query.cursors import keyset_after
from bases.query.dialects import Dialect, dialect_for
from bases.query.where.nodes import (
    After,
    And,
    Condition,
    KeysIn,
    LinkedTo,
    Not,
    Or,
    WhereNode,
)
from bases.query.where.values import (
    BOOL,
    COLUMN_KINDS,
    DATE,
    DATETIME,
    DURATION,
    JSON,
    NUMBER,
    ORDERED_KINDS,
    OTHER,
    TEXT,
    TIME,
    UUID,
    ValueReader,
    bad_value,
    shift_days,
)
from nocoplatform.errors import InvalidInput

# `%s` placeholders of pieces with parameters (`%%` is a literal %), and the markers `p` writes.
_PLACEHOLDER = re.compile(r"%%|%s")
_MARKER = re.compile("\x00(\\d+)\x00")


class _Compiler(ValueReader):
    def __init__(self, resolve, dialect: Dialect, quote, today, me=None, own=None):
        self.resolve = resolve
        self.me = me
        self.dialect = dialect
        self.quote = quote
        self.own = own
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
        if isinstance(node, KeysIn):
            return self.fragment(self.dialect.keys_in(list(node.pk), list(node.keys)))
        if isinstance(node, After):
            d = self.dialect
            return self.fragment(
                keyset_after(
                    d,
                    [
                        (self.column(f), desc, f.is_nullable and not f.is_pk)
                        for f, desc in node.order
                    ],
                    [
                        d.to_db(f, v)
                        for (f, _), v in zip(node.order, node.values, strict=True)
                    ],
                )
            )
        if isinstance(node, LinkedTo):
            return self.linked_to(node)
        raise TypeError(f"not a where node: {node!r}")

    def p(self, value: Any) -> str:
        """A placeholder for `value`: a marker numbering it, turned into `%s` once the whole
        condition is written, with the parameters in the order the markers appear. So a
        column that carries its own parameters (a computed field's expression) may be
        written any number of times, before or after the values it is compared with."""
        self.params.append(value)
        return f"\x00{len(self.params) - 1}\x00"

    def fragment(self, piece: tuple[str, list]) -> str:
        """A (sql, params) piece with `%s` placeholders, its parameters kept in text order."""
        sql, params = piece
        if not params:
            return sql
        values = iter(params)
        return _PLACEHOLDER.sub(
            lambda m: "%%" if m.group() == "%%" else self.p(next(values)), sql
        )

    def column(self, field) -> str:
        """`field`'s value in the condition: its quoted column, or a computed field's
        expression (bases/query/expressions.py)."""
        if field_type_named(getattr(field, "uidt", "")).computed:
            from bases.query.expressions import field_sql

            frag = field_sql(self.dialect, field, self.own)
            return self.fragment((frag.sql, list(frag.params)))
        return self.quote(field.column_name)

    def finish(self, sql: str) -> tuple[str, list]:
        """The condition with `%s` placeholders and its parameters in text order."""
        ordered: list = []

        def take(match):
            ordered.append(self.params[int(match.group(1))])
            return "%s"

        return _MARKER.sub(take, sql), ordered

    def linked_to(self, node: LinkedTo) -> str:
        """The related table's rows linked to one record (`node.value`: that record's own
        key column for the link)."""
        q, o = self.quote, node.link.options
        if node.value is None:
            return "1 = 0"
        relation = o.get("relation")
        if relation == "bt":
            return f"{q(o['ref_column'])} = {self.p(node.value)}"
        if relation == "hm":
            return f"{q(o['fk_column'])} = {self.p(node.value)}"
        from bases.models import Table

        junction = Table.objects.get(pk=o["junction_table_id"])
        return (
            f"{q(o['other_ref_column'])} IN (SELECT {q(o['other_column'])} "
            f"FROM {q(junction.table_name)} WHERE {q(o['self_column'])} = "
            f"{self.p(node.value)})"
        )

    # ---- fields
    def kind_of(self, field) -> str:
        ftype = field_type_named(getattr(field, "uidt", ""))
        if ftype.is_boolean:
            return BOOL
        column_type = ftype.filter_column_type(field) if ftype.uidt else None
        column_type = column_type or getattr(field, "column_type", None)
        return COLUMN_KINDS.get(column_type or "other", OTHER)

    def unsupported(self, field, op: str, kind: str) -> InvalidInput:
        return InvalidInput(
            f"Operator '{op}' is not supported for field '{field.title}' "
            f"({field.uidt}, {kind}).",
            code="OPERATOR_NOT_SUPPORTED",
        )

    def condition(self, cond: Condition) -> str:
        field = self.resolve(cond.field)
        ftype = field_type_named(getattr(field, "uidt", ""))
        if ftype.is_link or not (getattr(field, "column_name", "") or ftype.computed):
            raise InvalidInput(
                f"Filtering on '{field.title}' ({field.uidt}) is not supported yet.",
                code="FILTER_NOT_SUPPORTED",
            )
        kind = self.kind_of(field)
        col = self.column(field)
        op, value = cond.op, cond.value
        only = field_type_named(getattr(field, "uidt", "")).filter_ops_only(field)
        if only is not None and op not in only:
            raise self.unsupported(field, op, kind)
        if self.me is not None and field_type_named(field.uidt).holds_users:
            value = _swap_me(value, self.me)

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
            if kind not in ORDERED_KINDS:
                raise self.unsupported(field, op, kind)
            return self.compare(field, col, kind, op, value)
        if op == "in":
            return self.in_list(field, col, kind, value)
        if op in ("btw", "nbtw"):
            if kind not in ORDERED_KINDS:
                raise self.unsupported(field, op, kind)
            low, high = value
            sql = (
                f"{self.compare(field, col, kind, 'ge', low)} AND "
                f"{self.compare(field, col, kind, 'le', high)}"
            )
            return sql if op == "btw" else f"{col} IS NULL OR NOT ({sql})"
        raise InvalidInput(f"Unknown operator '{op}'.", code="UNKNOWN_OPERATOR")

    # ---- text and sets
    def length(self, col: str) -> str:
        return self.dialect.length(col)

    def checked(self, col: str, checked: bool) -> str:
        if checked:
            return f"{col} = {self.p(True)}"
        return f"{col} IS NULL OR {col} = {self.p(False)}"

    def text_eq(self, col: str, value: str) -> str:
        return self.dialect.text_eq(col, value, self.p)

    def like(self, col: str, value: str) -> str:
        return self.dialect.like(col, value, self.p)

    def contains_option(self, col: str, option: str) -> str:
        return self.dialect.contains_option(col, f",{option},", self.p)

    def select_set(self, field, col: str, kind: str, op: str, values) -> str:
        ftype = field_type_named(getattr(field, "uidt", ""))
        if kind != TEXT or not (ftype.has_choices or ftype.holds_users):
            raise self.unsupported(field, op, kind)
        options = [v for v in values if v != ""]
        if not options:
            raise bad_value(f"Operator '{op}' needs at least one option.")
        for option in options:
            if "," in option:
                raise bad_value(f"Options cannot contain commas: '{option}'.")
        if ftype.multiple:
            tests = [self.contains_option(col, o) for o in options]
        else:
            tests = [self.text_eq(col, o) for o in options]
        joiner = " AND " if op in ("allof", "nallof") else " OR "
        sql = joiner.join(f"({t})" for t in tests)
        if op in ("allof", "anyof"):
            return sql
        return f"{col} IS NULL OR NOT ({sql})"

    # ---- dates
    def bind_date(self, day: dt.date):
        return self.dialect.bind_date(day)

    def bind_instant(self, moment: dt.datetime):
        return self.dialect.bind_instant(moment)

    def day_range(self, col: str, kind: str, lo: dt.date, hi: dt.date) -> str:
        """lo <= col's day <= hi."""
        if kind == DATE:
            return f"{col} >= {self.p(self.bind_date(lo))} AND {col} <= {self.p(self.bind_date(hi))}"
        end = self.day_start(shift_days(hi, 1))
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
            bound = self.day_start(shift_days(v, 1))
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
            return self.dialect.uuid_equals(col, self.uuid_value(field, value), self.p)
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
            kind == TEXT and not self.dialect.text_in_list
        ):
            if kind == TEXT:
                bound = list(values)
            else:
                bound = [self.scalar(field, kind, v) for v in values]
            return f"{col} IN ({', '.join(self.p(v) for v in bound)})"
        return " OR ".join(f"({self.equals(field, col, kind, v)})" for v in values)


ME = "@me"


def _swap_me(value, me: str):
    """`@me` (any case) in a user field's filter value -> the caller's user id. Without a
    caller it stays `@me`, which no stored id equals: "is me" then matches no row."""
    if isinstance(value, str):
        return me if value.strip().lower() == ME else value
    if isinstance(value, (list, tuple)):
        return type(value)(_swap_me(v, me) for v in value)
    return value


def compile_where(
    node: WhereNode | None,
    *,
    resolve: Callable[[str], Any],
    vendor: str | None = None,
    dialect: Dialect | None = None,
    quote: Callable[[str], str] | None = None,
    today: dt.date | None = None,
    me: str | None = None,
    own: str | None = None,
) -> tuple[str, list]:
    """SQL (with %s placeholders) and its parameters for a `where` tree.

    `resolve(name)` returns the Field named (title first, then column name) or raises
    InvalidInput(code="FIELD_NOT_FOUND"); `dialect` (or a `vendor` name: "postgresql",
    "mysql" or "sqlite") says which SQL; `quote` quotes identifiers, by default the dialect's
    own quoting; `today` (UTC by default) anchors the date sub-operators; `me` is the user id
    `@me` stands for in filters on user fields; `own` is how the statement reads the table,
    for computed fields (bases/query/expressions.py; by default the quoted table name). No
    node compiles to an always-true condition.
    """
    if node is None:
        return "1 = 1", []
    dialect = dialect or dialect_for(vendor)
    compiler = _Compiler(resolve, dialect, quote or dialect.quote, today, me, own)
    return compiler.finish(f"({compiler.node(node)})")
