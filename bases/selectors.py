"""Reads of metadata, each scoped to what the actor may see (404 otherwise)."""

from __future__ import annotations

from bases.models import Base, DataSource, Field, Table
from nocoplatform.errors import NotFound
from permissions.checks import Actor, require, visible_bases, visible_tables


def base_list(*, actor: Actor):
    return visible_bases(actor).order_by("created_at")


def base_get(*, actor: Actor, base_id: str, operation: str = "base.read") -> Base:
    base = Base.objects.filter(pk=base_id).first()
    if base is None:
        raise NotFound("Base not found.", code="BASE_NOT_FOUND")
    require(actor, operation, base)
    return base


def source_get(*, actor: Actor, base: Base, source_id: str) -> DataSource:
    source = base.sources.filter(pk=source_id).first()
    if source is None:
        raise NotFound("Data source not found.", code="SOURCE_NOT_FOUND")
    return source


def table_get(*, actor: Actor, table_id: str, operation: str = "table.read") -> Table:
    from bases import metacache

    table = metacache.get_table(table_id, actor.user)
    if table is None:
        raise NotFound("Table not found.", code="TABLE_NOT_FOUND")
    try:
        require(actor, operation, table)
    except NotFound:
        raise NotFound("Table not found.", code="TABLE_NOT_FOUND")
    return table


def table_list(*, actor: Actor, base: Base, include_junctions: bool = False) -> list:
    """The base's tables that exist for the actor (table overrides may hide some)."""
    tables = [t for t in base.tables.all() if include_junctions or not t.is_junction]
    return visible_tables(actor, tables)


def field_get(*, actor: Actor, field_id: str, operation: str = "table.read") -> Field:
    field = (
        Field.objects.select_related("table__base", "table__source")
        .filter(pk=field_id)
        .first()
    )
    if field is None:
        raise NotFound("Field not found.", code="FIELD_NOT_FOUND")
    try:
        # Hidden fields and fields of tables the actor cannot see are 404 like missing ones.
        require(actor, operation, field)
    except NotFound:
        raise NotFound("Field not found.", code="FIELD_NOT_FOUND")
    return field
