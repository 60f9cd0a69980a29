"""The SELECT statements over user tables: a page of rows, counts and estimates, one row by
key, link counts, aggregates and group buckets. Each builder returns (sql, params) for the
caller to run on its own connection (bases/records.py, bases/aggregates.py, history).

`where` arguments are compiled conditions without the keyword (bases/query/where), "" for
none; every name goes through the dialect's quoting and every value is a parameter.
"""

from __future__ import annotations

from bases.models import Field
from bases.query.dialects import Dialect

Statement = tuple[str, list]


def _where(where: str) -> str:
    return f" WHERE {where}" if where else ""


def order_by(d: Dialect, order: list[tuple[str, bool]]) -> str:
    """` ORDER BY …` for (quoted column, descending) keys; "" for none."""
    if not order:
        return ""
    return " ORDER BY " + ", ".join(d.order_term(col, desc) for col, desc in order)


def linked_columns(d: Dialect, own: str, belongs_to: dict) -> list[str]:
    """Scalar subqueries that read each belongs-to link's record in the page's own SELECT: no
    second round trip (as a JOIN would, but without making the page's unqualified column names
    ambiguous). One index lookup per row and column, on the referenced key. `own` is the
    quoted name of the rows' table (or derived table) in that SELECT; `belongs_to` maps a link
    to (its foreign key Field, [referenced key, primary value] of the linked table)."""
    q = d.quote
    alias = q("noco_linked")
    out = []
    for link, (fk, cols) in belongs_to.items():
        if not cols:
            continue
        source = (
            f"FROM {q(link.related_table.table_name)} {alias} "
            f"WHERE {alias}.{q(cols[0].column_name)} = {own}.{q(fk.column_name)}"
        )
        # Named: PostgreSQL resolves ORDER BY against output names first, where an unnamed
        # subquery would be another "id".
        out += [
            f"(SELECT {alias}.{q(c.column_name)} {source}) AS {q(f'noco_linked_{len(out) + i}')}"
            for i, c in enumerate(cols)
        ]
    return out


def page(
    d: Dialect,
    table_name: str,
    fields: list[Field],
    *,
    conditions: list[str],
    params: list,
    order: list[tuple[str, bool]],
    limit: int,
    offset: int | None,
    belongs_to: dict,
) -> Statement:
    """One page of rows: `limit` rows (the caller asks one more to know whether more follow),
    after `offset` ones when given, with the belongs-to links' records read for the page's
    rows only (in one SELECT with an OFFSET, the subqueries would also run for every skipped
    row)."""
    q = d.quote
    params = list(params)
    columns = [q(f.column_name) for f in fields]
    sql = f"SELECT {', '.join(columns) or '1'} FROM {q(table_name)}"
    if conditions:
        sql += " WHERE " + " AND ".join(f"({c})" for c in conditions)
    ordering = order_by(d, order)
    sql += ordering + " LIMIT %s"
    params.append(limit)
    if offset:
        sql += " OFFSET %s"
        params.append(offset)
    alias = q("noco_page")
    linked = linked_columns(d, alias, belongs_to)
    if linked:
        sql = f"SELECT {alias}.*, {', '.join(linked)} FROM ({sql}) {alias}{ordering}"
    return sql, params


def count(d: Dialect, table_name: str, where: str, params: list) -> Statement:
    return f"SELECT COUNT(*) FROM {d.quote(table_name)}{_where(where)}", list(params)


def bounded_count(
    d: Dialect, table_name: str, where: str, params: list, bound: int
) -> Statement:
    """How many rows match, counting no further than `bound`."""
    return (
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {d.quote(table_name)}{_where(where)} "
        "LIMIT %s) bounded",
        [*params, bound],
    )


def estimate(cur, d: Dialect, table_name: str, where: str, params: list) -> int | None:
    """The planner's row estimate for the matching rows (PostgreSQL, MySQL); None elsewhere."""
    return d.estimate_rows(
        cur, f"SELECT 1 FROM {d.quote(table_name)}{_where(where)}", params
    )


def by_key(
    d: Dialect,
    table_name: str,
    columns: list[str],
    pk: list[Field],
    pk_values: list,
    *,
    lock: bool = False,
) -> Statement:
    """The row with this primary key: `columns` are quoted columns or expressions."""
    q = d.quote
    cond = " AND ".join(f"{q(f.column_name)} = %s" for f in pk)
    suffix = d.lock_suffix if lock else ""
    return (
        f"SELECT {', '.join(columns)} FROM {q(table_name)} WHERE {cond}{suffix}",
        [d.to_db(f, v) for f, v in zip(pk, pk_values, strict=True)],
    )


def by_keys(
    d: Dialect,
    table_name: str,
    columns: list[str],
    pk: list[Field],
    keys: list,
    *,
    params: list = (),
    lock: bool = False,
) -> Statement:
    """The rows with these primary keys; `params` are those of the `columns` expressions."""
    cond, cond_params = d.keys_in(pk, keys)
    suffix = d.lock_suffix if lock else ""
    return (
        f"SELECT {', '.join(columns)} FROM {d.quote(table_name)} WHERE {cond}{suffix}",
        [*params, *cond_params],
    )


def matches_column(condition: str) -> str:
    """A compiled condition as a 0/1 column of a SELECT."""
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


def link_counts(d: Dialect, table_name: str, column: str, keys: list) -> Statement:
    """(key, number of rows of `table_name` whose `column` holds it) for each of `keys`."""
    q = d.quote
    col = q(column)
    in_sql, in_params = d.in_list(col, keys)
    return (
        f"SELECT {col}, COUNT(*) FROM {q(table_name)} WHERE {in_sql} GROUP BY {col}",
        in_params,
    )


def link_pairs(
    d: Dialect, table_name: str, self_column: str, other_column: str, keys: list
) -> Statement:
    """(own key, other key) rows of a many-to-many junction for each of `keys` (own keys)."""
    q = d.quote
    in_sql, in_params = d.in_list(q(self_column), keys)
    return (
        f"SELECT {q(self_column)}, {q(other_column)} FROM {q(table_name)} "
        f"WHERE {in_sql}",
        in_params,
    )


def distinct_values(d: Dialect, table_name: str, column: str, limit: int) -> Statement:
    q = d.quote
    col = q(column)
    return (
        f"SELECT DISTINCT {col} FROM {q(table_name)} WHERE {col} IS NOT NULL LIMIT %s",
        [limit],
    )


# --- summaries (bases/aggregates.py) ----------------------------------------------------------


def aggregate_expression(d: Dialect, field: Field, fn: str) -> str:
    """`fn` (sum, avg, min, max, empty, filled) over `field`'s column."""
    col = d.quote(field.column_name)
    text = field.column_type in ("text", "longtext")
    if fn == "empty":
        blank = f"{col} IS NULL" + (f" OR {col} = ''" if text else "")
        return f"SUM(CASE WHEN {blank} THEN 1 ELSE 0 END)"
    if fn == "filled":
        filled = f"{col} IS NOT NULL" + (f" AND {col} <> ''" if text else "")
        return f"SUM(CASE WHEN {filled} THEN 1 ELSE 0 END)"
    return f"{fn.upper()}({col})"


def aggregates(
    d: Dialect, table_name: str, chosen: list[tuple[Field, str]], where: str, params
) -> Statement:
    exprs = ", ".join(aggregate_expression(d, f, fn) for f, fn in chosen)
    return f"SELECT {exprs} FROM {d.quote(table_name)}{_where(where)}", list(params)


def groups(
    d: Dialect,
    table_name: str,
    field: Field,
    where: str,
    params: list,
    *,
    counts: bool,
    descending: bool,
    limit: int,
) -> Statement:
    """The first `limit` distinct values of `field` among the matching rows, each with its count
    when `counts` (without, one cheap pass: the caller estimates each value's count)."""
    col = d.quote(field.column_name)
    head = f"SELECT {col}, COUNT(*)" if counts else f"SELECT DISTINCT {col}"
    group = f" GROUP BY {col}" if counts else ""
    return (
        f"{head} FROM {d.quote(table_name)}{_where(where)}{group} "
        f"ORDER BY {d.order_term(col, descending)} LIMIT %s",
        [*params, limit],
    )


def and_value(d: Dialect, field: Field, where: str, params: list, value) -> Statement:
    """`where` narrowed to the rows whose `field` holds `value` (NULL included)."""
    col = d.quote(field.column_name)
    test = f"{col} IS NULL" if value is None else f"{col} = %s"
    extra = [] if value is None else [value]
    return (f"({where}) AND {test}" if where else test), [*params, *extra]
