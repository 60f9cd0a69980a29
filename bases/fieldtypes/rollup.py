"""Lookup, Rollup and Count: values read through a link to another table (computed, read-only).

Each is one correlated subquery in the statement over its table (bases/query/linked.py), so a
page costs one statement whatever its size and filters and sorts run in the database. Their
options are NocoDB's column options:

    Lookup  {fk_relation_column_id: link, fk_lookup_column_id: field of the linked table}
    Rollup  {fk_relation_column_id, fk_rollup_column_id, rollup_function: sum|avg|…}
    Count   {fk_relation_column_id}

A lookup over a belongs-to link is the linked record's value (typed as the target field);
over has-many or many-to-many links it is the list of the linked records' non-empty values,
in the linked table's key order (null when there are none). A lookup of a lookup follows both
links in one subquery (one flat list). The result's column type is kept in `column_type`
(what the readers, filters and footers go by); see docs/fields.md.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass

from bases.fieldtypes.base import UNORDERED_COLUMNS, FieldType
from bases.fieldtypes.columns import (
    BIGINT,
    DATE,
    DATETIME,
    DECIMAL,
    INTEGER,
    JSON,
    NUMERIC,
    ORDERED,
    TEXT,
    TIME,
)
from bases.fieldtypes.html import DISPLAY_LIMIT, chip, escape, markdown_text
from nocoplatform.errors import InvalidInput

LINK_KEY = "fk_relation_column_id"
LOOKUP_KEY = "fk_lookup_column_id"
ROLLUP_KEY = "fk_rollup_column_id"
FUNCTION_KEY = "rollup_function"
# Option keys naming another field: the field goes when one of those goes (bases/sync.py).
DEPENDENCY_KEYS = (LINK_KEY, LOOKUP_KEY, ROLLUP_KEY)
LOOKUP_COLOUR = "#eef1f4"
# Rollup functions by what they need of the target field's values.
COUNTING = ("count", "countDistinct")
NUMERIC_ONLY = ("sum", "sumDistinct", "avg", "avgDistinct")
ORDERED_ONLY = ("min", "max")


# ---- metadata: the link, the target, the path between them --------------------------------


def _meta(table):
    """A table's unrestricted metadata, from the metadata cache when it is current."""
    from bases import metacache
    from bases.table_meta import TableMeta

    own = getattr(table, "_table_meta", None)
    if own is not None:
        return own
    cached = metacache.cached(table.pk, table.source.meta_version)
    if cached is not None:
        return cached._table_meta
    return TableMeta.unrestricted(table)


def _field_in(table, field_id):
    if not field_id or table is None:
        return None
    return next((f for f in _meta(table).all_fields if f.id == field_id), None)


def link_of(field):
    """The link field a lookup, rollup or count reads through (None: it is gone)."""
    from bases.fieldtypes import field_type_for

    if getattr(field, "table_id", None) is None:
        return None
    link = _field_in(field.table, (field.options or {}).get(LINK_KEY))
    if link is None or not field_type_for(link).is_link or link.related_table is None:
        return None
    return link


def _hop(link):
    from bases.query.linked import Hop

    o, related = link.options, link.related_table
    return Hop(
        relation=o.get("relation", ""),
        table=related.table_name,
        fk_column=o.get("fk_column") or "",
        ref_column=o.get("ref_column") or "",
        junction=o.get("junction") or "",
        self_column=o.get("self_column") or "",
        other_column=o.get("other_column") or "",
        other_ref_column=o.get("other_ref_column") or "",
        order=tuple(f.column_name for f in _meta(related).pk),
    )


@dataclass(frozen=True)
class Path:
    hops: list  # bases.query.linked.Hop, from this table outwards
    target: object  # the Field whose values are read at the end (None for a count)
    many: bool  # a has-many or many-to-many link on the way: several values per row
    tables: tuple = ()  # ids of the tables read, hop by hop (what live updates follow)


def path_of(field, target_key: str | None, depth: int = 0) -> Path | None:
    """The links from `field`'s table to its target's table; a target that is itself a lookup
    is followed to its own target (one flat path). None when a link or target is gone."""
    from bases.fieldtypes import field_type_for
    from bases.query.expressions import MAX_DEPTH

    if depth > MAX_DEPTH:
        raise InvalidInput(
            f"The field {field.title!r} nests lookups more than {MAX_DEPTH} deep.",
            code="COMPUTED_TOO_DEEP",
        )
    link = link_of(field)
    if link is None:
        return None
    hops = [_hop(link)]
    many = link.options.get("relation") != "bt"
    tables = (str(link.related_table_id),)
    if target_key is None:
        return Path(hops, None, many, tables)
    target = _field_in(link.related_table, field.options.get(target_key))
    if target is None:
        return None
    if isinstance(field_type_for(target), Lookup):
        inner = path_of(target, LOOKUP_KEY, depth + 1)
        if inner is None:
            return None
        return Path(
            hops + inner.hops, inner.target, many or inner.many, tables + inner.tables
        )
    return Path(hops, target, many, tables)


def _first_key(field, path: Path, ctx):
    """The own row's column the path's first link joins on, read through `ctx` (so the page's
    derived table selects it). A correlated subquery must name the outer row's table: an
    unqualified column would be read from the linked table when both have one of that name."""
    from bases.query.formula.compiler import Frag

    hop = path.hops[0]
    name = hop.fk_column if hop.relation == "bt" else hop.ref_column
    key = next(
        (f for f in _meta(field.table).all_fields if f.column_name == name), None
    )
    if key is not None and ctx.own:
        return ctx.column(key)
    q = ctx.dialect.quote
    return Frag(f"{ctx.own or q(field.table.table_name)}.{q(name)}")


def _target_type(target):
    from bases.fieldtypes import field_type_for

    return field_type_for(target)


def _column_type(target) -> str:
    return getattr(target, "column_type", "") or TEXT


# ---- the types ---------------------------------------------------------------------------


class LinkedValue(FieldType):
    """What lookups, rollups and counts share."""

    virtual = True
    computed = True
    over_link = True
    read_only = True
    typed_in_cell = False
    fillable = False
    searchable = False
    icon = "↗"
    target_key: str | None = None

    def result_column_type(self, field, path: Path | None) -> str:
        raise NotImplementedError

    def column_options(self, field) -> dict:
        """The field's NocoDB `colOptions`."""
        o = field.options or {}
        keys = (LINK_KEY,) + ((self.target_key,) if self.target_key else ())
        return {k: o.get(k) for k in keys}

    def clean_computed(self, table, data: dict) -> dict:
        """The options of a new field of this type on `table` from a NocoDB-shaped request
        (checked: a 400 names what is wrong); sets `column_type` and `related_table` too."""
        from bases.fieldtypes import field_type_for

        col_options = data.get("colOptions")
        source = {**(col_options if isinstance(col_options, dict) else {}), **data}
        link_id = source.get(LINK_KEY)
        link = _field_in(table, link_id) if isinstance(link_id, str) else None
        if link is None or not field_type_for(link).is_link:
            raise InvalidInput(
                f"`{LINK_KEY}` must name a link field of '{table.title}'.",
                code="INVALID_LINK",
            )
        if link.related_table is None:
            raise InvalidInput(
                f"The link '{link.title}' has no linked table.", code="INVALID_LINK"
            )
        options = {LINK_KEY: link.id}
        if self.target_key:
            target_id = source.get(self.target_key)
            target = (
                _field_in(link.related_table, target_id)
                if isinstance(target_id, str)
                else None
            )
            if target is None:
                raise InvalidInput(
                    f"`{self.target_key}` must name a field of the linked table "
                    f"'{link.related_table.title}'.",
                    code="INVALID_TARGET",
                )
            if field_type_for(target).is_link:
                raise InvalidInput(
                    f"'{target.title}' is a link: look up or roll up one of its "
                    "table's fields (or a lookup over it) instead.",
                    code="INVALID_TARGET",
                )
            options[self.target_key] = target.id
        options.update(self.clean_extra(source))
        return {"options": options, "related_table": link.related_table}

    def clean_extra(self, source: dict) -> dict:
        return {}

    def define(
        self, table, data: dict, *, field=None, visible=None
    ) -> tuple[dict, str]:
        """(options, result column type) of a new field on `table` or of `field` changed by
        `data` (its options are kept where `data` says nothing); only fields in `visible`
        (ids the author may see; None: all) may be its link. Changing the link of `field`
        moves its `related_table` too (saved by the caller with the field)."""
        from bases.models import Field

        if field is not None:
            data = {**(field.options or {}), **data}
        spec = self.clean_computed(table, data)
        link_id = spec["options"][LINK_KEY]
        if visible is not None and link_id not in visible:
            raise InvalidInput(
                f"`{LINK_KEY}` must name a link field of '{table.title}'.",
                code="INVALID_LINK",
            )
        probe = Field(
            id=field.id if field is not None else "",
            table=table,
            title=field.title if field is not None else str(data.get("title") or ""),
            uidt=self.uidt,
            options=spec["options"],
            related_table=spec["related_table"],
        )
        self.check_path(probe)
        if field is not None:
            field.related_table = spec["related_table"]
        return spec["options"], probe.column_type

    # Followed once per deletion, by one of the three types (each registered type is asked).
    follows_deletions = False

    def fields_changed(self, table, *, gone=None) -> None:
        """A deleted field takes the lookups, rollups and counts that read it along."""
        if gone is not None and self.follows_deletions:
            from bases.lookup_services import remove_dependants

            remove_dependants([gone.id])

    def check_path(self, field) -> None:
        """A 400 when `field` (with its options) cannot be computed."""
        path = path_of(field, self.target_key)
        if path is None:
            raise InvalidInput(
                f"'{field.title}': its link or target field is gone.",
                code="INVALID_TARGET",
            )
        self.check_target(field, path)
        field.column_type = self.result_column_type(field, path)

    def check_target(self, field, path: Path) -> None:
        return None

    def path(self, field) -> Path | None:
        return path_of(field, self.target_key)

    # ---- reading
    def filterable(self, field) -> bool:
        return True

    def sortable(self, field) -> bool:
        return field.column_type not in UNORDERED_COLUMNS

    def groupable(self, field) -> bool:
        return self.sortable(field)

    def aggregates(self, field) -> list[str]:
        out = []
        if field.column_type in NUMERIC:
            out += ["sum", "avg"]
        if field.column_type in ORDERED:
            out += ["min", "max"]
        return out + ["empty", "filled"]

    def stacks_cards(self, field) -> bool:
        return field.column_type == TEXT

    def on_calendar(self, field) -> bool:
        return field.column_type in (DATE, DATETIME)

    def base_schema(self, field) -> dict:
        return {"type": "number"}

    def schema(self, field) -> dict:
        schema = {**self.base_schema(field), "readOnly": True}
        if field.description:
            schema["description"] = markdown_text(field.description)
        return schema


def _target_schema(target) -> dict:
    schema = dict(_target_type(target).schema(target))
    schema.pop("description", None)
    schema.pop("readOnly", None)
    return schema


class Lookup(LinkedValue):
    uidt, label = "Lookup", "Lookup"
    options_ui = "lookup"
    target_key = LOOKUP_KEY
    follows_deletions = True

    def result_column_type(self, field, path) -> str:
        return JSON if path.many else _column_type(path.target)

    def sql(self, field, ctx):
        from bases.query import linked
        from bases.query.formula.compiler import NULL

        path = self.path(field)
        if path is None:
            return NULL

        def value(c):
            return c.column(path.target)

        if path.many:
            return linked.value_list(
                ctx, path.hops, _first_key(field, path, ctx), value
            )
        return ctx.dialect.typed_result(
            linked.scalar(ctx, path.hops, _first_key(field, path, ctx), value),
            field.column_type,
        )

    def is_list(self, field) -> bool:
        return field.column_type == JSON

    def filter_column_type(self, field) -> str:
        # A list is filtered as its JSON text: `like` finds a value containing the text.
        return TEXT if self.is_list(field) else field.column_type

    def filter_ops_only(self, field):
        if self.is_list(field):
            return ("like", "nlike", "blank", "notblank", "null", "notnull")
        return None

    def sortable(self, field) -> bool:
        return not self.is_list(field) and super().sortable(field)

    def aggregates(self, field) -> list[str]:
        if self.is_list(field):
            return ["empty", "filled"]
        return super().aggregates(field)

    def _target(self, field):
        path = self.path(field)
        return path.target if path is not None else None

    # A lookup of one value stacks like its target: a select's options, members' names.
    def stacks_cards(self, field) -> bool:
        target = None if self.is_list(field) else self._target(field)
        if target is None:
            return False
        return field.column_type == TEXT or _target_type(target).stacks_cards(target)

    def stack_choices(self, field) -> list[dict]:
        target = self._target(field)
        return [] if target is None else _target_type(target).stack_choices(target)

    def stack_key(self, field, value) -> str:
        target = self._target(field)
        if target is None:
            return super().stack_key(field, value)
        return _target_type(target).stack_key(target, value)

    def stack_titles(self, field, keys: list[str]) -> dict[str, str]:
        target = self._target(field)
        if target is None:
            return {}
        return _target_type(target).stack_titles(target, keys)

    def base_schema(self, field) -> dict:
        target = self._target(field)
        item = _target_schema(target) if target is not None else {}
        if self.is_list(field):
            return {"type": "array", "items": item, "nullable": True}
        return {**item, "nullable": True}

    def _items(self, field, value) -> list:
        return value if isinstance(value, list) else [value]

    def edit_text(self, field, value) -> str:
        if value is None:
            return ""
        target = self._target(field)
        if target is None:
            return str(value)
        ttype = _target_type(target)
        if not self.is_list(field):
            return ttype.edit_text(target, value)
        return ", ".join(ttype.edit_text(target, v) for v in self._items(field, value))

    def show(self, field, value, file_url=None) -> str:
        target = self._target(field)
        if target is None:
            return escape(str(value)[:DISPLAY_LIMIT])
        ttype = _target_type(target)
        if not self.is_list(field):
            return ttype.display_html(target, value, file_url)
        return "".join(
            chip(ttype.edit_text(target, v)[:DISPLAY_LIMIT], LOOKUP_COLOUR)
            for v in self._items(field, value)[:50]
        )


class Rollup(LinkedValue):
    uidt, label = "Rollup", "Rollup"
    options_ui = "rollup"
    numeric = True
    target_key = ROLLUP_KEY

    def clean_extra(self, source: dict) -> dict:
        from bases.query.linked import ROLLUP_FUNCTIONS

        fn = source.get(FUNCTION_KEY)
        if fn not in ROLLUP_FUNCTIONS:
            raise InvalidInput(
                f"`{FUNCTION_KEY}` must be one of {', '.join(ROLLUP_FUNCTIONS)}.",
                code="INVALID_ROLLUP_FUNCTION",
            )
        return {FUNCTION_KEY: fn}

    def column_options(self, field) -> dict:
        return {**super().column_options(field), FUNCTION_KEY: self.function(field)}

    def function(self, field) -> str:
        return (field.options or {}).get(FUNCTION_KEY) or "count"

    def check_target(self, field, path) -> None:
        fn, target = self.function(field), path.target
        kind = _column_type(target)
        ok = (
            (fn in NUMERIC_ONLY and kind in NUMERIC)
            or (fn in ORDERED_ONLY and kind in ORDERED)
            or fn in COUNTING
            or (fn == "concat" and kind != JSON)
        )
        if not ok:
            need = "a number" if fn in NUMERIC_ONLY else "a number, date or time"
            if fn == "concat":
                need = "a field that is not JSON"
            raise InvalidInput(
                f"The rollup function '{fn}' needs {need} field; "
                f"'{target.title}' is {target.uidt}.",
                code="INVALID_ROLLUP_FUNCTION",
            )

    def result_column_type(self, field, path) -> str:
        fn, kind = self.function(field), _column_type(path.target)
        if fn in COUNTING:
            return BIGINT
        if fn in ("sum", "sumDistinct"):
            return BIGINT if kind in (INTEGER, BIGINT) else DECIMAL
        if fn in ("avg", "avgDistinct"):
            return DECIMAL
        if fn == "concat":
            return TEXT
        return kind  # min, max keep the target's type (dates stay dates)

    def sql(self, field, ctx):
        from bases.query import linked
        from bases.query.formula.compiler import NULL

        path = self.path(field)
        if path is None:
            return NULL
        return ctx.dialect.typed_result(
            linked.aggregate(
                ctx,
                path.hops,
                _first_key(field, path, ctx),
                lambda c: c.column(path.target),
                self.function(field),
            ),
            field.column_type,
        )

    def base_schema(self, field) -> dict:
        fn = self.function(field)
        if fn in COUNTING:
            return {"type": "integer"}
        if fn == "concat":
            return {"type": "string", "nullable": True}
        if field.column_type in (DATE, DATETIME, TIME):
            path = self.path(field)
            if path is not None:
                return {**_target_schema(path.target), "nullable": True}
        if field.column_type in (INTEGER, BIGINT):
            return {"type": "integer", "nullable": True}
        return {"type": "number", "nullable": True}

    def show(self, field, value, file_url=None) -> str:
        if field.column_type in (DATE, DATETIME, TIME):
            path = self.path(field)
            if path is not None:
                return _target_type(path.target).display_html(path.target, value)
        if field.column_type in NUMERIC:
            try:
                number = decimal.Decimal(str(value))
            except decimal.InvalidOperation:
                return escape(str(value))
            precision = (field.options or {}).get("precision")
            if precision not in (None, ""):
                return escape(f"{number:,.{int(precision)}f}")
            return escape(f"{number.normalize():f}" if number == number else str(value))
        return super().show(field, value, file_url)


class Count(LinkedValue):
    uidt, label = "Count", "Count"
    options_ui = "count"
    numeric = True
    icon = "#"

    def result_column_type(self, field, path) -> str:
        return BIGINT

    def sql(self, field, ctx):
        from bases.query import linked
        from bases.query.formula.compiler import NULL

        path = self.path(field)
        if path is None:
            return NULL
        return linked.count(ctx, path.hops, _first_key(field, path, ctx))

    def base_schema(self, field) -> dict:
        return {"type": "integer"}


COMPUTED_OVER_LINKS = (Lookup, Rollup, Count)
