"""Lookup, Rollup and Count fields: created from NocoDB's meta API shapes, checked, and removed
with the link or field they read (as NocoDB does), so a table never holds a broken one.

The values themselves are computed by the query layer (bases/fieldtypes/rollup.py,
bases/query/linked.py); these fields have no column, only metadata.
"""

from __future__ import annotations

import threading

from django.db import connections, transaction
from django.db.models import Max, Q

from bases import fieldtypes as ft
from bases.fieldtypes.rollup import LINK_KEY
from bases.models import Field, Table
from bases.query.dialects import dialect_for
from bases.query.expressions import field_sql
from bases.sources import source_alias
from bases.table_meta import TableMeta
from nocoplatform.errors import Conflict, InvalidInput
from permissions.checks import Actor, require
from records import meta_events


def lookup_field_create(*, actor: Actor, table: Table, data: dict) -> Field:
    """A Lookup, Rollup or Count field on `table` (`data`: NocoDB's column shape)."""
    from bases.schema_services import _bump, _clean_title

    # Metadata only: allowed where the data source's schema is not editable (as NocoDB does).
    require(actor, "fields.create", table)
    ftype = ft.get(data.get("uidt"))
    title = _clean_title(data.get("title") or data.get("column_name") or "")
    if table.fields.filter(title__iexact=title).exists():
        raise Conflict(
            f"A field called '{title}' exists already.", code="DUPLICATE_TITLE"
        )
    visible = frozenset(f.id for f in TableMeta.of(table, actor=actor).fields)
    options, column_type = ftype.define(table, data, visible=visible)
    field = Field(
        table=table,
        title=title,
        uidt=ftype.uidt,
        column_name="",
        column_type=column_type,
        options=options,
        description=str(data.get("description") or ""),
    )
    link = next(
        f for f in TableMeta.of(table, actor=actor).fields if f.id == options[LINK_KEY]
    )
    field.related_table = link.related_table
    # The target must be one the author may see in the linked table (NotFound: not the table).
    target_id = options.get(ftype.target_key) if ftype.target_key else None
    if target_id is not None and target_id not in {
        f.id for f in TableMeta.of(link.related_table, actor=actor).fields
    }:
        raise InvalidInput(
            f"`{ftype.target_key}` must name a field of the linked table "
            f"'{link.related_table.title}'.",
            code="INVALID_TARGET",
        )
    # Compiled once now: a definition that cannot be computed is refused here, not on read.
    vendor = connections[source_alias(table.source)].vendor
    field_sql(dialect_for(vendor), field)
    with transaction.atomic():
        field.order = (table.fields.aggregate(m=Max("order"))["m"] or 0) + 1
        field.save()
        _bump(table.source)
        meta_events.schema_changed(table.pk)
    return field


def dependants(field_ids) -> list[Field]:
    """The lookups, rollups and counts reading any of `field_ids`, and those reading them."""
    from bases.fieldtypes.rollup import COMPUTED_OVER_LINKS, DEPENDENCY_KEYS

    uidts = [t.uidt for t in COMPUTED_OVER_LINKS]
    found: dict[str, Field] = {}
    wanted = {i for i in field_ids if i}
    while wanted:
        cond = Q()
        for key in DEPENDENCY_KEYS:
            cond |= Q(**{f"options__{key}__in": sorted(wanted)})
        new = [
            f
            for f in Field.objects.filter(cond, uidt__in=uidts).select_related("table")
            if f.id not in found
        ]
        for f in new:
            found[f.id] = f
        wanted = {f.id for f in new}
    return list(found.values())


def remove_dependants(field_ids) -> None:
    """Delete the fields reading `field_ids` (a link or target field being deleted)."""
    for field in dependants(field_ids):
        meta_events.schema_changed(field.table_id)
        field.delete()


# (source id, metadata version) -> {read table id: {reading table id: [field ids]}}
_readers: dict[tuple, dict[str, dict[str, list[str]]]] = {}
_readers_lock = threading.Lock()


def readers_of(table: Table) -> dict[str, list[str]]:
    """{table id: [field ids]}: the lookups, rollups and counts whose values read `table`'s
    rows (through any link on their path), by the table that shows them. Computed once per
    metadata version of the data source, so a write pays a dict look-up."""
    from bases.fieldtypes.rollup import COMPUTED_OVER_LINKS

    key = (str(table.source_id), table.source.meta_version)
    found = _readers.get(key)
    if found is None:
        found = {}
        fields = Field.objects.filter(
            table__source_id=table.source_id,
            uidt__in=[t.uidt for t in COMPUTED_OVER_LINKS],
        ).select_related("table__source", "related_table__source")
        for field in fields:
            try:
                path = ft.field_type_for(field).path(field)
            except InvalidInput:  # a broken definition reads nothing live
                continue
            for read in path.tables if path is not None else ():
                found.setdefault(read, {}).setdefault(str(field.table_id), []).append(
                    field.id
                )
        with _readers_lock:
            if len(_readers) > 256:
                _readers.clear()
            _readers[key] = found
    return found.get(str(table.pk), {})
