"""The types a column of an imported file may become in a NEW table, guessed from its values.

Each import type names the field type it creates (`uidt`); the cells are converted by that
field type itself — `typed_value` (text as a person types it: "1,50", "24/12/2026", "x") then
its `value_parser`, bounded by the column that will be created — so an import refuses exactly
what the grid and the API would. The guess reads the first SAMPLE_ROWS rows; the user may
change any column's type before the import starts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bases import fieldtypes as ft
from bases import value_limits as limits
from bases.fieldtypes.base import FieldType
from bases.fieldtypes.date import TYPED_DATE, typed_date
from bases.models import Field
from nocoplatform.errors import InvalidInput

SAMPLE_ROWS = 1000
MAX_CHOICES = 500  # a single select with more options is better imported as text
TEXT_MAX = 255  # a single line of text: the column's varchar(255)


@dataclass(frozen=True)
class ImportType:
    name: str
    label: str
    uidt: str


TYPES = {
    t.name: t
    for t in (
        ImportType("text", "Text", "SingleLineText"),
        ImportType("longtext", "Long text", "LongText"),
        ImportType("number", "Number", "Number"),
        ImportType("decimal", "Decimal", "Decimal"),
        ImportType("date", "Date", "Date"),
        ImportType("checkbox", "Checkbox", "Checkbox"),
        ImportType("select", "Single select", "SingleSelect"),
        ImportType("email", "Email", "Email"),
        ImportType("url", "URL", "URL"),
    )
}
SKIP = "skip"

_NUMBER = re.compile(r"^[-+]?\d{1,18}$")  # longer: an id or a code, kept as text
_DECIMAL = re.compile(r"^[-+]?(\d+([.,]\d+)?|[.,]\d+)$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://\S+$", re.I)
# An Excel date cell is a date-time at midnight: still a date (Date.parse reads its ISO day).
_ISO_MIDNIGHT = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]00:00(:00)?$")
_CHECKBOX = {"true", "false", "yes", "no", "x", "✓", "☑", "checked", "unchecked"}


def detect(values: list[str]) -> dict:
    """A column's guessed type and how its cells are written: {"type", "dateOrder",
    "decimalSep", "precision"} (and "yearFirst" for dates written year first)."""
    filled = [v.strip() for v in values if v.strip()]
    out = {"type": "text", "dateOrder": "dmy", "decimalSep": ".", "precision": 2}
    if not filled:
        return out
    # "007" is a code, not the number 7: leading zeros keep a column text.
    zeros = any(len(v.lstrip("+-")) > 1 and v.lstrip("+-")[0] == "0" for v in filled)
    if not zeros and all(_NUMBER.match(v) for v in filled):
        return {**out, "type": "number"}
    if all(_DECIMAL.match(v) for v in filled) and not any(
        v.lstrip("+-").startswith("0") and v.lstrip("+-")[1:2].isdigit() for v in filled
    ):
        comma = any("," in v for v in filled) and not any("." in v for v in filled)
        sep = "," if comma else "."
        scale = min(
            max((len(v.split(sep)[1]) for v in filled if sep in v), default=2), 8
        )
        # The column is numeric(20, scale): more whole digits are an id or a code.
        if all(len(v.lstrip("+-").split(sep)[0]) <= 20 - scale for v in filled):
            return {**out, "type": "decimal", "decimalSep": sep, "precision": scale}
    if all(_ISO_MIDNIGHT.match(v) for v in filled):
        return {**out, "type": "date", "yearFirst": True}
    if all(TYPED_DATE.fullmatch(v) for v in filled):
        order = _date_order(filled)
        if all(typed_date(v, order) for v in filled):
            # Year first (2026-01-02) reads one way only: no day/month order to choose.
            year_first = all(len(TYPED_DATE.fullmatch(v)[1]) == 4 for v in filled)
            return {**out, "type": "date", "dateOrder": order, "yearFirst": year_first}
    if all(v.lower() in _CHECKBOX or v in ("0", "1") for v in filled):
        return {**out, "type": "checkbox"}
    if all(_EMAIL.match(v) for v in filled):
        return {**out, "type": "email"}
    if all(_URL.match(v) for v in filled):
        return {**out, "type": "url"}
    if any(len(v) > TEXT_MAX or "\n" in v for v in filled):
        return {**out, "type": "longtext"}
    distinct = set(filled)
    if len(distinct) <= 20 and len(distinct) * 3 <= len(filled):
        return {**out, "type": "select"}
    return out


def _date_order(values: list[str]) -> str:
    """Day first unless a value can only be month first (its second part over 12)."""
    for v in values:
        a, b, _ = TYPED_DATE.fullmatch(v).groups()
        if len(a) == 4:
            continue
        if int(a) > 12:
            return "dmy"
        if int(b) > 12:
            return "mdy"
    return "dmy"


def field_spec(column: dict, choices: list[str] | None = None) -> dict:
    """The table_create column ({title, uidt, options}) for an imported column."""
    itype = TYPES[column["type"]]
    options: dict = {}
    if itype.name == "decimal":
        options["precision"] = int(column.get("precision", 2))
    if itype.name == "select":
        options["choices"] = list(choices or [])
    return {"title": column["title"], "uidt": itype.uidt, "options": options}


def planned_field(column: dict, *, db: str, choices=None) -> Field:
    """An unsaved Field like the one the table will have: its value parser knows the
    column's bounds (varchar length, numeric digits) before the table exists."""
    spec = field_spec(column, choices)
    ftype = ft.get(spec["uidt"])
    options = ftype.clean_options(spec["options"], spec)
    model_field = ftype.model_field(null=True, options=options)
    db_type = ""
    if getattr(model_field, "max_length", None):
        db_type = f"varchar({model_field.max_length})"
    elif getattr(model_field, "max_digits", None):
        db_type = f"numeric({model_field.max_digits},{model_field.decimal_places})"
    elif model_field.get_internal_type() == "BigIntegerField":
        db_type = "bigint"
    return Field(
        title=spec["title"],
        uidt=spec["uidt"],
        options=options,
        column_type=ftype.default_column_type,
        db_type=db_type,
    )


def converter(field: Field, column: dict, *, db: str) -> Callable[[str], Any]:
    """A column's cell text → the value stored, by its field type (raises InvalidInput).

    The field type reads text as a person types it (`typed_value`: "1,50", "24/12/2026",
    "x"), then parses it (`value_parser`). Most cells of a big file are already in the form
    the parser reads — digits, an ISO date, plain text — and skip the first step: the value
    stored is the same, at a fraction of the cost (bench/import_copy.py)."""
    ftype = ft.field_type_for(field)
    parse = ftype.value_parser(field, db=db)
    options = field.options or {}
    sep, order = column.get("decimalSep", "."), column.get("dateOrder", "dmy")
    typed = ftype.typed_value

    def slow(text: str):
        return parse(typed(field, text, sep, order), options)

    plain = _plain_form(column["type"], field, sep)
    if plain is not None:
        pattern, make = plain.fullmatch, plain_value(column["type"])
        # A plain decimal whose digits fit the column needs no bounds check.
        fits = ftype.parse if column["type"] == "decimal" else parse

        def fast(text: str):
            if pattern(text):
                return fits(make(text), options)
            return slow(text)

        return fast
    if type(ftype).typed_value is FieldType.typed_value and (
        type(ftype).from_typed is FieldType.from_typed
    ):  # text types: typed text is the text itself, an empty cell is NULL

        def text_value(text: str):
            return parse(text if text != "" else None, options)

        return text_value
    return slow


def plain_value(kind: str) -> Callable[[str], Any]:
    return int if kind == "number" else str


def _plain_form(kind: str, field: Field, sep: str) -> re.Pattern | None:
    """The text a column's parser reads as it is: whole numbers of up to 18 digits (their
    int), decimals with a point, ISO dates."""
    if kind == "number":
        return _PLAIN_INT
    if kind == "decimal" and sep == ".":
        digits = limits.decimal_digits(field)
        if digits is None:
            return None
        whole, scale = digits[0] - digits[1], digits[1]
        if scale == 0:
            return re.compile(rf"-?\d{{1,{whole}}}")
        return re.compile(rf"-?\d{{1,{whole}}}(\.\d{{1,{scale}}})?")
    if kind == "date":
        return _PLAIN_DATE
    return None


_PLAIN_INT = re.compile(r"-?\d{1,18}")
_PLAIN_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def check_columns(header: list[str], columns, title_taken) -> list[dict]:
    """The columns a start request chose, checked: one per file column, a known type or
    "skip", unique non-empty titles (400 INVALID_COLUMNS naming the problem)."""
    if not isinstance(columns, list) or len(columns) != len(header):
        raise InvalidInput(
            f"`columns` must list the file's {len(header)} columns in order.",
            code="INVALID_COLUMNS",
        )
    seen: set[str] = set()
    out = []
    for i, col in enumerate(columns):
        if not isinstance(col, dict):
            raise InvalidInput(
                f"Column {i + 1} must be an object.", code="INVALID_COLUMNS"
            )
        kind = str(col.get("type") or "")
        if kind != SKIP and kind not in TYPES:
            raise InvalidInput(
                f"Column '{header[i]}': unknown type '{kind}' (one of "
                f"{', '.join([*TYPES, SKIP])}).",
                code="INVALID_COLUMNS",
            )
        title = str(col.get("title") or "").strip()
        if kind != SKIP:
            if not title or len(title) > 255:
                raise InvalidInput(
                    f"Column {i + 1} needs a field name (at most 255 characters).",
                    code="INVALID_COLUMNS",
                )
            if title.lower() in seen or title_taken(title):
                raise InvalidInput(
                    f"Two fields would be called '{title}'.", code="INVALID_COLUMNS"
                )
            seen.add(title.lower())
        clean = {
            k: col[k] for k in ("dateOrder", "decimalSep", "precision") if k in col
        }
        if clean.get("dateOrder", "dmy") not in ("dmy", "mdy"):
            raise InvalidInput("`dateOrder` is dmy or mdy.", code="INVALID_COLUMNS")
        if clean.get("decimalSep", ".") not in (".", ","):
            raise InvalidInput("`decimalSep` is '.' or ','.", code="INVALID_COLUMNS")
        precision = clean.get("precision", 2)
        if not isinstance(precision, int) or not 0 <= precision <= 8:
            raise InvalidInput(
                "`precision` is a whole number from 0 to 8.", code="INVALID_COLUMNS"
            )
        out.append({**clean, "title": title, "type": kind})
    if all(c["type"] == SKIP for c in out):
        raise InvalidInput("Import at least one column.", code="INVALID_COLUMNS")
    return out


def unique_titles(header: list[str], reserved=("id",)) -> list[str]:
    """Field names from the header: unique (case ignored), none taken by the table's own
    `Id` key."""
    taken = {r.lower() for r in reserved}
    out = []
    for name in header:
        title = (name.strip() or "Column")[:250]
        candidate, n = title, 2
        while candidate.lower() in taken:
            candidate, n = f"{title} {n}", n + 1
        taken.add(candidate.lower())
        out.append(candidate)
    return out
