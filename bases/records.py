"""Reading records: the one path from a request to rows, for the API, pages and exports alike.

A request becomes a ListQuery (bases.query.params), compiled here to one SELECT per page, plus one
query per link field shown (never one per row). Deep pages use a keyset cursor; `totalRows` comes
from a bounded count, exact up to NOCO_EXACT_COUNT_LIMIT and an estimate beyond it.

Every public function takes a mandatory keyword `actor` (permissions.checks.Actor; `SYSTEM` for
scripts). It checks `records.read` itself, selects only the fields the actor may see
(`TableMeta.of(table, actor=...)`), and treats a hidden field named in `fields`, `where` or `sort`
exactly like an unknown one (400 FIELD_NOT_FOUND). Callers never pass a TableMeta in.
"""

from __future__ import annotations

from dataclasses import dataclass

from bases import linked_cells, record_counts, user_cells
from bases.fieldtypes import field_type_for
from bases.models import Field, Table
from bases.query import select
from bases.query.cursors import (
    decode_cursor,
    encode_cursor,
    keyset_after,
    sort_signature,
)
from bases.query.dialects import Dialect, dialect_for
from bases.query.expressions import field_sql, is_computed
from bases.query.formula import Frag
from bases.query.params import ListQuery, parse_list_query
from bases.query.where import KeysIn, LinkedTo, WhereNode, compile_where
from bases.sources import user_db
from bases.table_meta import PK_SEPARATOR, TableMeta  # noqa: F401 - re-exported
from nocoplatform.errors import InvalidInput, NotFound
from permissions.checks import Actor, require


@dataclass
class RecordPage:
    rows: list[dict]
    page_info: dict

    # A page reads like its list of rows in Python code (`page[0]`, `for row in page`).
    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, index):
        return self.rows[index]

    def __len__(self) -> int:
        return len(self.rows)


def _reading(table: Table, actor: Actor) -> TableMeta:
    """Authorise a read and give the actor's view of the table's fields."""
    require(actor, "records.read", table)
    return TableMeta.of(table, actor=actor)


def _parse(table: Table, meta: TableMeta, params, view) -> ListQuery:
    return parse_list_query(
        table, meta.all_fields, params or {}, visible=meta.fields, view=view
    )


def list_records(
    table: Table,
    params=None,
    *,
    actor: Actor,
    query: ListQuery | None = None,
    where: WhereNode | None = None,
    fields: list[str] | None = None,
    limit: int | None = None,
    offset: int | None = None,
    view=None,
    search: str | None = None,
    count: bool = True,
) -> RecordPage:
    """A page of records, from request `params` (or, for Python callers, `fields`/`limit`/`offset`).

    `actor` is mandatory: only the fields they may see are selected, and naming a hidden field
    in `fields`, `where` or `sort` is FIELD_NOT_FOUND (400), like an unknown one.
    `where` is a node ANDed with every filter (bases/query/where: KeysIn, LinkedTo, After or
    a Condition), outside the cursor's signature. A prebuilt `query` must come from this
    actor's TableMeta. `search` is the grid's temporary search across the shown
    fields (bases/search.py), ANDed with every filter. `count=False` skips `totalRows`
    (None): exports page through a whole view and need no total per page.
    """
    if fields is not None or limit is not None or offset is not None:
        params = dict(params or {})
        if fields is not None:
            params["fields"] = ",".join(fields)
        if limit is not None:
            params["limit"] = str(limit)
        if offset is not None:
            params["offset"] = str(offset)
    meta = _reading(table, actor)
    query = query or _parse(table, meta, params, view)
    query.me = user_cells.me(actor)
    apply_search(query, meta, search)
    with user_db(table.source, reader=actor) as conn:
        d = dialect_for(conn)
        q = d.quote
        where_sql, where_params = _where(d, meta, query, where)
        sort_keys = [(field_sql(d, k.field), k.descending, k.field) for k in query.sort]
        pk_keys = [(q(f.column_name), False, f) for f in meta.pk]
        order_keys = sort_keys + [
            k for k in pk_keys if k[2] not in [s[2] for s in sort_keys]
        ]
        wanted = _select_fields(meta, query.fields)
        computed = _computed_fields(query.fields)
        internal = [k[2] for k in order_keys if k[2] not in wanted + computed]
        computed += [f for f in internal if is_computed(f)]
        select_fields = wanted + [f for f in internal if not is_computed(f)]
        conditions, params_ = (
            ([where_sql], list(where_params)) if where_sql else ([], [])
        )
        signature = sort_signature(
            [f"{k[2].id}:{k[1]}" for k in order_keys] + [str(hash_where(query))]
        )
        if query.cursor:
            if not order_keys:
                raise InvalidInput(
                    "This table has no primary key, so it cannot be paged with a cursor.",
                    code="INVALID_CURSOR",
                )
            values = decode_cursor(query.cursor, signature, [k[2] for k in order_keys])
            ks_sql, ks_params = keyset_after(
                d,
                [(k[0], k[1], k[2].is_nullable and not k[2].is_pk) for k in order_keys],
                [d.to_db(k[2], v) for k, v in zip(order_keys, values, strict=True)],
            )
            conditions.append(ks_sql)
            params_ += ks_params
        links = [f for f in query.fields if field_type_for(f).is_link]
        belongs_to = linked_cells.belongs_to(meta, links, actor)
        sql, params_ = select.page(
            d,
            table.table_name,
            select_fields,
            conditions=conditions,
            params=params_,
            order=[(k[2], k[1]) for k in order_keys],
            limit=query.limit + 1,
            offset=None if query.cursor else query.offset,
            belongs_to=belongs_to,
            computed=computed,
        )
        with conn.cursor() as cur:
            cur.execute(sql, params_)
            raw_rows = cur.fetchall()
        has_more = len(raw_rows) > query.limit
        raw_rows = raw_rows[: query.limit]
        read_fields = select_fields + computed
        rows = linked_cells.as_dicts(d, read_fields, raw_rows, belongs_to)
        others = [f for f in links if f not in belongs_to]
        if others and rows:
            linked_cells.load_links(conn, d, meta, others, rows, actor)
        user_cells.expand(query.fields, rows)
        next_cursor = None
        if has_more and order_keys and raw_rows:
            last = raw_rows[-1]
            idx = {f.id: i for i, f in enumerate(read_fields)}
            next_cursor = encode_cursor(
                signature, [last[idx[k[2].id]] for k in order_keys]
            )
        hidden = [f for f in read_fields if f not in query.fields]
        for row in rows:
            for f in hidden:
                row.pop(f.title, None)
        total, estimated = (
            record_counts.total(
                conn, d, table, where_sql, where_params, query, len(rows), has_more
            )
            if count
            else (None, False)
        )
    page_info = {
        "totalRows": total,
        "page": query.offset // query.limit + 1 if not query.cursor else None,
        "pageSize": query.limit,
        "isFirstPage": query.offset == 0 and not query.cursor,
        "isLastPage": not has_more,
    }
    if estimated:
        page_info["totalRowsEstimated"] = True
    if next_cursor:
        page_info["next"] = next_cursor
    return RecordPage(rows, page_info)


def hash_where(query: ListQuery) -> int:
    if query.where is None and query.view_where is None:
        return 0
    import zlib

    from bases.query.where import render_where

    text = "|".join(
        render_where(n) if n is not None else ""
        for n in (query.view_where, query.where)
    )
    return zlib.crc32(text.encode())


def _computed_fields(fields: list[Field]) -> list[Field]:
    """The computed fields (formulas, lookups…) among `fields`: values the SELECT computes."""
    return [f for f in fields if is_computed(f)]


def _select_fields(meta: TableMeta, fields: list[Field]) -> list[Field]:
    out = [f for f in fields if f.column_name]
    # Link fields need the key they join on.
    for f in fields:
        if not field_type_for(f).is_link:
            continue
        o = f.options
        needed = (
            o.get("fk_column") if o.get("relation") == "bt" else o.get("ref_column")
        )
        col = meta.internal.by_column.get(needed)
        if col is not None and col not in out:
            out.append(col)
    return out


def apply_search(query: ListQuery, meta: TableMeta, search: str | None) -> None:
    """AND the temporary search (over the query's shown fields) into `query.where`."""
    from bases.query.where import And
    from bases.search import search_node

    node = search_node(query.fields, search)
    if node is None:
        return
    query.where = node if query.where is None else And((query.where, node))
    if not hasattr(query, "_resolve"):
        query._resolve = meta.resolve


def query_for(
    table: Table,
    params=None,
    *,
    actor: Actor,
    view=None,
    search: str | None = None,
) -> tuple[TableMeta, ListQuery]:
    """The actor's view of the table and the parsed query (view + request params + search),
    for counts and aggregate reads (bases/aggregates)."""
    meta = _reading(table, actor)
    query = _parse(table, meta, params, view)
    query.me = user_cells.me(actor)
    apply_search(query, meta, search)
    return meta, query


def where_sql(d: Dialect, meta: TableMeta, query: ListQuery) -> tuple[str, list]:
    """The compiled WHERE (without the keyword) of a query; ("", []) for none."""
    return _where(d, meta, query)


def _where(
    d: Dialect, meta: TableMeta, query: ListQuery, scope: WhereNode | None = None
) -> tuple[str, list]:
    parts, params = [], []
    for node, resolve in (
        (query.view_where, getattr(query, "_view_resolve", meta.internal)),
        (query.where, getattr(query, "_resolve", meta.resolve)),
        (scope, meta.resolve),
    ):
        if node is None:
            continue
        sql, values = compile_where(node, resolve=resolve, dialect=d, me=query.me)
        parts.append(sql)
        params += values
    if len(parts) > 1:
        return " AND ".join(f"({p})" for p in parts), params
    return (parts[0], params) if parts else ("", [])


def count_records(
    table: Table,
    params=None,
    *,
    actor: Actor,
    view=None,
    search: str | None = None,
) -> int:
    """Always exact (so not for the hot path of huge tables: see `record_counts.total`). Filtering on a
    field hidden from `actor` is FIELD_NOT_FOUND."""
    meta, query = query_for(table, params, actor=actor, view=view, search=search)
    with user_db(table.source, reader=actor) as conn:
        d = dialect_for(conn)
        where_sql, where_params = _where(d, meta, query)
        with conn.cursor() as cur:
            cur.execute(*select.count(d, table.table_name, where_sql, where_params))
            return int(cur.fetchone()[0])


def _passes_view(conn, d: Dialect, table, meta, query: ListQuery, pk_values) -> bool:
    """Whether the record with these key values passes the query's view filter."""
    from bases.query.where import And, Condition

    keys = [
        Condition(f.id, "eq", str(v)) for f, v in zip(meta.pk, pk_values, strict=True)
    ]
    scope = keys[0] if len(keys) == 1 else And(tuple(keys))
    where_sql, params = _where(d, meta, query, scope)
    with conn.cursor() as cur:
        cur.execute(*select.count(d, table.table_name, where_sql, params))
        return int(cur.fetchone()[0]) > 0


def get_record(
    table: Table, record_id, params=None, *, actor: Actor, view=None
) -> dict:
    """One record with the fields `actor` may see (RECORD_NOT_FOUND if missing)."""
    meta = _reading(table, actor)
    pk_values = meta.parse_record_id(record_id)
    query = _parse(
        table,
        meta,
        {k: v for k, v in (params or {}).items() if k in ("fields", "f")},
        view,
    )
    with user_db(table.source, reader=actor) as conn:
        d = dialect_for(conn)
        q = d.quote
        wanted = _select_fields(meta, query.fields)
        internal = [f for f in meta.pk if f not in wanted]
        select_fields = wanted + internal + _computed_fields(query.fields)
        links = [f for f in query.fields if field_type_for(f).is_link]
        belongs_to = linked_cells.belongs_to(meta, links, actor)
        columns = [field_sql(d, f) for f in select_fields]
        columns += select.linked_columns(d, q(table.table_name), belongs_to)
        with conn.cursor() as cur:
            cur.execute(
                *select.by_key(d, table.table_name, columns, meta.pk, pk_values)
            )
            raw = cur.fetchone()
        if raw is None or (
            query.view_where is not None
            and not _passes_view(conn, d, table, meta, query, pk_values)
        ):
            # With `viewId`, a record the view's filter leaves out is not in it.
            raise NotFound("Record not found.", code="RECORD_NOT_FOUND")
        row = linked_cells.as_dicts(d, select_fields, [raw], belongs_to)[0]
        others = [f for f in links if f not in belongs_to]
        if others:
            linked_cells.load_links(conn, d, meta, others, [row], actor)
        user_cells.expand(query.fields, [row])
        for f in select_fields:
            if f not in query.fields:
                row.pop(f.title, None)
    return row


def row_version(meta: TableMeta, row: dict) -> str:
    """A row's version for `If-Match`: a hash of the values of the columns the actor may see.

    No schema change, no version column: any change to one of those values changes the version
    (a change to a field hidden from the actor does not: they could not have conflicted on it).
    The same function hashes the row a GET returned and the row an update re-reads under lock.
    """
    import hashlib

    import orjson

    values = [
        user_cells.stored(row.get(f.title))
        if field_type_for(f).holds_users
        else row.get(f.title)
        for f in meta.columns
    ]
    raw = orjson.dumps(values, default=str, option=orjson.OPT_PASSTHROUGH_DATETIME)
    return hashlib.sha256(raw).hexdigest()[:20]


def rows_by_key(
    table: Table,
    keys: list[list],
    *,
    matches: dict | None = None,
    meta: TableMeta,
) -> list[tuple[list, dict, dict]]:
    """The rows with these primary keys, in one query: (key, {title: value}, {name: matched}).

    `matches` maps a name to a parsed `where` tree; each is evaluated by the one `where`
    compiler as a column of the same SELECT (webhook conditions use it before and after a
    write). The row holds the stored columns and the computed fields (formulas…) as they are
    after the write. Missing rows are left out.
    """
    pk = meta.require_pk()
    if not keys:
        return []
    matches = matches or {}
    with user_db(table.source) as conn:
        d = dialect_for(conn)
        columns = meta.columns + meta.computed
        columns_sql = [field_sql(d, f) for f in columns]
        for node in matches.values():
            sql, node_params = compile_where(node, resolve=meta.resolve, dialect=d)
            columns_sql.append(Frag(select.matches_column(sql), tuple(node_params)))
        with conn.cursor() as cur:
            cur.execute(*select.by_keys(d, table.table_name, columns_sql, pk, keys))
            raw_rows = cur.fetchall()
    names = list(matches)
    found = {}
    n = len(columns)
    for raw in raw_rows:
        row = {f.title: d.from_db(f, v) for f, v in zip(columns, raw[:n], strict=True)}
        key = tuple(str(row[f.title]) for f in pk)
        found[key] = (
            row,
            {name: bool(v) for name, v in zip(names, raw[n:], strict=True)},
        )
    out = []
    for k in keys:
        hit = found.get(tuple(str(v) for v in k))
        if hit is not None:
            out.append((list(k), hit[0], hit[1]))
    return out


# --- links -----------------------------------------------------------------------------------


def list_linked(
    table: Table, link: Field, record_id, params=None, *, actor: Actor
) -> RecordPage:
    """The records of the related table linked to one record, with the list dialect.

    The link field must be visible to `actor`, and the related table's rows come through
    list_records with the same actor (its hidden fields stay hidden)."""
    meta = _reading(table, actor)
    if link.id not in meta.resolve.by_id:
        raise NotFound("Link field not found.", code="FIELD_NOT_FOUND")
    pk_values = meta.parse_record_id(record_id)
    o = link.options
    relation = o.get("relation")
    own_column = o.get("fk_column") if relation == "bt" else o.get("ref_column")
    with user_db(table.source, reader=actor) as conn:
        d = dialect_for(conn)
        with conn.cursor() as cur:
            cur.execute(
                *select.by_key(
                    d, table.table_name, [d.quote(own_column)], meta.pk, pk_values
                )
            )
            row = cur.fetchone()
    if row is None:
        raise NotFound("Record not found.", code="RECORD_NOT_FOUND")
    return list_records(
        link.related_table, params, actor=actor, where=LinkedTo(link, row[0])
    )


def link_labels(
    table: Table,
    links: list[Field],
    rows: list[dict],
    *,
    actor: Actor,
    per_key: int = 3,
) -> dict[Field, list[tuple]]:
    """For the grid's link chips: the display values of the first `per_key` records that
    each of `rows` (a page list_records returned) reaches through each has-many /
    many-to-many link of `links`, one query per link field: {link: [labels of each row]}.
    Belongs-to links need none (their cell holds the display value already)."""
    meta = _reading(table, actor)
    links = [
        f
        for f in links
        if f.id in meta.resolve.by_id
        and f.related_table is not None
        and (f.options or {}).get("relation") in ("hm", "mm")
    ]
    if not links or not rows:
        return {}
    with user_db(table.source) as conn:
        return linked_cells.load_labels(
            conn, dialect_for(conn), meta, links, rows, actor, per_key
        )


# Linked rows read for a whole page at once (GraphQL's nested link selections) stop here: past
# it the caller pages the link itself (REST's links endpoint, or a narrower page).
LINKED_ROWS_LIMIT = 1000


def link_key(table: Table, link: Field, *, actor: Actor):
    """(the field title a page of `table` must be read with, row -> its key for `link`): what
    `linked_rows` takes as `keys`. Belongs-to reads the key from the link's own cell."""
    meta = _reading(table, actor)
    o = link.options
    if o.get("relation") == "bt":
        ref = linked_cells.related_meta(
            meta, link.related_table
        ).internal.by_column.get(o.get("ref_column"))
        title = ref.title if ref is not None else None

        def bt_key(row):
            cell = row.get(link.title)
            return cell.get(title) if isinstance(cell, dict) else None

        return link.title, bt_key
    own = meta.resolve.by_column.get(o.get("ref_column"))
    if own is None:
        raise InvalidInput(
            f"'{link.title}' cannot be expanded: its key on '{table.title}' is hidden.",
            code="LINK_NOT_EXPANDABLE",
        )
    return own.title, lambda row: row.get(own.title)


def linked_rows(
    table: Table,
    link: Field,
    keys: list,
    *,
    actor: Actor,
    fields: list[Field],
    params: dict | None = None,
) -> tuple[dict[str, list[dict]], str]:
    """The related records linked to a page of `table`'s records, for every record at once.

    `keys` are the page's own key values for the link (for belongs-to, the foreign keys the
    page holds; otherwise the column the related rows or the junction point at). Answers
    ({str(key): [related row, …]}, the related field title the rows were matched on); the
    rows hold `fields` (the related table's Field objects, as `actor` sees them) and that
    matched field. One list_records call on the related table (its fields `actor` may see,
    as always), plus, for many-to-many, one read of the junction's pairs: never one query
    per record. `params` may hold REST's `where` and `sort` for the related records (parsed
    and checked as REST's list parses them, ANDed with the link): each record's list is in
    that order (else the related table's default order).
    """
    meta = _reading(table, actor)
    if link.id not in meta.resolve.by_id:
        raise NotFound("Link field not found.", code="FIELD_NOT_FOUND")
    related = link.related_table
    rel_meta = _reading(related, actor)
    o = link.options
    relation = o.get("relation")
    keys = list({str(k): k for k in keys if k is not None}.values())
    pairs = None
    if relation == "bt":
        match_column = o.get("ref_column")
    elif relation == "hm":
        match_column = o.get("fk_column")
    else:
        match_column = o.get("other_ref_column")
        junction = Table.objects.filter(pk=o.get("junction_table_id")).first()
        pairs = []
        if junction is not None and keys:
            with user_db(table.source) as conn:
                d = dialect_for(conn)
                with conn.cursor() as cur:
                    cur.execute(
                        *select.link_pairs(
                            d,
                            junction.table_name,
                            o.get("self_column"),
                            o.get("other_column"),
                            keys,
                        )
                    )
                    pairs = cur.fetchall()
    match = rel_meta.resolve.by_column.get(match_column)
    if match is None:
        raise InvalidInput(
            f"'{link.title}' cannot be expanded: its key on '{related.title}' is hidden.",
            code="LINK_NOT_EXPANDABLE",
        )
    wanted = keys if pairs is None else list({str(p[1]): p[1] for p in pairs}.values())
    if not wanted:
        return {}, match.title
    _, query = query_for(related, params, actor=actor)
    query.fields = list(dict.fromkeys([*fields, match]))
    query.limit = LINKED_ROWS_LIMIT
    page = list_records(
        related,
        actor=actor,
        query=query,
        where=KeysIn((match,), tuple((k,) for k in wanted)),
    )
    if not page.page_info["isLastPage"]:
        raise InvalidInput(
            f"More than {LINKED_ROWS_LIMIT} records of '{related.title}' are linked to "
            f"this page through '{link.title}': ask for a smaller page.",
            code="TOO_MANY_LINKED_RECORDS",
        )
    by_match: dict[str, list[dict]] = {}
    for row in page.rows:
        by_match.setdefault(str(row.get(match.title)), []).append(row)
    if pairs is None:
        return by_match, match.title
    # Each own record's list in the related rows' order (the sort), not the junction's.
    owners: dict[str, list[str]] = {}
    for own, other in pairs:
        owners.setdefault(str(other), []).append(str(own))
    out: dict[str, list[dict]] = {}
    for row in page.rows:
        for own in owners.get(str(row.get(match.title)), ()):
            out.setdefault(own, []).append(row)
    return out, match.title


# --- used by schema services and the demo ------------------------------------------------------


def distinct_values(field: Field, *, limit: int = 1000) -> list:
    table = field.table
    with user_db(table.source) as conn:
        d = dialect_for(conn)
        with conn.cursor() as cur:
            cur.execute(
                *select.distinct_values(d, table.table_name, field.column_name, limit)
            )
            return [r[0] for r in cur.fetchall() if r[0] != ""]


def insert_many(table: Table, rows: list[dict]) -> int:
    """Bulk insert for scripts (demo data): all or nothing."""
    from permissions.checks import SYSTEM
    from records.writes import insert_rows

    return len(insert_rows(table, rows, actor=SYSTEM, max_rows=None))
