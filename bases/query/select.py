"""The SELECT statements over user tables: a page of rows, counts and estimates, one row by
key, link counts, aggregates and group buckets. Each builder returns (sql, params) for the
caller to run on its own connection (bases/records.py, bases/aggregates.py, history).

`where` arguments are compiled conditions without the keyword (bases/query/where), "" for
none; every name goes through the dialect's quoting and every value is a parameter.
"""

from __future__ import annotations

from bases.fieldtypes.columns import TEXTUAL
from bases.models import Field
from bases.query.dialects import Dialect
from bases.query.expressions import ExprContext, as_frag, field_sql, is_computed
from bases.query.formula.compiler import Frag, fmt

Statement = tuple[str, list]


def _where(where: str) -> str:
    return f" WHERE {where}" if where else ""


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
    order: list[tuple[Field, bool]],
    limit: int,
    offset: int | None,
    belongs_to: dict,
    computed: list[Field] = (),
) -> Statement:
    """One page of rows: `limit` rows (the caller asks one more to know whether more follow),
    after `offset` ones when given, ordered by `order` ((field, descending) keys, each one of
    `fields` or `computed`). The row holds `fields` (stored columns), then `computed` (computed
    fields' values), then the belongs-to links' records. Computed values and linked records are
    read in an outer SELECT over the limited page, for the page's rows only (in one SELECT
    with an OFFSET, they would also be computed for every skipped row); a computed sort key is
    computed in the page's own SELECT (as `noco_k<i>`) and reused. `conditions` read the table
    through its quoted name, their parameters are `params`."""
    q = d.quote
    own = q(table_name)
    alias = q("noco_page")
    computed = list(computed)
    columns = [q(f.column_name) for f in fields]
    head_params: list = []
    sort_alias: dict = {}
    terms = []
    for i, (f, desc) in enumerate(order):
        if is_computed(f):
            frag = field_sql(d, f, own)
            name = q(f"noco_k{i}")
            columns.append(f"{frag.sql} AS {name}")
            head_params += frag.params
            sort_alias[f] = name
            terms.append((name, desc, True))
        else:
            terms.append((q(f.column_name), desc, f.is_nullable and not f.is_pk))
    outer: list[str] = []
    outer_params: list = []
    if computed:
        uses: set = set()
        for f in computed:
            if f in sort_alias:
                outer.append(f"{alias}.{sort_alias[f]}")
                continue
            frag = ExprContext(d, alias, uses=uses).column(f)
            outer.append(frag.sql)
            outer_params += frag.params
        columns += [q(f.column_name) for f in uses if f not in fields]
    sql = f"SELECT {', '.join(columns) or '1'} FROM {own}"
    params = head_params + list(params)
    if conditions:
        sql += " WHERE " + " AND ".join(f"({c})" for c in conditions)
    ordering = " ORDER BY " + ", ".join(d.order_term(c, x, n) for c, x, n in terms)
    ordering = ordering if terms else ""
    sql += ordering + " LIMIT %s"
    params.append(limit)
    if offset:
        sql += " OFFSET %s"
        params.append(offset)
    linked = linked_columns(d, alias, belongs_to)
    if computed:
        stored = [f"{alias}.{q(f.column_name)}" for f in fields]
        listed = ", ".join(stored + outer + linked) or "1"
        return f"SELECT {listed} FROM ({sql}) {alias}{ordering}", outer_params + params
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


def _columns(columns: list) -> tuple[str, list]:
    """Select-list items (quoted columns, expressions, or Frags with parameters) joined."""
    frags = [as_frag(c) for c in columns]
    return ", ".join(f.sql for f in frags), [p for f in frags for p in f.params]


def by_key(
    d: Dialect,
    table_name: str,
    columns: list,
    pk: list[Field],
    pk_values: list,
    *,
    lock: bool = False,
) -> Statement:
    """The row with this primary key: `columns` are quoted columns, expressions or Frags
    (computed fields: bases/query/expressions.py)."""
    q = d.quote
    cond = " AND ".join(f"{q(f.column_name)} = %s" for f in pk)
    suffix = d.lock_suffix if lock else ""
    listed, params = _columns(columns)
    return (
        f"SELECT {listed} FROM {q(table_name)} WHERE {cond}{suffix}",
        [*params, *(d.to_db(f, v) for f, v in zip(pk, pk_values, strict=True))],
    )


def by_keys(
    d: Dialect,
    table_name: str,
    columns: list,
    pk: list[Field],
    keys: list,
    *,
    params: list = (),
    lock: bool = False,
) -> Statement:
    """The rows with these primary keys; `columns` as for by_key, `params` those of the
    columns given as text."""
    cond, cond_params = d.keys_in(pk, keys)
    suffix = d.lock_suffix if lock else ""
    listed, column_params = _columns(columns)
    return (
        f"SELECT {listed} FROM {d.quote(table_name)} WHERE {cond}{suffix}",
        [*column_params, *params, *cond_params],
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
    d: Dialect, table_name: str, column: str, target: str, keys: list
) -> Statement:
    """(key, `target`) of each row of `table_name` whose `column` holds one of `keys`: the
    records a has-many or many-to-many link of each key points at."""
    q = d.quote
    in_sql, in_params = d.in_list(q(column), keys)
    return (
        f"SELECT {q(column)}, {q(target)} FROM {q(table_name)} WHERE {in_sql}",
        in_params,
    )


def linked_labels(
    d: Dialect,
    table_name: str,
    key_column: str,
    label_column: str,
    order_column: str,
    keys: list,
    per_key: int,
    junction: tuple[str, str, str, str] | None = None,
) -> Statement:
    """(key, label) of the first `per_key` records (by `order_column`) linked to each of
    `keys`, in one statement for a page of rows: the rows of `table_name` whose `key_column`
    holds a key (has-many), or with `junction` = (junction table, its column for the key, its
    column for the other side, the column of `table_name` that one references), the records
    the junction pairs with each key (many-to-many)."""
    q = d.quote
    r, t = q("noco_r"), q("noco_t")
    label, order = f"{r}.{q(label_column)}", f"{r}.{q(order_column)}"
    if junction is None:
        key = f"{r}.{q(key_column)}"
        source = f"{q(table_name)} {r}"
    else:
        jname, self_col, other_col, ref_col = junction
        j = q("noco_j")
        key = f"{j}.{q(self_col)}"
        source = f"{q(jname)} {j} JOIN {q(table_name)} {r} ON {r}.{q(ref_col)} = {j}.{q(other_col)}"
    in_sql, in_params = d.in_list(key, keys)
    k, v, n = q("k"), q("v"), q("n")
    inner = (
        f"SELECT {key} AS {k}, {label} AS {v}, ROW_NUMBER() OVER "
        f"(PARTITION BY {key} ORDER BY {order}) AS {n} FROM {source} WHERE {in_sql}"
    )
    return (
        f"SELECT {t}.{k}, {t}.{v} FROM ({inner}) {t} WHERE {t}.{n} <= %s "
        f"ORDER BY {t}.{k}, {t}.{n}",
        [*in_params, per_key],
    )


def distinct_values(d: Dialect, table_name: str, column: str, limit: int) -> Statement:
    q = d.quote
    col = q(column)
    return (
        f"SELECT DISTINCT {col} FROM {q(table_name)} WHERE {col} IS NOT NULL LIMIT %s",
        [limit],
    )


# --- summaries (bases/aggregates.py) ----------------------------------------------------------


def aggregate_expression(d: Dialect, field: Field, fn: str) -> Frag:
    """`fn` (sum, avg, min, max, empty, filled) over `field`'s value."""
    col = field_sql(d, field)
    text = field.column_type in ("text", "longtext")
    if fn == "empty":
        blank = "{} IS NULL" + (" OR {} = ''" if text else "")
        return fmt(f"SUM(CASE WHEN {blank} THEN 1 ELSE 0 END)", *[col] * (1 + text))
    if fn == "filled":
        filled = "{} IS NOT NULL" + (" AND {} <> ''" if text else "")
        return fmt(f"SUM(CASE WHEN {filled} THEN 1 ELSE 0 END)", *[col] * (1 + text))
    return fmt(f"{fn.upper()}({{}})", col)


def aggregates(
    d: Dialect, table_name: str, chosen: list[tuple[Field, str]], where: str, params
) -> Statement:
    exprs, expr_params = _columns([aggregate_expression(d, f, fn) for f, fn in chosen])
    return (
        f"SELECT {exprs} FROM {d.quote(table_name)}{_where(where)}",
        [*expr_params, *params],
    )


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
    col = field_sql(d, field)
    exact = d.text_group(col.sql) if field.column_type in TEXTUAL else None
    if exact is not None:
        # Grouped by the exact text (a group is what `eq` on its value finds); each group's
        # values are that one text, so MIN gives it. Ordered by it (position 1).
        head = f"SELECT MIN({col.sql})" + (", COUNT(*)" if counts else "")
        return (
            f"{head} FROM {d.quote(table_name)}{_where(where)} GROUP BY {exact} "
            f"ORDER BY {d.order_term('1', descending)} LIMIT %s",
            [*col.params, *params, *col.params, limit],
        )
    # An expression with parameters is named by its position: PostgreSQL would not see
    # `GROUP BY $3` as the `$1` of the select list.
    key = "1" if col.params else col.sql
    head = f"SELECT {col.sql}, COUNT(*)" if counts else f"SELECT DISTINCT {col.sql}"
    group = f" GROUP BY {key}" if counts else ""
    return (
        f"{head} FROM {d.quote(table_name)}{_where(where)}{group} "
        f"ORDER BY {d.order_term(key, descending)} LIMIT %s",
        [*col.params, *params, limit],
    )


def and_value(d: Dialect, field: Field, where: str, params: list, value) -> Statement:
    """`where` narrowed to the rows whose `field` holds `value` (NULL included)."""
    col = field_sql(d, field)
    test = f"{col.sql} IS NULL" if value is None else f"{col.sql} = %s"
    extra = [*col.params] + ([] if value is None else [value])
    return (f"({where}) AND {test}" if where else test), [*params, *extra]
