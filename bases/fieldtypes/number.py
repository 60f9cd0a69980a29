"""Number types: whole numbers and ratings, decimals, currency, percent, duration."""

from __future__ import annotations

import decimal
import re

from bases import value_limits as limits
from bases.fieldtypes.base import FieldType, Parser
from bases.fieldtypes.columns import BIGINT, DECIMAL, DURATION, FLOAT, INTEGER
from bases.fieldtypes.html import escape
from nocoplatform.errors import InvalidInput

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹"}


def normalise_number(text: str, decimal_sep: str = ".") -> str:
    """Typed or pasted number text in any common locale form → '1234.5'.

    Spaces, currency symbols and '%' are dropped. With both ',' and '.', the last one is the
    decimal separator. With only one kind: several of them group thousands; a single one is
    grouping only when it is the user's grouping character and three digits follow it
    ("1,234" in English, "1.234" in German), otherwise it is the decimal point ("12,5").
    Anything else is returned as typed, for the field type to refuse with its message.
    """
    s = re.sub(r"[\s\u00a0\u202f'’]|[€$£¥₹%]", "", str(text))
    s = re.sub(r"^[A-Z]{3}|[A-Z]{3}$", "", s)
    if not re.fullmatch(r"[-+]?[0-9.,]+", s or "x"):
        return str(text).strip()
    commas, dots = s.count(","), s.count(".")
    if commas and dots:
        dec = "," if s.rfind(",") > s.rfind(".") else "."
        group = "." if dec == "," else ","
        return s.replace(group, "").replace(dec, ".")
    sep = "," if commas else "." if dots else None
    if sep is None:
        return s
    if s.count(sep) > 1:
        return s.replace(sep, "")
    group_char = "." if decimal_sep == "," else ","
    after = s.split(sep)[1]
    if sep == group_char and len(after) == 3:
        return s.replace(sep, "")
    return s.replace(sep, ".")


class NumberType(FieldType):
    """What every number type shares: typed in any locale, shown formatted."""

    numeric = True

    def from_typed(self, text, decimal_sep):
        return normalise_number(text, decimal_sep)

    def show(self, field, value, file_url=None) -> str:
        try:
            number = decimal.Decimal(str(value))
        except decimal.InvalidOperation:
            return escape(str(value))
        return escape(self.formatted(field, number, value))

    def formatted(self, field, number: decimal.Decimal, value) -> str:
        precision = (field.options or {}).get("precision")
        if precision not in (None, ""):
            return f"{number:,.{int(precision)}f}"
        return f"{number:f}"


class Number(NumberType):
    uidt, label, column_types, default_column_type = (
        "Number",
        "Number",
        (INTEGER, BIGINT),
        BIGINT,
    )
    icon = "#"
    column_width = 110
    input_type = "number"
    openapi = {"type": "integer"}

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

    def formatted(self, field, number, value) -> str:
        return str(value)


class Rating(Number):
    uidt, label, default_column_type = "Rating", "Rating", INTEGER
    icon = "#"
    column_width = 90


class Decimal(NumberType):
    uidt, label, column_types, default_column_type = (
        "Decimal",
        "Decimal",
        (DECIMAL, FLOAT, INTEGER, BIGINT),
        DECIMAL,
    )
    icon = "1.0"
    exact_decimal = True
    openapi = {"type": "number"}

    def clean_options(self, options: dict, data: dict) -> dict:
        precision = options.get("precision", 2)
        if not isinstance(precision, int) or not 0 <= precision <= 8:
            raise InvalidInput("`precision` must be a whole number from 0 to 8")
        return dict(options)

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
    icon = "¤"

    def formatted(self, field, number, value) -> str:
        o = field.options or {}
        precision = o.get("precision")
        places = 2 if precision in (None, "") else int(precision)
        code = str(o.get("currency") or "")
        symbol = CURRENCY_SYMBOLS.get(code, code)
        text = f"{number:,.{places}f}"
        return f"{symbol} {text}" if symbol else text


class Percent(Decimal):
    uidt, label = "Percent", "Percent"
    icon = "%"
    column_width = 110

    def formatted(self, field, number, value) -> str:
        return f"{number.normalize():f} %"


class Duration(Decimal):
    uidt, label, column_types = (
        "Duration",
        "Duration",
        (DECIMAL, FLOAT, INTEGER, BIGINT, DURATION),
    )

    def clean_options(self, options: dict, data: dict) -> dict:
        return dict(options)  # no precision: a duration is shown as stored
