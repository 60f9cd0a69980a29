"""Date and time types."""

from __future__ import annotations

import datetime as dt
import re

from bases.fieldtypes.base import FieldType
from bases.fieldtypes.columns import DATE, DATETIME, TIME
from nocoplatform.errors import InvalidInput

TYPED_DATETIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?")


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

    def from_typed(self, text, decimal_sep):
        # "2024-05-01 09:30" as typed: the space becomes ISO's T.
        if TYPED_DATETIME.fullmatch(text.strip()):
            return text.strip().replace(" ", "T")
        return text

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
