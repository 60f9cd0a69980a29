"""Field types: one small registered class each, owning all of a type's behaviour.

Parsing and database conversion, cell display and edit text, filters, footer aggregates,
grouping, read-only-ness, OpenAPI schema and card covers: ask the type
(`field_type_for(field)`), never compare `field.uidt`. See docs/fieldtypes.md.

    base.py      the FieldType class and what most types share
    columns.py   abstract column types and the Django fields that create them
    html.py      escaping for the HTML a type renders
    text.py, number.py, choice.py, date.py, boolean.py, jsondata.py, attachment.py,
    link.py, keys.py   one module per family
    registry.py  REGISTRY, CREATABLE, DEFAULT_UIDT, get(uidt), field_type_for(field), addable()
"""

from bases.fieldtypes.base import AGGREGATES, FieldType, Parser
from bases.fieldtypes.choice import SELECT_COLOURS, choice_titles, normalise_choices
from bases.fieldtypes.columns import (
    BIGINT,
    BINARY,
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    DJANGO_TO_COLUMN,
    DURATION,
    FLOAT,
    INTEGER,
    JSON,
    LONGTEXT,
    NUMERIC,
    OTHER,
    TEXT,
    TEXTUAL,
    TIME,
    UUID,
    UUIDColumn,
    column_model_field,
)
from bases.fieldtypes.registry import (
    COMPUTED,
    CREATABLE,
    DEFAULT_UIDT,
    REGISTRY,
    addable,
    creatable,
    field_type_for,
    fields_changed,
    get,
    named,
)

__all__ = [
    "AGGREGATES",
    "BIGINT",
    "BINARY",
    "BOOLEAN",
    "COMPUTED",
    "CREATABLE",
    "DATE",
    "DATETIME",
    "DECIMAL",
    "DEFAULT_UIDT",
    "DJANGO_TO_COLUMN",
    "DURATION",
    "FLOAT",
    "INTEGER",
    "JSON",
    "LONGTEXT",
    "NUMERIC",
    "OTHER",
    "REGISTRY",
    "SELECT_COLOURS",
    "TEXT",
    "TEXTUAL",
    "TIME",
    "UUID",
    "FieldType",
    "Parser",
    "UUIDColumn",
    "addable",
    "choice_titles",
    "column_model_field",
    "creatable",
    "field_type_for",
    "fields_changed",
    "get",
    "named",
    "normalise_choices",
]
