"""The GraphQL schema of one base as one caller sees it, generated from its metadata.

A type per table with a field per visible field (typed from FieldType.schema), links as nested
records, list / get / count queries and, where the caller's role allows, create / update /
delete mutations (one and many). Tables and fields the caller cannot see are absent, so
introspection shows exactly what they may use. Built schemas are cached per process by
(base, each table's metadata version, the caller's visible fields, read-only fields and
allowed writes): callers with the same view share one schema.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
)

from bases import metacache, selectors
from bases.fieldtypes import field_type_for
from bases.gql import loading
from bases.gql.executor import VALUE
from bases.gql.types import (
    RESERVED_TYPES,
    BigInt,
    Names,
    output,
    scalar_for,
)
from bases.models import Field
from bases.table_meta import TableMeta
from nocoplatform.errors import NotFound
from permissions.checks import Actor, can, role_of

WRITES = ("records.create", "records.update", "records.delete")
ROOT_SUFFIXES = ("", "_get", "_count", "_create", "_create_many", "_update")
ROOT_SUFFIXES += ("_update_many", "_delete", "_delete_many")
TYPE_SUFFIXES = ("Page", "Input", "Patch")


@dataclass
class FieldSpec:
    name: str
    field: Field
    link: bool = False
    many: bool = False


@dataclass
class TableSpec:
    """What the schema knows of one table, for the resolvers (loading.py)."""

    table_id: str
    type_name: str
    root: str
    meta: TableMeta
    writes: frozenset
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    inputs: dict[str, Field] = field(default_factory=dict)  # input name -> field


def _visible(base_id: str, actor: Actor):
    """(the base, [(table, the actor's view of it, allowed writes)]) for the tables the
    actor may see; NotFound (BASE_NOT_FOUND) when the base does not exist for them.

    One meta query on the hot path: every table of the base with its metadata version, the
    actor's base role and their override for it (remembered for this request, as
    bases/metacache.py does for one table); the tables themselves come from the metadata
    cache when their version has not moved."""
    from permissions.checks import perm_cache, require

    uid = actor.user.pk if actor.is_authenticated else None
    rows = metacache.base_tables(base_id, uid)
    if not rows:  # a base without tables, or none at all
        return selectors.base_get(actor=actor, base_id=base_id), []
    if uid is not None:
        cache = perm_cache(actor.user)
        cache.roles[base_id] = rows[0][3]
        cache.table_roles.update({r[0]: r[4] for r in rows})
        cache.overrides_known.add(base_id)
    out, base = [], None
    for table_id, version, is_junction, _, _ in rows:
        table = metacache.cached(table_id, version) or metacache.get_table(
            table_id, actor.user
        )
        if table is None:
            continue
        if base is None:
            base = table.base
            try:
                require(actor, "base.read", base)
            except NotFound:
                raise NotFound("Base not found.", code="BASE_NOT_FOUND")
        if is_junction or role_of(actor, table) is None:
            continue
        meta = TableMeta.of(table, actor=actor)
        writes = frozenset(op for op in WRITES if can(actor, op, table))
        if table.read_only_reason or not meta.pk:
            writes = frozenset()
        out.append((table, meta, writes))
    if base is None:
        return selectors.base_get(actor=actor, base_id=base_id), []
    return base, out


_lock = threading.Lock()
_schemas: OrderedDict = OrderedDict()
MAX_SCHEMAS = 200


def schema_for(base_id: str, actor: Actor) -> tuple[GraphQLSchema, dict]:
    """The caller's schema and the resolvers' context (base, tables by id, specs, actor)."""
    base, visible = _visible(base_id, actor)
    key = (
        base.pk,
        tuple(
            (
                t.pk,
                t.source.meta_version,
                tuple(f.id for f in m.fields),
                tuple(sorted(m.read_only)),
                tuple(sorted(w)),
            )
            for t, m, w in visible
        ),
    )
    with _lock:
        hit = _schemas.get(key)
        if hit is not None:
            _schemas.move_to_end(key)
    if hit is None:
        hit = _build(visible)
        with _lock:
            _schemas[key] = hit
            while len(_schemas) > MAX_SCHEMAS:
                _schemas.popitem(last=False)
    schema, specs = hit
    context = {
        "base": base,
        "actor": actor,
        "tables": {t.pk: t for t, _, _ in visible},
        "specs": specs,
    }
    return schema, context


def clear() -> None:
    with _lock:
        _schemas.clear()


# --- building ---------------------------------------------------------------------------------


def _writable(meta: TableMeta, f: Field) -> bool:
    return (
        bool(f.column_name)
        and f.id not in meta.read_only
        and not field_type_for(f).read_only
        and not (f.is_pk and f.is_auto)
    )


def _build(visible) -> tuple[GraphQLSchema, dict[str, TableSpec]]:
    type_names = Names(RESERVED_TYPES)
    roots = Names()
    specs: dict[str, TableSpec] = {}
    for table, meta, writes in visible:
        root = roots(table.title)
        while any(root + s in roots.taken for s in ROOT_SUFFIXES[1:]):
            root = roots(table.title)
        roots.taken.update(root + s for s in ROOT_SUFFIXES)
        title = table.title[:1].upper() + table.title[1:]
        name = type_names(title)
        while any(name + s in type_names.taken for s in TYPE_SUFFIXES):
            name = type_names(title)
        type_names.taken.update(name + s for s in TYPE_SUFFIXES)
        spec = TableSpec(table.pk, name, root, meta, writes)
        names = Names({"_id", "_display"})
        for f in meta.fields:
            ft = field_type_for(f)
            if ft.is_link:
                if f.related_table_id not in {t.pk for t, _, _ in visible}:
                    continue
                many = f.options.get("relation") != "bt"
                spec.fields[names(f.title)] = FieldSpec("", f, link=True, many=many)
            else:
                spec.fields[names(f.title)] = FieldSpec("", f)
        inputs = Names({"_id"})
        for f in meta.fields:
            if _writable(meta, f):
                spec.inputs[inputs(f.title)] = f
        for n, fs in spec.fields.items():
            fs.name = n
        specs[table.pk] = spec

    objects: dict[str, GraphQLObjectType] = {}
    page_info = GraphQLObjectType(
        "PageInfo",
        {
            "totalRows": GraphQLField(
                BigInt, description="Exact, or an estimate when totalRowsEstimated"
            ),
            "totalRowsEstimated": GraphQLField(
                GraphQLNonNull(GraphQLBoolean),
                resolve=lambda info_, _: bool(info_.get("totalRowsEstimated")),
            ),
            "page": GraphQLField(GraphQLInt),
            "pageSize": GraphQLField(GraphQLInt),
            "isFirstPage": GraphQLField(GraphQLBoolean),
            "isLastPage": GraphQLField(GraphQLBoolean),
            "next": GraphQLField(
                GraphQLString, description="Cursor of the next page: pass as `cursor`"
            ),
        },
    )

    def record_type(spec: TableSpec) -> GraphQLObjectType:
        def fields():
            out = {
                "_id": _plain(
                    GraphQLNonNull(GraphQLID),
                    loading.record_id(spec),
                    "The record id, as in the REST API's URLs",
                ),
                "_display": _plain(
                    GraphQLString,
                    loading.display_value(spec),
                    "The record's display value (its primary value)",
                ),
            }
            for n, fs in spec.fields.items():
                f = fs.field
                if fs.link:
                    related = objects[f.related_table_id]
                    if fs.many:
                        out[n] = GraphQLField(
                            GraphQLNonNull(GraphQLList(GraphQLNonNull(related))),
                            args={
                                "where": GraphQLArgument(
                                    GraphQLString,
                                    description="Filter the linked records, as REST's "
                                    "`where` (docs/where.md)",
                                ),
                                "sort": GraphQLArgument(
                                    GraphQLString,
                                    description="Order of each record's linked records: "
                                    "comma list of fields, `-` for descending",
                                ),
                                "limit": GraphQLArgument(
                                    GraphQLInt,
                                    description="At most this many per record "
                                    f"(default {loading.NESTED_LIMIT})",
                                ),
                            },
                            description=f.description or None,
                            resolve=loading.linked,
                        )
                    else:
                        out[n] = GraphQLField(
                            related,
                            description=f.description or None,
                            resolve=loading.linked,
                        )
                    continue
                schema = field_type_for(f).schema(f)
                out[n] = _plain(
                    scalar_for(schema), _value(f.title), f.description or None
                )
            return out

        return GraphQLObjectType(
            spec.type_name,
            fields,
            description=f"A record of '{spec.meta.table.title}'",
            extensions={VALUE: True},  # has plain value fields (executor.py)
        )

    for spec in specs.values():
        objects[spec.table_id] = record_type(spec)

    list_args = {
        "where": GraphQLArgument(
            GraphQLString, description="Filter, as REST's `where` (docs/where.md)"
        ),
        "sort": GraphQLArgument(
            GraphQLString, description="Comma list of fields, `-` for descending"
        ),
        "limit": GraphQLArgument(GraphQLInt, description="Page size, 1–1000 (25)"),
        "offset": GraphQLArgument(GraphQLInt),
        "cursor": GraphQLArgument(
            GraphQLString, description="pageInfo.next of the previous page"
        ),
    }
    query: dict[str, GraphQLField] = {}
    mutation: dict[str, GraphQLField] = {}
    for spec in specs.values():
        obj = objects[spec.table_id]
        page = GraphQLObjectType(
            spec.type_name + "Page",
            {
                "list": GraphQLField(GraphQLNonNull(GraphQLList(GraphQLNonNull(obj)))),
                "pageInfo": GraphQLField(GraphQLNonNull(page_info)),
            },
        )
        r = spec.root
        title = spec.meta.table.title
        query[r] = GraphQLField(
            GraphQLNonNull(page),
            args=list_args,
            description=f"A page of '{title}'",
            resolve=loading.list_page(spec),
        )
        query[r + "_get"] = GraphQLField(
            obj,
            args={"id": GraphQLArgument(GraphQLNonNull(GraphQLID))},
            description=f"One record of '{title}' by id (null if missing)",
            resolve=loading.get_one(spec),
        )
        query[r + "_count"] = GraphQLField(
            GraphQLNonNull(BigInt),
            args={"where": list_args["where"]},
            description="Exact count",
            resolve=loading.count(spec),
        )
        data_fields = {
            n: GraphQLInputField(
                scalar_for(field_type_for(f).schema(f)), description=f.title
            )
            for n, f in spec.inputs.items()
        }
        one, many = (
            GraphQLNonNull(obj),
            GraphQLNonNull(GraphQLList(GraphQLNonNull(obj))),
        )
        ids = GraphQLNonNull(GraphQLList(GraphQLNonNull(GraphQLID)))
        if "records.create" in spec.writes and data_fields:
            inp = GraphQLNonNull(
                GraphQLInputObjectType(spec.type_name + "Input", data_fields)
            )
            mutation[r + "_create"] = GraphQLField(
                one, args={"data": GraphQLArgument(inp)}, resolve=loading.create(spec)
            )
            mutation[r + "_create_many"] = GraphQLField(
                many,
                args={"data": GraphQLArgument(GraphQLNonNull(GraphQLList(inp)))},
                description="Up to 1000 records, all or nothing",
                resolve=loading.create(spec, many=True),
            )
        if "records.update" in spec.writes and data_fields:
            patch = GraphQLNonNull(
                GraphQLInputObjectType(
                    spec.type_name + "Patch",
                    {"_id": GraphQLInputField(GraphQLNonNull(GraphQLID))} | data_fields,
                )
            )
            mutation[r + "_update"] = GraphQLField(
                one,
                args={"data": GraphQLArgument(patch)},
                resolve=loading.update(spec),
            )
            mutation[r + "_update_many"] = GraphQLField(
                many,
                args={"data": GraphQLArgument(GraphQLNonNull(GraphQLList(patch)))},
                description="Up to 1000 records, all or nothing",
                resolve=loading.update(spec, many=True),
            )
        if "records.delete" in spec.writes:
            mutation[r + "_delete"] = GraphQLField(
                GraphQLNonNull(GraphQLID),
                args={"id": GraphQLArgument(GraphQLNonNull(GraphQLID))},
                resolve=loading.delete(spec),
            )
            mutation[r + "_delete_many"] = GraphQLField(
                ids,
                args={"ids": GraphQLArgument(ids)},
                description="Up to 1000 records, all or nothing",
                resolve=loading.delete(spec, many=True),
            )
    if not query:
        query["_empty"] = GraphQLField(
            GraphQLString,
            description="No table of this base is visible to you",
            resolve=lambda *_: None,
        )
    schema = GraphQLSchema(
        GraphQLObjectType("Query", query),
        GraphQLObjectType("Mutation", mutation) if mutation else None,
    )
    return schema, specs


def _value(title: str):
    def read(row):
        return output(row.get(title))

    return read


def _plain(type_, read, description) -> GraphQLField:
    """A field whose value is `read(row)`: executor.RecordExecutor reads it without a
    resolver call; the resolver is graphql-core's way to the same value (errors, tools)."""
    return GraphQLField(
        type_,
        description=description,
        resolve=lambda row, info: read(row),
        extensions={VALUE: read},
    )
