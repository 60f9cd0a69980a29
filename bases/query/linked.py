"""Values read through links: the correlated subqueries of lookups, rollups and counts.

A lookup, rollup or count field is one scalar subquery in the statement over its table: it
reads the linked rows of each row (belongs-to, has-many or many-to-many through the junction),
so a page of 25 or of 1,000 rows is still one statement, and a filter or sort on the field is
done by the database. A path of several links (a lookup of a lookup) is one subquery whose FROM
joins each hop, so a lookup over two has-many links is one flat list, not a list of lists.

    source(ctx, hops)                      -> Source (FROM + WHERE, the last table's context)
    aggregate(ctx, hops, value, fn)        -> Frag   (sum, avg, min, max, count, ...)
    value_list(ctx, hops, value)           -> Frag   (JSON array text, via the dialect)

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
    sql: str  # " FROM … WHERE …" (no parameters: names only)
    ctx: ExprContext  # reads the last hop's table
    order: tuple[str, ...]  # qualified key columns, hop by hop


def source(ctx: ExprContext, hops: list[Hop], own: str) -> Source:
    """The linked rows of the row `own` (its quoted table name or alias) reads, over `hops`."""
    q = ctx.dialect.quote
    tables, conditions, order = [], [], []
    left, cur = own, ctx
    for hop in hops:
        alias, nxt = cur.subquery()
        if hop.relation == "bt":
            tables.append(f"{q(hop.table)} {alias}")
            conditions.append(
                f"{alias}.{q(hop.ref_column)} = {left}.{q(hop.fk_column)}"
            )
        elif hop.relation == "hm":
            tables.append(f"{q(hop.table)} {alias}")
            conditions.append(
                f"{alias}.{q(hop.fk_column)} = {left}.{q(hop.ref_column)}"
            )
        else:
            junction = q(f"noco_j{nxt.depth}")
            tables += [f"{q(hop.junction)} {junction}", f"{q(hop.table)} {alias}"]
            conditions += [
                f"{junction}.{q(hop.self_column)} = {left}.{q(hop.ref_column)}",
                f"{alias}.{q(hop.other_ref_column)} = {junction}.{q(hop.other_column)}",
            ]
        order += [f"{alias}.{q(c)}" for c in hop.order]
        left, cur = alias, nxt
    sql = f" FROM {', '.join(tables)} WHERE {' AND '.join(conditions)}"
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
    own: str,
    value: Callable[[ExprContext], Frag],
    fn: str,
) -> Frag:
    """`fn` over `value` (read in the last hop's context) of the linked rows. Counts of no rows
    are 0; sum, avg, min and max of no rows (or of NULLs only) are NULL, as in SQL and NocoDB."""
    src = source(ctx, hops, own)
    v = value(src.ctx)
    if fn == "concat":
        return ctx.dialect.text_list(v, Frag(src.sql), src.order, CONCAT_SEPARATOR)
    template = _AGGREGATE_SQL[fn]
    return fmt(f"(SELECT {template}{{}})", v, Frag(src.sql))


def count(ctx: ExprContext, hops: list[Hop], own: str) -> Frag:
    """How many rows are linked (0 for none)."""
    return Frag(f"(SELECT COUNT(*){source(ctx, hops, own).sql})")


def value_list(
    ctx: ExprContext,
    hops: list[Hop],
    own: str,
    value: Callable[[ExprContext], Frag],
) -> Frag:
    """The non-NULL values of the linked rows as JSON array text, in link (key) order; NULL
    when there are none."""
    src = source(ctx, hops, own)
    return ctx.dialect.json_list(value(src.ctx), Frag(src.sql), src.order)


def scalar(
    ctx: ExprContext,
    hops: list[Hop],
    own: str,
    value: Callable[[ExprContext], Frag],
) -> Frag:
    """The value of the one linked row (belongs-to links only), NULL when none."""
    src = source(ctx, hops, own)
    return fmt("(SELECT {}{})", value(src.ctx), Frag(src.sql))
