"""Metadata as JSON, in NocoDB's v2 meta shapes (so NocoDB clients can discover ids)."""

from __future__ import annotations

from bases.fieldtypes import field_type_for
from bases.models import Base, DataSource, Field, Table
from bases.sources import config_of


def source_json(source: DataSource) -> dict:
    return {
        "id": source.id,
        "base_id": source.base_id,
        "alias": source.alias,
        "type": source.kind,
        "is_meta": source.is_builtin,
        "config": {} if source.is_builtin else config_of(source).public(),
        "is_schema_readonly": not source.allow_schema_edit,
        "is_data_readonly": not source.allow_data_edit,
        "enabled": True,
        "last_synced_at": source.last_synced_at,
        "created_at": source.created_at,
        "updated_at": source.updated_at,
    }


def base_json(base: Base, *, with_sources: bool = True) -> dict:
    data = {
        "id": base.id,
        "title": base.title,
        "description": base.description,
        "cors_origins": base.cors_origins,
        "created_at": base.created_at,
        "updated_at": base.updated_at,
    }
    if with_sources:
        data["sources"] = [source_json(s) for s in base.sources.all()]
    return data


def column_json(field: Field) -> dict:
    data = {
        "id": field.id,
        "fk_model_id": field.table_id,
        "title": field.title,
        "column_name": field.column_name or None,
        "uidt": field.uidt,
        "dt": field.db_type or None,
        "description": field.description,
        "pk": field.is_pk,
        "pv": False,
        "rqd": not field.is_nullable,
        "ai": field.is_auto,
        "un": field.is_unique,
        "cdf": field.default,
        "system": field.is_system,
        "order": field.order,
        "meta": {k: v for k, v in field.options.items() if k not in ("choices",)},
    }
    extra = field_type_for(field).column_options(field)
    if extra is not None:
        data["colOptions"] = extra
    elif field_type_for(field).has_choices:
        data["colOptions"] = {"options": field.options.get("choices", [])}
    elif field_type_for(field).is_link:
        o = field.options
        data["colOptions"] = {
            "type": o.get("relation"),
            "fk_related_model_id": field.related_table_id,
            "fk_column": o.get("fk_column") or None,
            "fk_mm_model_id": o.get("junction_table_id"),
        }
    return data


def table_json(
    table: Table, *, with_columns: bool = True, fields: list[Field] | None = None
) -> dict:
    """`fields`: the columns to describe (pass the caller's visible fields; default all)."""
    data = {
        "id": table.id,
        "base_id": table.base_id,
        "source_id": table.source_id,
        "table_name": table.table_name,
        "title": table.title,
        "description": table.description,
        "type": table.kind,
        "mm": table.is_junction,
        "read_only": table.is_read_only,
        "read_only_reason": table.read_only_reason or None,
        "order": table.order,
        "created_at": table.created_at,
        "updated_at": table.updated_at,
    }
    if with_columns:
        fields = list(table.fields.all()) if fields is None else fields
        data["columns"] = [column_json(f) for f in fields]
        # The display value: the first text column, as NocoDB's primary value.
        pv = next(
            (f for f in fields if field_type_for(f).display_text and not f.is_pk),
            None,
        )
        for col in data["columns"]:
            col["pv"] = pv is not None and col["id"] == pv.id
    return data


def page_info(
    total: int, page_size: int, page: int = 1, *, offset: int | None = None
) -> dict:
    """NocoDB's `pageInfo`. With `offset` (a list read by limit and offset, which need not
    be a multiple of the limit): the page that offset falls in, first when nothing lies
    before it, last when nothing lies after it."""
    if offset is not None:
        return {
            "totalRows": total,
            "page": offset // page_size + 1,
            "pageSize": page_size,
            "isFirstPage": offset == 0,
            "isLastPage": offset + page_size >= total,
        }
    return {
        "totalRows": total,
        "page": page,
        "pageSize": page_size,
        "isFirstPage": page == 1,
        "isLastPage": page * page_size >= total,
    }
