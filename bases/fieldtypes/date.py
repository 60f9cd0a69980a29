"""Date and time types."""

from __future__ import annotations

import datetime as dt
import re

from bases.fieldtypes.base import FieldType
from bases.fieldtypes.columns import DATE, DATETIME, TIME
from nocoplatform.errors import InvalidInput

# A date as people type it: 2026-12-24, 24/12/2026, 12/24/2026, 24.12.26, 2026/12/24…
TYPED_DATE = re.compile(r"(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})")
# …optionally followed by a time of day: "2026-12-24 10:30", "24/12/2026T10:30:15".
TYPED_DATETIME = re.compile(
    r"(?P<date>[\d/.-]+?)(?:[ T]+(?P<time>\d{1,2}:\d\d(?::\d\d(?:\.\d+)?)?)"
    r"(?P<zone>Z|[+-]\d\d:?\d\d)?)?"
)


def typed_date(text: str, order: str = "dmy") -> str | None:
    """A typed date as ISO 'YYYY-MM-DD' (None when it is not one).

    A four-digit first part is a year (year, month, day); otherwise the year is last and the
    user's `order` ("dmy" or "mdy", from the browser's locale) says which of the first two is
    the day — unless one of them is over 12, which can only be a day. Two-digit years are
    20xx. Checked as a real date (no 31 February).
    """
    m = TYPED_DATE.fullmatch(text.strip())
    if m is None:
        return None
    a, b, c = m.groups()
    if len(a) == 4:
        year, month, day = int(a), int(b), int(c)
    elif len(c) in (2, 4) and len(a) <= 2:
        year = int(c) + (2000 if len(c) == 2 else 0)
        first, second = int(a), int(b)
        month, day = (first, second) if order == "mdy" else (second, first)
        if month > 12 >= day:  # the locale's order cannot be meant: the other one is
            month, day = day, month
    else:
        return None
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def typed_datetime(text: str, order: str = "dmy") -> str | None:
    """A typed date and time as ISO 8601 ('2026-12-24T10:30'); None when it is not one."""
    m = TYPED_DATETIME.fullmatch(text.strip())
    if m is None:
        return None
    day = typed_date(m["date"], order)
    if day is None:
        return None
    time = m["time"] or "00:00"
    if len(time.split(":")[0]) == 1:
        time = "0" + time
    return f"{day}T{time}{m['zone'] or ''}"


class Date(FieldType):
    uidt, label, column_types, default_column_type = "Date", "Date", (DATE,), DATE
    icon = "◷"
    column_width = 130
    input_type = "date"
    calendar_date = True
    date_only = True  # no time of day
    openapi = {"type": "string", "format": "date"}

    def parse(self, value, options):
        if value in (None, ""):
            return None
        try:
            return dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            raise InvalidInput(f"'{value}' is not a date (YYYY-MM-DD)")

    def typed_value(self, field, text, decimal_sep=".", date_order="dmy"):
        # Typed in the grid: ISO or the user's locale form ("24/12/2026"); anything else is
        # sent on as typed, for parse to refuse with its message.
        if isinstance(text, str) and text.strip():
            return typed_date(text, date_order) or text
        return super().typed_value(field, text, decimal_sep, date_order)


class DateTime(FieldType):
    uidt, label, column_types, default_column_type = (
        "DateTime",
        "Date and time",
        (DATETIME,),
        DATETIME,
    )
    icon = "◷"
    column_width = 170
    input_type = "datetime-local"
    calendar_date = True
    openapi = {"type": "string", "format": "date-time"}

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

    def typed_value(self, field, text, decimal_sep=".", date_order="dmy"):
        # "2024-05-01 09:30", "24/12/2026 10:30" as typed: ISO 8601 (UTC unless an offset
        # is typed); anything else is sent on as typed, for parse to refuse.
        if isinstance(text, str) and text.strip():
            return typed_datetime(text, date_order) or text
        return super().typed_value(field, text, decimal_sep, date_order)

    def form_text(self, field, value) -> str:
        return self.edit_text(field, value)[
            :16
        ]  # datetime-local: no offset, shown in UTC


class Time(FieldType):
    uidt, label, column_types, default_column_type = "Time", "Time", (TIME,), TIME
    icon = "◷"
    column_width = 110
    input_type = "time"
    openapi = {"type": "string", "example": "09:30:00"}

    def parse(self, value, options):
        if value in (None, ""):
            return None
        try:
            return dt.time.fromisoformat(str(value))
        except ValueError:
            raise InvalidInput(f"'{value}' is not a time (HH:MM[:SS])")
