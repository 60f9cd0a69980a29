"""How many rows a list matches, for bases/records.py: exact when cheap, else the planner's
estimate (cached ESTIMATE_TTL seconds), so a list never runs a full count on a huge table."""

from __future__ import annotations

import time

from django.conf import settings

from bases.models import Table
from bases.query import select
from bases.query.dialects import Dialect
from bases.query.params import ListQuery


def total(
    conn,
    d: Dialect,
    table: Table,
    where_sql: str,
    where_params: list,
    query: ListQuery,
    page_rows: int,
    has_more: bool,
) -> tuple[int, bool]:
    """Exact when cheap, else the planner's estimate, flagged: never a full count on a list.

    A last page knows its total. Otherwise, when the planner expects many more rows than
    NOCO_EXACT_COUNT_LIMIT, its estimate is used as is; else a count bounded at that limit runs
    (exact below it).
    """
    if not has_more and not query.cursor:
        return query.offset + page_rows, False
    bound = settings.NOCO_EXACT_COUNT_LIMIT
    with conn.cursor() as cur:
        estimate = cached_estimate(cur, d, table, where_sql, where_params)
        if estimate is not None and estimate > 2 * bound:
            return estimate, True
        cur.execute(
            *select.bounded_count(
                d, table.table_name, where_sql, where_params, bound + 1
            )
        )
        counted = cur.fetchone()[0]
    if counted <= bound:
        return counted, False
    return max(estimate or 0, bound + 1), True


_estimates: dict[tuple, tuple[float, int | None]] = {}
ESTIMATE_TTL = (
    30.0  # seconds; an estimate is approximate anyway, planning it costs a round trip
)


def cached_estimate(
    cur, d: Dialect, table: Table, where: str, params: list
) -> int | None:
    """The planner's estimate of the rows matching `where` (compiled, without the keyword),
    kept ESTIMATE_TTL seconds."""
    key = (table.pk, where, tuple(str(p) for p in params))
    now = time.monotonic()
    hit = _estimates.get(key)
    if hit is not None and now - hit[0] < ESTIMATE_TTL:
        return hit[1]
    value = select.estimate(cur, d, table.table_name, where, params)
    if len(_estimates) > 10_000:
        _estimates.clear()
    _estimates[key] = (now, value)
    return value
