"""The registered field types, by uidt (NocoDB's names, so NocoDB clients read our metadata)."""

from __future__ import annotations

from bases.fieldtypes import columns as c
from bases.fieldtypes.attachment import Attachment
from bases.fieldtypes.base import FieldType
from bases.fieldtypes.boolean import Checkbox
from bases.fieldtypes.choice import MultiSelect, SingleSelect
from bases.fieldtypes.date import Date, DateTime, Time
from bases.fieldtypes.formula import Formula
from bases.fieldtypes.jsondata import JSONType
from bases.fieldtypes.keys import ID, ForeignKey, SpecificDBType, UUIDType
from bases.fieldtypes.link import LinkToAnotherRecord
from bases.fieldtypes.number import Currency, Decimal, Duration, Number, Percent, Rating
from bases.fieldtypes.rollup import Count, Lookup, Rollup
from bases.fieldtypes.text import URL, Email, LongText, PhoneNumber, SingleLineText
from nocoplatform.errors import InvalidInput

REGISTRY: dict[str, FieldType] = {
    t.uidt: t()
    for t in (
        SingleLineText,
        LongText,
        Email,
        URL,
        PhoneNumber,
        SingleSelect,
        MultiSelect,
        Number,
        Rating,
        Decimal,
        Currency,
        Percent,
        Duration,
        Checkbox,
        Date,
        DateTime,
        Time,
        JSONType,
        Attachment,
        UUIDType,
        ID,
        ForeignKey,
        SpecificDBType,
        LinkToAnotherRecord,
        Lookup,
        Rollup,
        Count,
        Formula,
    )
}
# Types a user may give a new column.
CREATABLE = [
    "SingleLineText",
    "LongText",
    "Number",
    "Decimal",
    "Checkbox",
    "Date",
    "DateTime",
    "Time",
    "JSON",
    "Attachment",
    "Email",
    "URL",
    "PhoneNumber",
    "SingleSelect",
    "MultiSelect",
    "Rating",
    "Currency",
    "Percent",
    "Duration",
    "UUID",
]
_CREATABLE = frozenset(CREATABLE)
# Computed types a user may add (no column: the meta API's `define`, bases/schema_services.py).
COMPUTED = [uidt for uidt, t in REGISTRY.items() if t.computed]
# The field type an introspected column gets by default.
DEFAULT_UIDT = {
    c.TEXT: "SingleLineText",
    c.LONGTEXT: "LongText",
    c.INTEGER: "Number",
    c.BIGINT: "Number",
    c.DECIMAL: "Decimal",
    c.FLOAT: "Decimal",
    c.BOOLEAN: "Checkbox",
    c.DATE: "Date",
    c.DATETIME: "DateTime",
    c.TIME: "Time",
    c.JSON: "JSON",
    c.UUID: "UUID",
    c.DURATION: "Duration",
    c.BINARY: "SpecificDBType",
    c.OTHER: "SpecificDBType",
}


class Unregistered(FieldType):
    """What a field of a uidt no longer registered behaves as: plain text, shown as stored."""

    uidt, label = "", "Unknown"


_UNREGISTERED = Unregistered()


def get(uidt: str) -> FieldType:
    """The type registered as `uidt`; a 400 naming the known types otherwise."""
    try:
        return REGISTRY[uidt]
    except KeyError:
        raise InvalidInput(
            f"Unknown field type '{uidt}'. Known types: {', '.join(CREATABLE)}.",
            code="UNKNOWN_FIELD_TYPE",
        )


def creatable(uidt: str) -> bool:
    """Whether a user may give a column this type (create or retype)."""
    return uidt in _CREATABLE


def field_type_for(field) -> FieldType:
    """The type of a Field (or anything with a `uidt`): what callers ask instead of
    comparing uidt names. Never raises: metadata written by an older version still renders."""
    return REGISTRY.get(field.uidt, _UNREGISTERED)


def named(uidt) -> FieldType:
    """The type a request names (any value: unknown ones behave as plain text)."""
    return REGISTRY.get(uidt, _UNREGISTERED) if isinstance(uidt, str) else _UNREGISTERED


def fields_changed(table, *, gone=None) -> None:
    """After a field of `table` was created, changed or deleted (`gone`): the computed fields
    that use it follow (formulas keep a deleted field's title and are checked again)."""
    for ftype in {type(t): t for t in REGISTRY.values() if t.computed}.values():
        ftype.fields_changed(table, gone=gone)
