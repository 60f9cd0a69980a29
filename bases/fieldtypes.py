"""Field types: one small registered class each.

A field type says which column types can hold it (`column_types`), how to build the Django model
field used for DDL (`model_field`), and how to turn request input into a stored value (`parse`).
Types that share a column type can be switched at the meta level, without DDL (text → email…).
Names follow NocoDB's `uidt` so NocoDB clients understand our metadata.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from django.core.validators import URLValidator
from django.db import models

from bases import value_limits as limits
from nocoplatform.errors import InvalidInput

Parser = Callable[[Any, dict], Any]

# Abstract column types: what the database column is, independent of dialect.
TEXT, LONGTEXT, INTEGER, BIGINT, DECIMAL, FLOAT, BOOLEAN = (
    "text",
    "longtext",
    "integer",
    "bigint",
    "decimal",
    "float",
    "boolean",
)
DATE, DATETIME, TIME, JSON, UUID, DURATION, BINARY, OTHER = (
    "date",
    "datetime",
    "time",
    "json",
    "uuid",
    "duration",
    "binary",
    "other",
)
TEXTUAL = (TEXT, LONGTEXT)
NUMERIC = (INTEGER, BIGINT, DECIMAL, FLOAT)

SELECT_COLOURS = [
    "#cfdffe",
    "#d0f1fd",
    "#c2f5e9",
    "#ffdaf6",
    "#ffdce5",
    "#fee2d5",
    "#ffeab6",
    "#d1f7c4",
    "#ede2fe",
    "#eeeeee",
]


class FieldType:
    uidt: ClassVar[str]
    label: ClassVar[str]
    column_types: ClassVar[tuple[str, ...]] = ()
    # The column type used when the platform creates a column of this type.
    default_column_type: ClassVar[str] = TEXT
    virtual: ClassVar[bool] = False
    read_only: ClassVar[bool] = False

    def model_field(self, *, null: bool, options: dict) -> models.Field:
        return column_model_field(self.default_column_type, null=null, options=options)

    def parse(self, value: Any, options: dict) -> Any:
        """Convert request input to the value to store; raise InvalidInput naming the problem."""
        return value

    def value_parser(self, field, *, db: str) -> Parser:
        """`parse` bounded by what `field`'s column holds on a data source of kind `db`
        (bases/value_limits.py). Every write of a value goes through one of these."""
        return self.parse

    def fits(self, column_type: str) -> bool:
        return column_type in self.column_types


class SingleLineText(FieldType):
    uidt, label, column_types, default_column_type = (
        "SingleLineText",
        "Single line text",
        TEXTUAL,
        TEXT,
    )

    def parse(self, value, options):
        if value is None:
            return None
        if isinstance(value, (dict, list)):
            raise InvalidInput("expected text")
        return limits.refuse_nul(str(value))

    def value_parser(self, field, *, db: str) -> Parser:
        parse, limit = self.parse, limits.text_limit(field, db=db)
        chars, check = limit.chars, limit.check
        if limit.bytes is None and type(self).parse is SingleLineText.parse:
            # Plain text, most cells of a bulk write: one call, the checks inline.
            def parse_plain(value, options):
                if type(value) is str and len(value) <= chars and "\x00" not in value:
                    return value
                text = parse(value, options)
                if text is not None:
                    check(text)
                return text

            return parse_plain

        def parse_text(value, options):
            if type(value) is str:
                check(value)  # before the type's own checks scan it
            text = parse(value, options)
            if text is not None and text is not value:
                check(text)
            return text

        return parse_text


class LongText(SingleLineText):
    uidt, label, default_column_type = "LongText", "Long text", LONGTEXT


class Email(SingleLineText):
    uidt, label = "Email", "Email"
    _re = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

    def parse(self, value, options):
        value = super().parse(value, options)
        if value and not self._re.match(value):
            raise InvalidInput(f"'{value}' is not a valid email address")
        return value or (None if value is None else "")


class URL(SingleLineText):
    uidt, label = "URL", "URL"

    def parse(self, value, options):
        value = super().parse(value, options)
        if value:
            try:
                URLValidator(schemes=["http", "https", "ftp", "mailto"])(value)
            except Exception:
                raise InvalidInput(f"'{value}' is not a valid URL")
        return value


class PhoneNumber(SingleLineText):
    uidt, label = "PhoneNumber", "Phone number"
    _re = re.compile(r"^\+?[0-9 ()./-]{3,32}$")

    def parse(self, value, options):
        value = super().parse(value, options)
        if value and not self._re.match(value):
            raise InvalidInput(f"'{value}' is not a valid phone number")
        return value


class SingleSelect(SingleLineText):
    uidt, label = "SingleSelect", "Single select"

    def parse(self, value, options):
        value = super().parse(value, options)
        if value and options.get("choices") and value not in choice_titles(options):
            raise InvalidInput(f"'{value}' is not one of the options")
        return value


class MultiSelect(SingleLineText):
    uidt, label = "MultiSelect", "Multi select"

    def parse(self, value, options):
        if value is None:
            return None
        items = value if isinstance(value, list) else [v for v in str(value).split(",")]
        items = [str(v).strip() for v in items if str(v).strip()]
        known = choice_titles(options)
        for item in items:
            if known and item not in known:
                raise InvalidInput(f"'{item}' is not one of the options")
            if "," in item:
                raise InvalidInput("options may not contain commas")
        return limits.refuse_nul(",".join(items))


class Number(FieldType):
    uidt, label, column_types, default_column_type = (
        "Number",
        "Number",
        (INTEGER, BIGINT),
        BIGINT,
    )

    def parse(self, value, options):
        if type(value) is int:  # JSON's whole numbers: most cells of a bulk request
            if -(2**63) < value < 2**63:
                return value
            raise InvalidInput(f"'{value}' is too large for a whole number")
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise InvalidInput("expected a whole number")
        try:
            number = decimal.Decimal(str(value).strip())
        except decimal.InvalidOperation:
            raise InvalidInput(f"'{value}' is not a number")
        if not number.is_finite() or number != number.to_integral_value():
            raise InvalidInput(f"'{value}' is not a whole number")
        if abs(number) >= 2**63:
            raise InvalidInput(f"'{value}' is too large for a whole number")
        return int(number)

    def value_parser(self, field, *, db: str) -> Parser:
        parse, bounds = self.parse, limits.integer_range(field, db=db)
        if bounds is None:
            return parse
        low, high = bounds

        def parse_bounded(value, options):
            if type(value) is int and low <= value <= high:
                return value  # JSON's whole numbers: most cells of a bulk write
            number = parse(value, options)
            if number is not None:
                limits.check_integer(number, bounds)
            return number

        return parse_bounded


class Rating(Number):
    uidt, label, default_column_type = "Rating", "Rating", INTEGER


class Decimal(FieldType):
    uidt, label, column_types, default_column_type = (
        "Decimal",
        "Decimal",
        (DECIMAL, FLOAT, INTEGER, BIGINT),
        DECIMAL,
    )

    def parse(self, value, options):
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise InvalidInput("expected a number")
        try:
            number = decimal.Decimal(str(value).strip())
        except decimal.InvalidOperation:
            raise InvalidInput(f"'{value}' is not a number")
        if not number.is_finite():
            raise InvalidInput("expected a finite number")
        return number

    def value_parser(self, field, *, db: str) -> Parser:
        parse, digits = self.parse, limits.decimal_digits(field)
        if digits is None:
            return parse

        def parse_bounded(value, options):
            number = parse(value, options)
            if number is not None:
                limits.check_decimal(number, digits)
            return number

        return parse_bounded


class Currency(Decimal):
    uidt, label = "Currency", "Currency"


class Percent(Decimal):
    uidt, label = "Percent", "Percent"


class Duration(Decimal):
    uidt, label, column_types = (
        "Duration",
        "Duration",
        (DECIMAL, FLOAT, INTEGER, BIGINT, DURATION),
    )


class Checkbox(FieldType):
    uidt, label, column_types, default_column_type = (
        "Checkbox",
        "Checkbox",
        (BOOLEAN,),
        BOOLEAN,
    )
    _true = {"true", "1", "yes", "on", "checked"}
    _false = {"false", "0", "no", "off", "", "unchecked"}

    def parse(self, value, options):
        if value is None or isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in self._true:
            return True
        if text in self._false:
            return False
        raise InvalidInput(f"'{value}' is not true or false")


class Date(FieldType):
    uidt, label, column_types, default_column_type = "Date", "Date", (DATE,), DATE

    def parse(self, value, options):
        if value in (None, ""):
            return None
        try:
            return dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            raise InvalidInput(f"'{value}' is not a date (YYYY-MM-DD)")


class DateTime(FieldType):
    uidt, label, column_types, default_column_type = (
        "DateTime",
        "Date and time",
        (DATETIME,),
        DATETIME,
    )

    def parse(self, value, options):
        if value in (None, ""):
            return None
        try:
            parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"'{value}' is not a date and time (ISO 8601)")
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed


class Time(FieldType):
    uidt, label, column_types, default_column_type = "Time", "Time", (TIME,), TIME

    def parse(self, value, options):
        if value in (None, ""):
            return None
        try:
            return dt.time.fromisoformat(str(value))
        except ValueError:
            raise InvalidInput(f"'{value}' is not a time (HH:MM[:SS])")


class JSONType(FieldType):
    uidt, label, column_types, default_column_type = "JSON", "JSON", (JSON,), JSON

    def parse(self, value, options):
        value = self._load(value)
        if value is not None:
            limits.json_text(value)  # refuses NULs and deep nesting
        return value

    def value_parser(self, field, *, db: str) -> Parser:
        load, limit = self._load, limits.text_limit(field, db=db)

        def parse_json(value, options):
            value = load(value)
            if value is not None:
                limit.check(limits.json_text(value))
            return value

        return parse_json

    @staticmethod
    def _load(value):
        if isinstance(value, str):
            try:
                return json.loads(value)
            except RecursionError:
                raise InvalidInput(
                    f"JSON nested more than {limits.MAX_JSON_DEPTH} levels deep"
                )
            except ValueError as exc:
                raise InvalidInput(f"invalid JSON: {exc}")
        return value


class Attachment(FieldType):
    """Files of a cell, stored as JSON text: [{"id", "name", "size", "mime", "path", "thumb"}].

    The files themselves live in the "attachments" storage (bases/attachments.py), which is
    the only writer of entries; written values are checked for shape here, and a file is
    served only from the path its table, field and id give (so a crafted entry reaches
    nothing else).
    """

    uidt, label = "Attachment", "Attachment"
    column_types = (*TEXTUAL, JSON)
    default_column_type = LONGTEXT
    _id = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

    def parse(self, value, options):
        if value in (None, ""):
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise InvalidInput("expected a list of attachments (JSON)")
        if not isinstance(value, list):
            raise InvalidInput("expected a list of attachments")
        out = []
        for item in value:
            if not isinstance(item, dict):
                raise InvalidInput("each attachment is an object")
            entry = {
                "id": str(item.get("id") or ""),
                "name": str(item.get("name") or "")[:255],
                "size": item.get("size"),
                "mime": str(item.get("mime") or "application/octet-stream")[:100],
                "path": str(item.get("path") or "")[:500],
            }
            if not self._id.match(entry["id"]) or not isinstance(entry["size"], int):
                raise InvalidInput("an attachment needs an `id` and an integer `size`")
            if isinstance(item.get("thumb"), bool):
                # Whether the upload made a thumbnail (bases/thumbnails.py); absent on
                # files stored before thumbnails existed.
                entry["thumb"] = item["thumb"]
            out.append(entry)
        limits.json_text(out)  # no NUL in a name or path
        return out

    def value_parser(self, field, *, db: str) -> Parser:
        parse, limit = self.parse, limits.text_limit(field, db=db)

        def parse_files(value, options):
            files = parse(value, options)
            if files is not None:
                limit.check(limits.json_text(files))
            return files

        return parse_files


class UUIDColumn(models.Field):
    """uuid on PostgreSQL, char(36) elsewhere (the text form every client sends)."""

    def db_type(self, connection):
        return "uuid" if connection.vendor == "postgresql" else "char(36)"


class UUIDType(FieldType):
    uidt, label, column_types, default_column_type = "UUID", "UUID", (UUID, TEXT), UUID

    def model_field(self, *, null: bool, options: dict) -> models.Field:
        return UUIDColumn(null=null)

    def parse(self, value, options):
        if value in (None, ""):
            return None
        try:
            return uuid.UUID(str(value))
        except ValueError:
            raise InvalidInput(f"'{value}' is not a UUID")


class ID(FieldType):
    """An auto-generated primary key."""

    uidt, label, column_types, default_column_type = (
        "ID",
        "ID",
        (INTEGER, BIGINT),
        BIGINT,
    )
    read_only = True


class ForeignKey(FieldType):
    """The column behind a belongs-to link; shown through the link field."""

    uidt, label, column_types = (
        "ForeignKey",
        "Foreign key",
        (INTEGER, BIGINT, TEXT, UUID),
    )


class SpecificDBType(FieldType):
    """A column whose database type has no field type (binary, geometry, arrays…): read-only."""

    uidt, label, column_types = "SpecificDBType", "Database type", (BINARY, OTHER)
    read_only = True


class LinkToAnotherRecord(FieldType):
    uidt, label, virtual = "LinkToAnotherRecord", "Link to another record", True


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
# The field type an introspected column gets by default.
DEFAULT_UIDT = {
    TEXT: "SingleLineText",
    LONGTEXT: "LongText",
    INTEGER: "Number",
    BIGINT: "Number",
    DECIMAL: "Decimal",
    FLOAT: "Decimal",
    BOOLEAN: "Checkbox",
    DATE: "Date",
    DATETIME: "DateTime",
    TIME: "Time",
    JSON: "JSON",
    UUID: "UUID",
    DURATION: "Duration",
    BINARY: "SpecificDBType",
    OTHER: "SpecificDBType",
}


def get(uidt: str) -> FieldType:
    try:
        return REGISTRY[uidt]
    except KeyError:
        raise InvalidInput(
            f"Unknown field type '{uidt}'. Known types: {', '.join(CREATABLE)}.",
            code="UNKNOWN_FIELD_TYPE",
        )


def choice_titles(options: dict) -> list[str]:
    return [
        c["title"]
        for c in options.get("choices", [])
        if isinstance(c, dict) and "title" in c
    ]


def normalise_choices(raw) -> list[dict]:
    """Accept ["a", "b"] or [{"title": "a", "color": "#…"}]; give every choice a colour."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise InvalidInput("`choices` must be a list of options")
    out, seen = [], set()
    for i, item in enumerate(raw):
        title = item.get("title") if isinstance(item, dict) else item
        if not isinstance(title, str) or not title.strip():
            raise InvalidInput(f"option {i + 1} has no title")
        title = title.strip()
        if title in seen:
            continue
        seen.add(title)
        colour = item.get("color") if isinstance(item, dict) else None
        if not (isinstance(colour, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", colour)):
            colour = SELECT_COLOURS[len(out) % len(SELECT_COLOURS)]
        out.append({"title": title, "color": colour})
    return out


def column_model_field(
    column_type: str, *, null: bool, options: dict | None = None
) -> models.Field:
    """The Django field that creates a column of an abstract column type (for the schema editor)."""
    options = options or {}
    if column_type == TEXT:
        return models.CharField(
            max_length=int(options.get("max_length") or 255), null=null
        )
    if column_type == LONGTEXT:
        return models.TextField(null=null)
    if column_type == INTEGER:
        return models.IntegerField(null=null)
    if column_type == BIGINT:
        return models.BigIntegerField(null=null)
    if column_type == DECIMAL:
        return models.DecimalField(
            max_digits=int(options.get("max_digits") or 20),
            decimal_places=int(options.get("precision", 2)),
            null=null,
        )
    if column_type == FLOAT:
        return models.FloatField(null=null)
    if column_type == BOOLEAN:
        return models.BooleanField(null=null)
    if column_type == DATE:
        return models.DateField(null=null)
    if column_type == DATETIME:
        return models.DateTimeField(null=null)
    if column_type == TIME:
        return models.TimeField(null=null)
    if column_type == JSON:
        return models.JSONField(null=null)
    if column_type == UUID:
        return models.UUIDField(null=null)
    if column_type == DURATION:
        return models.DurationField(null=null)
    if column_type == BINARY:
        return models.BinaryField(null=null)
    raise InvalidInput(f"cannot create a column of type '{column_type}'")


# Django field class names (from introspection) → abstract column types.
DJANGO_TO_COLUMN = {
    "CharField": TEXT,
    "TextField": LONGTEXT,
    "GenericIPAddressField": TEXT,
    "SlugField": TEXT,
    "EmailField": TEXT,
    "URLField": TEXT,
    "AutoField": INTEGER,
    "SmallAutoField": INTEGER,
    "BigAutoField": BIGINT,
    "IntegerField": INTEGER,
    "SmallIntegerField": INTEGER,
    "PositiveIntegerField": INTEGER,
    "PositiveSmallIntegerField": INTEGER,
    "BigIntegerField": BIGINT,
    "PositiveBigIntegerField": BIGINT,
    "DecimalField": DECIMAL,
    "FloatField": FLOAT,
    "BooleanField": BOOLEAN,
    "NullBooleanField": BOOLEAN,
    "DateField": DATE,
    "DateTimeField": DATETIME,
    "TimeField": TIME,
    "JSONField": JSON,
    "UUIDField": UUID,
    "DurationField": DURATION,
    "BinaryField": BINARY,
}
