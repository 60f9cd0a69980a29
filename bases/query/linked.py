"""Values read through links: the correlated subqueries of lookups, rollups and counts.

A lookup, rollup or count field is one scalar subquery in the statement over its table: it
reads the linked rows of each row (belongs-to, has-many or many-to-many through the junction),
so a page of 25 or of 1,000 rows is still one statement, and a filter or sort on the field is
done by the database. A path of several links (a lookup of a lookup) is one subquery whose FROM
joins each hop, so a lookup over two has-many links is one flat list, not a list of lists.

    source(ctx, hops, first_key)              -> Source (FROM + WHERE, the last table's context)
    aggregate(ctx, hops, first_key, value, fn) -> Frag  (sum, avg, min, max, count, ...)
    value_list(ctx, hops, first_key, value)   -> Frag  (JSON array text, via the dialect)

Names come from metadata and go through the dialect's quoting; values are bound parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bases.query.expressions import ExprContext
from bases.query.formula.compiler import Frag, fmt


@dataclass(frozen=True)
class Hop:
    """One link followed from the rows on its left to the linked table's rows.

    bt: the left rows hold `fk_column`, the linked table's `ref_column` is what it points at.
    hm: the linked rows hold `fk_column`, pointing at the left rows' `ref_column`.
    mm: `junction` rows pair `self_column` (-> left `ref_column`) with `other_column`
        (-> linked `other_ref_column`).
    """

    relation: str
    table: str
    fk_column: str = ""
    ref_column: str = ""
    junction: str = ""
    self_column: str = ""
    other_column: str = ""
    other_ref_column: str = ""
    # The linked table's primary key: lists come out in this order.
    order: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    sql: Frag  # " FROM … WHERE …"
    ctx: ExprContext  # reads the last hop's table
    order: tuple[str, ...]  # qualified key columns, hop by hop


def source(ctx: ExprContext, hops: list[Hop], first_key: Frag) -> Source:
    """The rows linked to the row `ctx` reads, over `hops`. `first_key`: the own row's column
    the first link joins on (its foreign key for belongs-to, the referenced key otherwise),
    read through `ctx.column` so a derived table around the page selects it."""
    q = ctx.dialect.quote
    tables, conditions, order = [], [], []
    left, cur = None, ctx
    for hop in hops:
        alias, nxt = cur.subquery()
        own_col = hop.fk_column if hop.relation == "bt" else hop.ref_column
        # The first condition ends with the own row's key, spliced in below.
        left_key = "" if left is None else f"{left}.{q(own_col)}"
        if hop.relation == "bt":
            tables.append(f"{q(hop.table)} {alias}")
            conditions.append(f"{alias}.{q(hop.ref_column)} = {left_key}")
        elif hop.relation == "hm":
            tables.append(f"{q(hop.table)} {alias}")
            conditions.append(f"{alias}.{q(hop.fk_column)} = {left_key}")
        else:
            junction = q(f"noco_j{nxt.depth}")
            tables += [f"{q(hop.junction)} {junction}", f"{q(hop.table)} {alias}"]
            conditions += [
                f"{junction}.{q(hop.self_column)} = {left_key}",
                f"{alias}.{q(hop.other_ref_column)} = {junction}.{q(hop.other_column)}",
            ]
        order += [f"{alias}.{q(c)}" for c in hop.order]
        left, cur = alias, nxt
    # Names are spliced as text (never as fmt templates: a name may hold "{}").
    rest = "".join(f" AND {c}" for c in conditions[1:])
    head = f" FROM {', '.join(tables)} WHERE {conditions[0]}"
    sql = Frag(head + first_key.sql + rest, first_key.params)
    return Source(sql, cur, tuple(order))


# NocoDB's rollup functions (and `concat`, joined text in link order).
ROLLUP_FUNCTIONS = (
    "count",
    "countDistinct",
    "sum",
    "sumDistinct",
    "avg",
    "avgDistinct",
    "min",
    "max",
    "concat",
)
CONCAT_SEPARATOR = ", "

_AGGREGATE_SQL = {
    "count": "COUNT({})",
    "countDistinct": "COUNT(DISTINCT {})",
    "sum": "SUM({})",
    "sumDistinct": "SUM(DISTINCT {})",
    "avg": "AVG({})",
    "avgDistinct": "AVG(DISTINCT {})",
    "min": "MIN({})",
    "max": "MAX({})",
}


def aggregate(
    ctx: ExprContext,
    hops: list[Hop],
    first_key: Frag,
    value: Callable[[ExprContext], Frag],
    fn: str,
) -> Frag:
    """`fn` over `value` (read in the last hop's context) of the linked rows. Counts of no rows
    are 0; sum, avg, min and max of no rows (or of NULLs only) are NULL, as in SQL and NocoDB."""
    src = source(ctx, hops, first_key)
    v = value(src.ctx)
    if fn == "concat":
        return ctx.dialect.text_list(v, src.sql, src.order, CONCAT_SEPARATOR)
    template = _AGGREGATE_SQL[fn]
    return fmt(f"(SELECT {template}{{}})", v, src.sql)


def count(ctx: ExprContext, hops: list[Hop], first_key: Frag) -> Frag:
    """How many rows are linked (0 for none)."""
    return fmt("(SELECT COUNT(*){})", source(ctx, hops, first_key).sql)


def value_list(
    ctx: ExprContext,
    hops: list[Hop],
    first_key: Frag,
    value: Callable[[ExprContext], Frag],
) -> Frag:
    """The non-NULL values of the linked rows as JSON array text, in link (key) order; NULL
    when there are none."""
    src = source(ctx, hops, first_key)
    return ctx.dialect.json_list(value(src.ctx), src.sql, src.order)


def scalar(
    ctx: ExprContext,
    hops: list[Hop],
    first_key: Frag,
    value: Callable[[ExprContext], Frag],
) -> Frag:
    """The value of the one linked row (belongs-to links only), NULL when none."""
    src = source(ctx, hops, first_key)
    return fmt("(SELECT {}{})", value(src.ctx), src.sql)
