"""Resolvers: GraphQL selections turned into calls of the records services REST uses.

Reads go through bases/records.py (`query_for` + `list_records`, `count_records`), so where,
sort, limit, offset and cursor mean exactly what they mean in REST and the caller's hidden
fields stay hidden. A page reads only the selected fields. Nested link selections are loaded
for the whole page at once: one `records.linked_rows` call per link field per page (and the
same again one level down), never one per row. Writes go through records/writes.py, so
validation, permissions, history, webhooks and realtime are those of REST.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLResolveInfo,
    InlineFragmentNode,
)
from graphql.execution.values import get_argument_values

from bases import records
from bases.query.where import KeysIn
from bases.table_meta import PK_SEPARATOR
from nocoplatform.errors import InvalidInput
from records.writes import delete_rows, insert_rows, update_rows

LINKS = (
    "\x00links"  # a row's nested link results, by response key (never a field title)
)
NESTED_LIMIT = 25  # linked records per record when a nested list names no limit


# --- selections -------------------------------------------------------------------------------


def _collect(info: GraphQLResolveInfo, nodes, out: dict) -> dict:
    """Response key -> the field nodes selected under `nodes` (fragments flattened)."""
    for node in nodes:
        if node.selection_set is None:
            continue
        for sel in node.selection_set.selections:
            if isinstance(sel, FieldNode):
                key = sel.alias.value if sel.alias else sel.name.value
                out.setdefault(key, []).append(sel)
            elif isinstance(sel, InlineFragmentNode):
                _collect(info, [sel], out)
            elif isinstance(sel, FragmentSpreadNode):
                fragment = info.fragments.get(sel.name.value)
                if fragment is not None:
                    _collect(info, [fragment], out)
    return out


@dataclass
class LinkPlan:
    key: str  # response key
    spec: object  # schema.FieldSpec
    limit: int | None
    params: dict  # REST's where / sort for the linked records
    own_key: object  # row -> own key value (records.link_key)
    nested: Plan


@dataclass
class Plan:
    """What to read of one table for a selection: its fields, and the links to expand."""

    spec: object  # schema.TableSpec
    fields: list = field(default_factory=list)
    links: list[LinkPlan] = field(default_factory=list)


def _plan(ctx: dict, spec, nodes, info: GraphQLResolveInfo) -> Plan:
    actor, table = ctx["actor"], ctx["tables"][spec.table_id]
    meta = spec.meta
    plan = Plan(spec, list(meta.pk))
    gql_type = info.schema.get_type(spec.type_name)
    selected = _collect(info, nodes, {})

    def need(f):
        if f is not None and f not in plan.fields:
            plan.fields.append(f)

    for key, field_nodes in selected.items():
        name = field_nodes[0].name.value
        if name == "_display":
            need(meta.pv)
            continue
        fs = spec.fields.get(name)
        if fs is None:
            continue
        if not fs.link:
            need(fs.field)
            continue
        args = get_argument_values(
            gql_type.fields[name], field_nodes[0], info.variable_values
        )
        limit = args.get("limit")
        if limit is not None and limit < 0:
            raise InvalidInput("limit must be 0 or more.", code="INVALID_LIMIT")
        own_title, own_key = records.link_key(table, fs.field, actor=actor)
        need(meta.resolve.by_title.get(own_title))
        related = ctx["specs"][fs.field.related_table_id]
        plan.links.append(
            LinkPlan(
                key,
                fs,
                (limit if limit is not None else NESTED_LIMIT) if fs.many else None,
                _list_params({k: args.get(k) for k in ("where", "sort")}),
                own_key,
                _plan(ctx, related, field_nodes, info),
            )
        )
    return plan


def _fill_links(ctx: dict, plan: Plan, rows: list[dict]) -> None:
    """Attach each link selection's records to `rows`: one linked_rows call per link field
    for all the rows, then the same for the linked records' own link selections."""
    if not rows:
        return
    table = ctx["tables"][plan.spec.table_id]
    for link in plan.links:
        keys = [link.own_key(r) for r in rows]
        by_key, _ = records.linked_rows(
            table,
            link.spec.field,
            keys,
            actor=ctx["actor"],
            fields=link.nested.fields,
            params=link.params,
        )
        unique = {id(r): r for rs in by_key.values() for r in rs}
        _fill_links(ctx, link.nested, list(unique.values()))
        for row, k in zip(rows, keys, strict=True):
            found = by_key.get(str(k), []) if k is not None else []
            value = found[: link.limit] if link.spec.many else (found or [None])[0]
            row.setdefault(LINKS, {})[link.key] = value


def _read(ctx: dict, spec, nodes, info, params=None, where=None):
    """A page of `spec`'s table for the selection `nodes` (the record's sub-selection)."""
    table = ctx["tables"][spec.table_id]
    plan = _plan(ctx, spec, nodes, info)
    _, query = records.query_for(table, params or {}, actor=ctx["actor"])
    query.fields = plan.fields
    page = records.list_records(table, actor=ctx["actor"], query=query, where=where)
    _fill_links(ctx, plan, page.rows)
    return page


# --- record fields ----------------------------------------------------------------------------


def record_id(spec):
    """row -> the record's id (schema.py makes it the `_id` field)."""
    pk = [f.title for f in spec.meta.pk]
    if len(pk) == 1:
        title = pk[0]
        return lambda row: row.get(title)

    def read(row):
        return spec.meta.record_id([row.get(t) for t in pk])

    return read


def display_value(spec):
    """row -> the record's display value (the `_display` field)."""
    pv = spec.meta.pv
    read_id = record_id(spec)

    def read(row):
        if pv is None:
            return str(read_id(row))
        value = row.get(pv.title)
        return None if value is None else str(value)

    return read


def linked(row, info: GraphQLResolveInfo, **_args):
    """A link's records, loaded with the page (`_fill_links`: where, sort and limit were
    applied there)."""
    return row.get(LINKS, {}).get(info.path.key)


# --- queries ----------------------------------------------------------------------------------


def _list_params(args: dict) -> dict:
    return {k: str(v) for k, v in args.items() if v is not None}


def list_page(spec):
    def resolve(root, info: GraphQLResolveInfo, **args):
        ctx = info.context
        lists = _collect(info, info.field_nodes, {})
        nodes = [n for key, ns in lists.items() for n in ns if n.name.value == "list"]
        page = _read(ctx, spec, nodes, info, params=_list_params(args))
        return {"list": page.rows, "pageInfo": page.page_info}

    return resolve


def _keys(spec, ids) -> list[list]:
    return [spec.meta.parse_record_id(i) for i in ids]


def _by_keys(info, spec, keys: list[list]) -> list[dict]:
    """The records with these keys, in that order, read for the current selection."""
    if not keys:
        return []
    pk = spec.meta.pk
    page = _read(
        info.context,
        spec,
        info.field_nodes,
        info,
        params={"limit": str(len(keys))},
        where=KeysIn(tuple(pk), tuple(tuple(k) for k in keys)),
    )
    found = {tuple(str(r.get(f.title)) for f in pk): r for r in page.rows}
    return [
        r for r in (found.get(tuple(str(v) for v in k)) for k in keys) if r is not None
    ]


def get_one(spec):
    def resolve(root, info, id):
        rows = _by_keys(info, spec, _keys(spec, [id]))
        return rows[0] if rows else None

    return resolve


def count(spec):
    def resolve(root, info, **args):
        table = info.context["tables"][spec.table_id]
        return records.count_records(
            table, _list_params(args), actor=info.context["actor"]
        )

    return resolve


# --- mutations --------------------------------------------------------------------------------


def _values(spec, data: dict) -> dict:
    return {spec.inputs[n].title: v for n, v in data.items() if n in spec.inputs}


def _check_many(items: list) -> None:
    if not items:
        raise InvalidInput("Give at least one record.", code="INVALID_BODY")


def create(spec, *, many: bool = False):
    def resolve(root, info, data):
        items = data if many else [data]
        _check_many(items)
        table = info.context["tables"][spec.table_id]
        keys = insert_rows(
            table, [_values(spec, d) for d in items], actor=info.context["actor"]
        )
        rows = _by_keys(info, spec, [list(k) for k in keys])
        return rows if many else rows[0]

    return resolve


def update(spec, *, many: bool = False):
    def resolve(root, info, data):
        items = data if many else [data]
        _check_many(items)
        table = info.context["tables"][spec.table_id]
        pk = spec.meta.pk
        body = []
        for d in items:
            key = spec.meta.parse_record_id(d["_id"])
            body.append(
                {f.title: v for f, v in zip(pk, key, strict=True)} | _values(spec, d)
            )
        keys = update_rows(table, body, actor=info.context["actor"])
        rows = _by_keys(info, spec, [list(k) for k in keys])
        return rows if many else rows[0]

    return resolve


def delete(spec, *, many: bool = False):
    def resolve(root, info, **args):
        ids = args["ids"] if many else [args["id"]]
        _check_many(ids)
        table = info.context["tables"][spec.table_id]
        pk = spec.meta.pk
        body = [
            {f.title: v for f, v in zip(pk, key, strict=True)}
            for key in _keys(spec, ids)
        ]
        keys = delete_rows(table, body, actor=info.context["actor"])
        out = [PK_SEPARATOR.join(str(v) for v in k) for k in keys]
        return out if many else out[0]

    return resolve
