"""The field type registry (bases/fieldtypes): every uidt has a type, each type declares its
operators, aggregates, grouping and OpenAPI schema, and no code outside the package branches
on uidt names."""

import re
from pathlib import Path

import pytest

from bases import fieldtypes as ft
from bases.fieldtypes.base import FieldType
from bases.models import Field, Table

ROOT = Path(__file__).resolve().parents[3]

TEXT_OPS = ["eq", "neq", "is", "isnot", "like", "nlike", "in"]
TEXT_OPS += ["blank", "notblank", "null", "notnull", "empty", "notempty"]
CHOICE_OPS = ["eq", "neq", "is", "isnot", "like", "nlike", "in"]
CHOICE_OPS += ["allof", "anyof", "nallof", "nanyof"]
CHOICE_OPS += ["blank", "notblank", "null", "notnull", "empty", "notempty"]
ORDERED_OPS = ["eq", "neq", "gt", "ge", "lt", "le", "is", "isnot", "in", "btw", "nbtw"]
ORDERED_OPS += ["blank", "notblank", "null", "notnull"]
DATE_OPS = ORDERED_OPS[:8] + ["isWithin"] + ORDERED_OPS[8:]
NULL_OPS = ["blank", "notblank", "null", "notnull"]
NUMERIC_AGGS = ["sum", "avg", "min", "max", "empty", "filled"]
COUNT_AGGS = ["empty", "filled"]

# uidt: (column type, operators, footer aggregates, groupable, OpenAPI schema)
DECLARED = {
    "SingleLineText": ("text", TEXT_OPS, COUNT_AGGS, True, {"type": "string"}),
    "LongText": ("longtext", TEXT_OPS, COUNT_AGGS, True, {"type": "string"}),
    "Email": (
        "text",
        TEXT_OPS,
        COUNT_AGGS,
        True,
        {"type": "string", "format": "email"},
    ),
    "URL": ("text", TEXT_OPS, COUNT_AGGS, True, {"type": "string", "format": "uri"}),
    "PhoneNumber": ("text", TEXT_OPS, COUNT_AGGS, True, {"type": "string"}),
    "SingleSelect": (
        "text",
        CHOICE_OPS,
        COUNT_AGGS,
        True,
        {"type": "string", "enum": ["a", "b"]},
    ),
    "MultiSelect": (
        "text",
        CHOICE_OPS,
        COUNT_AGGS,
        True,
        {"type": "string", "description": "comma-separated options"},
    ),
    "Number": ("bigint", ORDERED_OPS, NUMERIC_AGGS, True, {"type": "integer"}),
    "Rating": ("integer", ORDERED_OPS, NUMERIC_AGGS, True, {"type": "integer"}),
    "Decimal": ("decimal", ORDERED_OPS, NUMERIC_AGGS, True, {"type": "number"}),
    "Currency": ("decimal", ORDERED_OPS, NUMERIC_AGGS, True, {"type": "number"}),
    "Percent": ("decimal", ORDERED_OPS, NUMERIC_AGGS, True, {"type": "number"}),
    "Duration": ("decimal", ORDERED_OPS, NUMERIC_AGGS, True, {"type": "number"}),
    "Checkbox": (
        "boolean",
        ["eq", "neq", "is", "isnot", *NULL_OPS, "checked", "notchecked"],
        COUNT_AGGS,
        True,
        {"type": "boolean"},
    ),
    "Date": (
        "date",
        DATE_OPS,
        ["min", "max", *COUNT_AGGS],
        True,
        {"type": "string", "format": "date"},
    ),
    "DateTime": (
        "datetime",
        DATE_OPS,
        ["min", "max", *COUNT_AGGS],
        True,
        {"type": "string", "format": "date-time"},
    ),
    "Time": (
        "time",
        ORDERED_OPS,
        ["min", "max", *COUNT_AGGS],
        True,
        {"type": "string", "example": "09:30:00"},
    ),
    "JSON": ("json", NULL_OPS, COUNT_AGGS, False, {"description": "any JSON value"}),
    "Attachment": ("longtext", TEXT_OPS, COUNT_AGGS, True, {"type": "string"}),
    "UUID": (
        "uuid",
        ["eq", "neq", "is", "isnot", "in", *NULL_OPS],
        COUNT_AGGS,
        True,
        {"type": "string", "format": "uuid"},
    ),
    "ID": (
        "bigint",
        ORDERED_OPS,
        NUMERIC_AGGS,
        True,
        {"type": "integer", "readOnly": True},
    ),
    "ForeignKey": ("integer", ORDERED_OPS, NUMERIC_AGGS, True, {"type": "integer"}),
    "SpecificDBType": (
        "other",
        NULL_OPS,
        COUNT_AGGS,
        False,
        {"type": "string", "description": "database type geometry", "readOnly": True},
    ),
    # Computed through a link (bases/fieldtypes/rollup.py): here without one, as a field whose
    # link is gone reads (NULL); their result type is their column type.
    "Lookup": (
        "text",
        TEXT_OPS,
        COUNT_AGGS,
        True,
        {"nullable": True, "readOnly": True},
    ),
    "Rollup": (
        "bigint",
        ORDERED_OPS,
        NUMERIC_AGGS,
        True,
        {"type": "integer", "readOnly": True},
    ),
    "Count": (
        "bigint",
        ORDERED_OPS,
        NUMERIC_AGGS,
        True,
        {"type": "integer", "readOnly": True},
    ),
    "Formula": (  # a number formula: by its result's type, read-only
        "decimal",
        ORDERED_OPS,
        NUMERIC_AGGS,
        True,
        {
            "type": "number",
            "readOnly": True,
            "nullable": True,
            "description": "Formula (number)",
        },
    ),
    "LinkToAnotherRecord": (
        "",
        [],
        [],
        False,
        {
            "type": "integer",
            "readOnly": True,
            "description": "number of linked records",
        },
    ),
}


def field_of(uidt: str, column_type: str, **kw) -> Field:
    options = {"choices": [{"title": "a"}, {"title": "b"}]}
    if uidt == "LinkToAnotherRecord":  # noqa: PLR2004 - the test's own table
        options = {"relation": "hm"}
    if ft.named(uidt).computed:  # no column: its expression names its table
        kw.setdefault("table", Table(id="t1", table_name="t"))
    return Field(
        id="f1",
        title="x",
        uidt=uidt,
        column_name="c" if column_type and not ft.named(uidt).computed else "",
        column_type=column_type,
        db_type="geometry",
        options=options,
        is_nullable=False,
        **kw,
    )


def test_every_uidt_maps_to_a_registered_type():
    named = set(ft.CREATABLE) | set(ft.DEFAULT_UIDT.values()) | set(DECLARED)
    assert named == set(ft.REGISTRY)
    for uidt, ftype in ft.REGISTRY.items():
        assert isinstance(ftype, FieldType) and ftype.uidt == uidt
        assert ft.get(uidt) is ftype
        assert ft.field_type_for(field_of(uidt, "text")) is ftype


def test_an_unknown_uidt_behaves_as_plain_text_and_cannot_be_created():
    legacy = ft.field_type_for(field_of("Barcode", "text"))
    assert legacy.display_html(None, "<b>") == "&lt;b&gt;"
    assert not ft.creatable("Barcode") and ft.named(["list"]) is legacy
    with pytest.raises(Exception, match="Unknown field type 'Barcode'"):
        ft.get("Barcode")


@pytest.mark.parametrize("uidt", sorted(DECLARED))
def test_each_type_declares_operators_aggregates_grouping_and_schema(uidt):
    column_type, ops, aggregates, groupable, schema = DECLARED[uidt]
    ftype = ft.get(uidt)
    field = field_of(uidt, column_type)
    assert ftype.filter_operators(field) == ops
    assert ftype.aggregates(field) == aggregates
    assert ftype.groupable(field) is groupable
    assert ftype.sortable(field) is groupable  # the same columns sort and group
    assert ftype.schema(field) == schema


def test_one_read_only_set():
    read_only = {u for u, t in ft.REGISTRY.items() if t.read_only}
    assert read_only == {"ID", "SpecificDBType", "LinkToAnotherRecord", "Formula"} | {
        "Lookup",
        "Rollup",
        "Count",
    }
    # Typed into a grid cell: everything writable but files (their own popup).
    typed = {u for u, t in ft.REGISTRY.items() if t.typed_in_cell and not t.read_only}
    assert typed == set(ft.REGISTRY) - read_only - {"Attachment"}


def test_nullable_and_described_fields_say_so_in_their_schema():
    field = field_of("Number", "bigint")
    field.is_nullable, field.description = True, "the *count*"
    assert ft.get("Number").schema(field) == {
        "type": "integer",
        "nullable": True,
        "description": "the \\*count\\*",
    }


# `x.uidt == "Checkbox"`, `uidt in ("Date", ...)`, `f.uidt not in NOT_FILLABLE`: a branch on
# type names. Comparing two uidts (is the type changing?) is not one.
BRANCH = re.compile(
    r"""uidt\s*(==|!=)\s*["']|["']\s*(==|!=)\s*[\w.]*uidt\b|uidt\s+(not\s+)?in\s+[(\[{A-Z]"""
)


def test_no_uidt_branch_outside_the_field_types():
    offenders = []
    for package in ("bases", "views", "history", "permissions", "webhooks", "records"):
        for path in (ROOT / package).rglob("*.py"):
            if "fieldtypes" in path.parts or "migrations" in path.parts:
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if BRANCH.search(line) or "READ_ONLY_UIDTS" in line:
                    offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []
