"""Summaries of a view's rows for the grid: row count, per-column aggregates, group buckets.

Built on the records query layer (records.query_for / where_sql): the view's filter and the
temporary search apply, identifiers come from metadata and values are bound. Row counts follow
the records rule — exact when cheap, the planner's estimate (flagged) on huge tables; an exact
count only when asked for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings

from bases import record_counts, records
from bases.fieldtypes import AGGREGATES, field_type_for
from bases.models import Field, Table
from bases.query import select
from bases.query.dialects import dialect_for
from bases.query.where import Condition, render_where
from bases.sources import user_db
from nocoplatform.errors import InvalidInput
from permissions.checks import Actor

# Aggregate name -> label (bases/fieldtypes); which apply to a field: its type says.
MAX_GROUPS = 100


def aggregates_for(field: Field) -> list[str]:
    return field_type_for(field).aggregates(field)


@dataclass
class RowCount:
    count: int
    estimated: bool


def row_count(
    table: Table,
    *,
    actor: Actor,
    view=None,
    search: str | None = None,
    exact: bool = False,
) -> RowCount:
    """How many rows the view shows: bounded (estimate flagged) unless `exact`."""
    if exact:
        return RowCount(
            records.count_records(table, actor=actor, view=view, search=search), False
        )
    page = records.list_records(
        table, {"limit": "1"}, actor=actor, view=view, search=search
    )
    info = page.page_info
    return RowCount(int(info["totalRows"]), bool(info.get("totalRowsEstimated")))


def column_aggregates(
    table: Table,
    specs: dict[str, str],
    *,
    actor: Actor,
    view=None,
    search: str | None = None,
) -> dict[str, object]:
    """{field id: value} for `specs` {field id: aggregate}, over the view's rows, one SELECT.

    A full pass over the filtered rows: call it lazily (the footer loads after the grid).
    """
    meta, query = records.query_for(table, actor=actor, view=view, search=search)
    chosen: list[tuple[Field, str]] = []
    for field_id, fn in specs.items():
        field = meta.resolve.by_id.get(field_id)
        if field is None:
            continue  # a field deleted since the view was saved
        if fn not in aggregates_for(field):
            raise InvalidInput(
                f"'{AGGREGATES.get(fn, fn)}' does not apply to '{field.title}'.",
                code="AGGREGATE_NOT_SUPPORTED",
            )
        chosen.append((field, fn))
    if not chosen:
        return {}
    with user_db(table.source, reader=actor) as conn:
        d = dialect_for(conn)
        where, params = records.where_sql(d, meta, query)
        with conn.cursor() as cur:
            cur.execute(*select.aggregates(d, table.table_name, chosen, where, params))
            row = cur.fetchone()
    out = {}
    for (field, fn), value in zip(chosen, row, strict=True):
        if fn in ("empty", "filled"):
            value = int(value or 0)
        elif fn in ("min", "max") and value is not None:
            value = d.from_db(field, value)
        out[field.id] = value
    return out


@dataclass
class GroupBucket:
    value: object
    count: int
    estimated: bool  # the planner's estimate (huge tables), shown as "≈ N"
    where: str  # the condition selecting this bucket, in the where dialect


def bucket_condition(field: Field, value) -> Condition:
    """The where-dialect condition for rows whose `field` equals a grouped `value`."""
    if value is None:
        return Condition(field.id, "null", None)
    if field_type_for(field).is_boolean or field.column_type == "boolean":
        return Condition(field.id, "checked" if value else "notchecked", None)
    if isinstance(value, dt.timedelta):  # durations compare as seconds in the dialect
        return Condition(field.id, "eq", repr(value.total_seconds()))
    if hasattr(value, "isoformat"):
        return Condition(field.id, "eq", value.isoformat())
    return Condition(field.id, "eq", str(value))


def groupable(field: Field) -> bool:
    return field_type_for(field).groupable(field)


def group_buckets(
    table: Table,
    field: Field,
    *,
    actor: Actor,
    view=None,
    search: str | None = None,
    within: str = "",
    descending: bool = False,
) -> tuple[list[GroupBucket], bool]:
    """The values of `field` among the view's rows (limited by `within`, a where text for the
    enclosing groups), each with its row count; and whether there are more than MAX_GROUPS.

    Counts are exact (one GROUP BY) unless the planner expects a huge result (over twice
    NOCO_EXACT_COUNT_LIMIT rows): then the values come from one DISTINCT pass and each count is
    the planner's estimate for that value, flagged.
    """
    if not groupable(field):
        raise InvalidInput(
            f"Cannot group by '{field.title}' ({field.uidt}).",
            code="GROUP_NOT_SUPPORTED",
        )
    params = {"where": within} if within else {}
    meta, query = records.query_for(
        table, params, actor=actor, view=view, search=search
    )
    bound = settings.NOCO_EXACT_COUNT_LIMIT
    with user_db(table.source, reader=actor) as conn:
        d = dialect_for(conn)
        where, where_params = records.where_sql(d, meta, query)
        shape = {"descending": descending, "limit": MAX_GROUPS + 1}
        with conn.cursor() as cur:
            estimate = record_counts.cached_estimate(cur, d, table, where, where_params)
            huge = estimate is not None and estimate > 2 * bound
            if not huge:
                cur.execute(
                    *select.groups(
                        d,
                        table.table_name,
                        field,
                        where,
                        where_params,
                        counts=True,
                        **shape,
                    )
                )
                rows = [(v, int(n), False) for v, n in cur.fetchall()]
            else:
                # Huge: one pass for the values, then the planner's estimate per value
                # (EXPLAIN plans, scans nothing) instead of a count over millions of rows.
                cur.execute(
                    *select.groups(
                        d,
                        table.table_name,
                        field,
                        where,
                        where_params,
                        counts=False,
                        **shape,
                    )
                )
                values = [r[0] for r in cur.fetchall()]
                rows = []
                for value in values[: MAX_GROUPS + 1]:
                    n = record_counts.cached_estimate(
                        cur,
                        d,
                        table,
                        *select.and_value(d, field, where, where_params, value),
                    )
                    rows.append((value, max(int(n or 0), 1), True))
    more = len(rows) > MAX_GROUPS
    buckets = []
    for raw, count, flagged in rows[:MAX_GROUPS]:
        value = d.from_db(field, raw)
        buckets.append(
            GroupBucket(
                value=value,
                count=count,
                estimated=flagged,
                where=render_where(bucket_condition(field, value)),
            )
        )
    if field_type_for(field).is_boolean:
        buckets = _merge_unchecked(field, buckets)
    return buckets, more


def _merge_unchecked(field: Field, buckets: list[GroupBucket]) -> list[GroupBucket]:
    """A NULL checkbox counts as unticked (docs/where.md): one 'unchecked' bucket, not two."""
    out: list[GroupBucket] = []
    unchecked = None
    for b in buckets:
        if not b.value:
            if unchecked is None:
                unchecked = GroupBucket(
                    False, 0, False, render_where(bucket_condition(field, False))
                )
                out.append(unchecked)
            unchecked.count += b.count
            unchecked.estimated = unchecked.estimated or b.estimated
        else:
            out.append(b)
    return out
