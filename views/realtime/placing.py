"""Where a changed record goes on a page that shows rows in the view's order (live cards).

Two reads through the records layer (bases/records.py), never SQL of our own: rows are chosen
by `where` nodes (KeysIn, and After: the keyset predicate cursors use, bases/query/cursors.py):

- `rows_by_ids`: the changed rows that the view still shows (its filter, the search, a
  visitor's own filter), in the view's order, with the values of the sort's fields;
- `previous_id`: for one such row, the id of the row just before it in that order (None: it
  is the first). The page puts the fragment after that row if it has it, or knows the row
  lies beyond what it has loaded.

The rows of `previous_id` are read in the reversed order (every key's direction flipped, NULLs
with it, as each database orders them) after the row itself, which is "before it" in the
view's order — the same predicate a `next` cursor uses, so it agrees with paging.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from bases import records
from bases.query.params import SortKey
from bases.query.where import After, And, WhereNode
from views.realtime.rows import ids_node


@dataclass
class Placed:
    meta: object
    order: list  # [(Field, descending)], the view's sort then the key
    rows: list  # [(record id as text, row)] in the view's order
    params: dict
    search: str | None

    def ids(self) -> set[str]:
        return {rid for rid, _ in self.rows}


def _order(meta, query) -> list:
    keys = [(k.field, k.descending) for k in query.sort]
    return keys + [(f, False) for f in meta.pk if f not in [k[0] for k in keys]]


def rows_by_ids(
    table,
    ids: list[str],
    *,
    actor,
    view,
    fields: str,
    search: str | None = None,
    params: dict | None = None,
) -> Placed:
    """The rows among `ids` the view shows to `actor` (with `params`: a visitor's sort and
    filter), in the view's order. `fields`: the `fields` parameter (ids, comma-separated)."""
    base = {k: v for k, v in (params or {}).items() if k not in ("fields", "limit")}
    meta, query = records.query_for(
        table,
        {**base, "fields": fields, "limit": str(max(1, len(ids)))},
        actor=actor,
        view=view,
        search=search,
    )
    order = _order(meta, query)
    # The sort's values are read too (previous_id starts from them); the caller renders only
    # the fields it asked for. Sort keys are always fields the actor may see.
    query.fields = [*query.fields, *(f for f, _ in order if f not in query.fields)]
    page = records.list_records(
        table, actor=actor, query=query, where=ids_node(meta, ids)
    )
    rows = [
        (str(meta.record_id([row.get(f.title) for f in meta.pk])), row)
        for row in page.rows
    ]
    return Placed(meta=meta, order=order, rows=rows, params=base, search=search)


def previous_id(
    placed: Placed,
    row: dict,
    *,
    table,
    actor,
    view,
    where: WhereNode | None = None,
) -> str | None:
    """The id of the row just before `row` in the view's order (among the rows `where`
    narrows to, e.g. one kanban stack), or None when `row` is the first."""
    meta, order = placed.meta, placed.order
    params = dict(placed.params)
    params.update(limit="1", fields=",".join(f.id for f in meta.pk))
    _, query = records.query_for(
        table, params, actor=actor, view=view, search=placed.search
    )
    query = copy.copy(query)
    query.sort = [SortKey(f, not desc) for f, desc in order]
    before = After(
        tuple((f, not desc) for f, desc in order),
        tuple(row.get(f.title) for f, _ in order),
    )
    page = records.list_records(
        table,
        actor=actor,
        query=query,
        where=before if where is None else And((where, before)),
    )
    if not page.rows:
        return None
    return str(meta.record_id([page.rows[0].get(f.title) for f in meta.pk]))
