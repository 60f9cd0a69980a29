"""Keys and database-only columns: generated ids, foreign keys, UUIDs, types we cannot edit."""

from __future__ import annotations

import uuid

from django.db import models

from bases.fieldtypes.base import FieldType
from bases.fieldtypes.columns import (
    BIGINT,
    BINARY,
    INTEGER,
    OTHER,
    TEXT,
    UUID,
    UUIDColumn,
)
from bases.fieldtypes.html import markdown_text
from nocoplatform.errors import InvalidInput

WHOLE = (INTEGER, BIGINT)


class KeyType(FieldType):
    """A key's values follow its column: whole numbers, or text."""

    fillable = False

    def stored_as(self, field) -> FieldType:
        from bases.fieldtypes.registry import get

        return get("Number" if field.column_type in WHOLE else "SingleLineText")


class ID(KeyType):
    """An auto-generated primary key."""

    uidt, label, column_types, default_column_type = "ID", "ID", WHOLE, BIGINT
    icon = "#"
    column_width = 90
    read_only = True
    auto_key = True  # an explicit value is still accepted on insert
    openapi = {"type": "integer"}

    def fits_column(self, col, *, is_fk: bool) -> bool:
        return col.is_pk and col.is_auto


class ForeignKey(KeyType):
    """The column behind a belongs-to link; shown through the link field."""

    uidt, label, column_types = (
        "ForeignKey",
        "Foreign key",
        (INTEGER, BIGINT, TEXT, UUID),
    )
    holds_key = True

    def schema(self, field) -> dict:
        whole = field.column_type in WHOLE
        return {**super().schema(field), "type": "integer" if whole else "string"}

    def fits_column(self, col, *, is_fk: bool) -> bool:
        return is_fk


class SpecificDBType(FieldType):
    """A column whose database type has no field type (binary, geometry, arrays…): read-only."""

    uidt, label, column_types = "SpecificDBType", "Database type", (BINARY, OTHER)
    read_only = True
    fillable = False

    def schema(self, field) -> dict:
        db_type = f"database type {markdown_text(field.db_type)}"
        schema = {"description": db_type, **super().schema(field), "readOnly": True}
        element = array_element(field.db_type)
        if element is not None:  # PostgreSQL arrays are read as JSON arrays
            schema["type"] = "array"
            schema["items"] = {"type": _ELEMENT_TYPES.get(element, "string")}
            if element in ("json", "jsonb"):
                schema["items"] = {}
        return schema


_ELEMENT_TYPES = {
    "smallint": "integer",
    "integer": "integer",
    "bigint": "integer",
    "numeric": "number",
    "real": "number",
    "double precision": "number",
    "boolean": "boolean",
}


def array_element(db_type: str) -> str | None:
    """The element type of a PostgreSQL array type ('integer[]' → 'integer'), else None."""
    text = str(db_type or "").strip().lower()
    if not text.endswith("[]"):
        return None
    while text.endswith("[]"):
        text = text[:-2].rstrip()
    return text.split("(")[0].strip()


class UUIDType(FieldType):
    uidt, label, column_types, default_column_type = "UUID", "UUID", (UUID, TEXT), UUID
    openapi = {"type": "string", "format": "uuid"}

    def model_field(self, *, null: bool, options: dict) -> models.Field:
        return UUIDColumn(null=null)

    def parse(self, value, options):
        if value in (None, ""):
            return None
        try:
            return uuid.UUID(str(value))
        except ValueError:
            raise InvalidInput(f"'{value}' is not a UUID")
