"""Turn a records request (query string) into a validated ListQuery.

Accepts NocoDB's names and their short aliases: where/w, sort/s, fields/f, limit/l, offset/o, plus
our `cursor` and `page`. Every problem is an InvalidInput naming the parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from bases.fieldtypes import field_type_for
from bases.models import Field, Table
from nocoplatform.errors import InvalidInput

DEFAULT_LIMIT = 25


@dataclass
class SortKey:
    field: Field
    descending: bool = False


@dataclass
class ListQuery:
    table: Table
    fields: list[Field]  # what the caller sees, in order
    where: object | None = None  # bases.query.where AST, the request's own filter
    # The view's stored filter: compiled against every field of the table (its creator chose
    # it; the caller cannot change it), while `where` only sees the caller's visible fields.
    view_where: object | None = None
    sort: list[SortKey] = field(default_factory=list)
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    cursor: str | None = None
    # The caller's user id: what `@me` means in a filter on a user field (None: nobody).
    me: str | None = None


class FieldResolver:
    """Find a table's fields by title (first) or column name; one dict lookup each."""

    def __init__(self, fields: list[Field]):
        self.fields = fields
        self.by_title = {f.title: f for f in fields}
        self.by_column = {f.column_name: f for f in fields if f.column_name}
        self.by_id = {f.id: f for f in fields}

    def __call__(self, name: str) -> Field:
        found = (
            self.by_title.get(name) or self.by_column.get(name) or self.by_id.get(name)
        )
        if found is None:
            raise InvalidInput(f"Unknown field '{name}'.", code="FIELD_NOT_FOUND")
        return found


def _param(params, *names: str) -> str | None:
    for name in names:
        value = params.get(name)
        if value is not None:
            return value
    return None


def int_param(
    params, names: tuple[str, ...], default: int, *, low: int, high: int
) -> int:
    """A whole-number query parameter (the first of `names` given; `default` when absent or
    empty) from `low` to `high`; else a 400 (INVALID_PARAMETER) naming it. Every list of the
    API pages with it."""
    raw = _param(params, *names)
    if raw is None or raw == "":
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise InvalidInput(
            f"`{names[0]}` must be a whole number, not '{str(raw)[:50]}'.",
            code="INVALID_PARAMETER",
        ) from None
    if not low <= value <= high:
        raise InvalidInput(
            f"`{names[0]}` must be from {low} to {high}.", code="INVALID_PARAMETER"
        )
    return value


def parse_fields(resolve: FieldResolver, raw) -> list[Field]:
    if isinstance(raw, list):
        names = [str(n) for n in raw]
    else:
        names = [n for n in str(raw).split(",")]
    names = [n.strip() for n in names if n.strip()]
    out: list[Field] = []
    for name in names:
        f = resolve(name)
        if f not in out:
            out.append(f)
    return out


def parse_sort(resolve: FieldResolver, raw: str) -> list[SortKey]:
    keys: list[SortKey] = []
    for part in str(raw).split(","):
        part = part.strip()
        if not part:
            continue
        descending = part.startswith("-")
        name = part[1:].strip() if part[0] in "+-" else part
        f = resolve(name)
        ftype = field_type_for(f)
        if f.is_virtual and not ftype.computed:
            raise InvalidInput(
                f"Cannot sort by the link field '{f.title}'.", code="SORT_NOT_SUPPORTED"
            )
        if not ftype.sortable(f) or f.column_type in ("json", "binary", "other"):
            raise InvalidInput(
                f"Cannot sort by '{f.title}' ({f.uidt}).", code="SORT_NOT_SUPPORTED"
            )
        if any(k.field.pk == f.pk for k in keys):
            continue
        keys.append(SortKey(f, descending))
        if len(keys) > 10:
            raise InvalidInput("At most 10 sort fields.", code="INVALID_PARAMETER")
    return keys


def view_fields(view, visible: list[Field]) -> list[Field]:
    """A view's fields in its order, less the hidden ones."""
    by_id = {f.id: f for f in visible}
    ordered = [by_id[i] for i in view.field_order if i in by_id]
    ordered += [f for f in visible if f not in ordered]
    hidden = set(view.hidden_fields)
    return [f for f in ordered if f.id not in hidden and not f.is_system]


def parse_list_query(
    table: Table,
    fields: list[Field],
    params,
    *,
    visible: list[Field] | None = None,
    view=None,
) -> ListQuery:
    """`fields`: every field of the table; `visible`: the ones the caller may see (default all).

    With a `view`, its filter is ANDed with `where`, and its sort and fields apply unless the
    request gives its own.
    """
    visible = fields if visible is None else visible
    resolve = FieldResolver(visible)
    # A view's own filter may name fields hidden from the caller (the view's creator chose it;
    # it reveals no values); the request's parameters see only the caller's fields, so naming a
    # hidden field there is FIELD_NOT_FOUND, exactly like a field that does not exist.
    view_resolve = resolve if visible is fields else FieldResolver(fields)
    max_limit = settings.NOCO_MAX_PAGE_SIZE
    query = ListQuery(table=table, fields=[f for f in visible if not f.is_system])
    if view is not None:
        query.fields = view_fields(view, visible)
    raw_fields = _param(params, "fields", "f")
    if raw_fields:
        query.fields = parse_fields(resolve, raw_fields)
    raw_sort = _param(params, "sort", "s")
    if raw_sort:
        query.sort = parse_sort(resolve, raw_sort)
    elif view is not None and view.sort:
        # Keys on fields hidden from the caller are dropped: a page's `next` cursor carries the
        # sort values of its last row, which would reveal the hidden field.
        visible_ids = {f.id for f in visible}
        query.sort = [
            k for k in parse_sort(view_resolve, view.sort) if k.field.id in visible_ids
        ]
    raw_where = _param(params, "where", "w")
    view_where = view.where if view is not None else ""
    if raw_where or view_where:
        from bases.query.where import parse_where

        query.where = parse_where(raw_where) if raw_where else None
        query.view_where = parse_where(view_where) if view_where else None
        query._resolve = resolve
        query._view_resolve = view_resolve
    query.limit = int_param(
        params, ("limit", "l", "pageSize"), DEFAULT_LIMIT, low=1, high=max_limit
    )
    offset = int_param(params, ("offset", "o"), 0, low=0, high=10**12)
    page = _param(params, "page")
    if page not in (None, "") and not offset:
        offset = (int_param(params, ("page",), 1, low=1, high=10**9) - 1) * query.limit
    query.offset = offset
    cursor = _param(params, "cursor")
    if cursor:
        if offset:
            raise InvalidInput(
                "Use either `cursor` or `offset`, not both.", code="INVALID_PARAMETER"
            )
        query.cursor = str(cursor)
    return query
