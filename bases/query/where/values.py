"""Filter values read per field kind: numbers, booleans, times, durations, UUIDs and the
date sub-operators (`today`, `daysAgo,3`, `pastWeek`…), bound in the dialect's own form."""

from __future__ import annotations

import calendar
import datetime as dt
import decimal
import re
import uuid
from typing import Any

from bases.query.where.nodes import MAX_DAYS
from nocoplatform.errors import InvalidInput

TEXT, NUMBER, BOOL, DATE, DATETIME, TIME, UUID, DURATION, JSON, OTHER = (
    "text",
    "number",
    "boolean",
    "date",
    "datetime",
    "time",
    "uuid",
    "duration",
    "json",
    "other",
)
COLUMN_KINDS = {
    "text": TEXT,
    "longtext": TEXT,
    "integer": NUMBER,
    "bigint": NUMBER,
    "decimal": NUMBER,
    "float": NUMBER,
    "boolean": BOOL,
    "date": DATE,
    "datetime": DATETIME,
    "time": TIME,
    "uuid": UUID,
    "duration": DURATION,
    "json": JSON,
    "binary": OTHER,
    "other": OTHER,
}
ORDERED_KINDS = (NUMBER, DATE, DATETIME, TIME, DURATION)
_TRUE = {"true", "1", "yes", "on", "checked"}
_FALSE = {"false", "0", "no", "off", "unchecked"}
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,4})?")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_INT64 = 2**63
_DAY = dt.timedelta(days=1)

# Date sub-operators: name -> takes an argument?
_DATE_SUBOPS = {
    "today": False,
    "tomorrow": False,
    "yesterday": False,
    "oneWeekAgo": False,
    "oneWeekFromNow": False,
    "oneMonthAgo": False,
    "oneMonthFromNow": False,
    "daysAgo": True,
    "daysFromNow": True,
    "exactDate": True,
}
_WITHIN_SUBOPS = {
    "pastWeek": False,
    "pastMonth": False,
    "pastYear": False,
    "nextWeek": False,
    "nextMonth": False,
    "nextYear": False,
    "pastNumberOfDays": True,
    "nextNumberOfDays": True,
}
_DATE_SUBOPS_LC = {k.lower(): k for k in _DATE_SUBOPS}
_WITHIN_SUBOPS_LC = {k.lower(): k for k in _WITHIN_SUBOPS}


def bad_value(message: str) -> InvalidInput:
    return InvalidInput(message, code="INVALID_FILTER_VALUE")


def _add_months(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + (day.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise bad_value("The date is out of range.")
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _day_count(arg: str, name: str) -> int:
    text = arg.strip()
    if not text.isdigit() or not text.isascii():
        raise bad_value(f"'{name}' needs a whole number of days, got '{arg}'.")
    n = int(text)
    if n > MAX_DAYS:
        raise bad_value(f"'{name}' accepts at most {MAX_DAYS} days.")
    return n


def shift_days(day: dt.date, days: int) -> dt.date:
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        raise bad_value("The date is out of range.")


class ValueReader:
    """Mixed into the compiler: `self.dialect` binds, `self.today` anchors relative dates."""

    def number(self, field, value: str):
        text = value.strip()
        if not _NUMBER_RE.fullmatch(text):
            raise bad_value(f"'{value}' is not a number (field '{field.title}').")
        d = decimal.Decimal(text)
        if d and not -100 <= d.adjusted() <= 100:
            raise bad_value(f"'{value}' is out of range (field '{field.title}').")
        if d == d.to_integral_value() and abs(d) < _INT64:
            return int(d)
        return self.dialect.filter_number(d)

    def boolean(self, field, value: str) -> bool:
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise bad_value(f"'{value}' is not true or false (field '{field.title}').")

    def time(self, field, value: str):
        try:
            t = dt.time.fromisoformat(value.strip())
        except ValueError:
            raise bad_value(
                f"'{value}' is not a time HH:MM[:SS] (field '{field.title}')."
            )
        if t.tzinfo is not None:
            raise bad_value(f"'{value}': times without a time zone only.")
        return self.dialect.bind_time(t)

    def duration(self, field, value: str):
        seconds = self.number(field, value)
        try:
            delta = dt.timedelta(seconds=float(seconds))
        except OverflowError:
            raise bad_value(f"'{value}' is out of range (field '{field.title}').")
        return self.dialect.bind_duration(delta)

    def uuid_value(self, field, value: str) -> uuid.UUID:
        try:
            return uuid.UUID(value.strip())
        except ValueError:
            raise bad_value(f"'{value}' is not a UUID (field '{field.title}').")

    def scalar(self, field, kind: str, value: str):
        """A bindable value for =, <, > on non-text, non-date kinds."""
        if kind == NUMBER:
            return self.number(field, value)
        if kind == BOOL:
            return self.boolean(field, value)
        if kind == TIME:
            return self.time(field, value)
        if kind == DURATION:
            return self.duration(field, value)
        raise AssertionError(kind)

    # ---- dates
    def day_start(self, day: dt.date):
        return self.dialect.bind_instant(
            dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        )

    def date_value(self, field, kind: str, value: str) -> tuple[str, Any]:
        """('day', date) or ('instant', aware datetime) from a sub-operator or a literal."""
        parts = value.split(",")
        name = _DATE_SUBOPS_LC.get(parts[0].strip().lower())
        if name is not None:
            takes_arg = _DATE_SUBOPS[name]
            if takes_arg != (len(parts) == 2) or len(parts) > 2:
                form = f"{name},N" if takes_arg else name
                if name == "exactDate":
                    form = "exactDate,YYYY-MM-DD"
                raise bad_value(
                    f"Date sub-operator is written '{form}', got '{value}'."
                )
            today = self.today
            if name == "exactDate":
                return self.literal_date(field, kind, parts[1].strip(), date_only=True)
            if name in ("daysAgo", "daysFromNow"):
                n = _day_count(parts[1], name)
                return "day", shift_days(today, -n if name == "daysAgo" else n)
            day = {
                "today": lambda: today,
                "tomorrow": lambda: shift_days(today, 1),
                "yesterday": lambda: shift_days(today, -1),
                "oneWeekAgo": lambda: shift_days(today, -7),
                "oneWeekFromNow": lambda: shift_days(today, 7),
                "oneMonthAgo": lambda: _add_months(today, -1),
                "oneMonthFromNow": lambda: _add_months(today, 1),
            }[name]()
            return "day", day
        return self.literal_date(field, kind, value.strip())

    def literal_date(self, field, kind, text: str, date_only: bool = False):
        if _DATE_RE.fullmatch(text):
            try:
                return "day", dt.date.fromisoformat(text)
            except ValueError:
                pass
        elif kind == DATETIME and not date_only and _DATETIME_RE.match(text):
            try:
                moment = dt.datetime.fromisoformat(text)
            except ValueError:
                pass
            else:
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=dt.UTC)
                try:
                    moment.astimezone(dt.UTC)
                except OverflowError:
                    raise bad_value(f"'{text}' is out of range.")
                return "instant", moment
        accepted = "YYYY-MM-DD" + (
            ", YYYY-MM-DD HH:MM[:SS][+HH:MM]"
            if kind == DATETIME and not date_only
            else ""
        )
        raise bad_value(
            f"'{text}' is not a date for field '{field.title}'. Use {accepted} or one of: "
            f"{', '.join(_DATE_SUBOPS)} (daysAgo, daysFromNow and exactDate take a value)."
        )

    def within(self, value: str) -> tuple[dt.date, dt.date]:
        parts = value.split(",")
        name = _WITHIN_SUBOPS_LC.get(parts[0].strip().lower())
        if name is None or _WITHIN_SUBOPS[name] != (len(parts) == 2) or len(parts) > 2:
            raise bad_value(
                f"isWithin takes one of: {', '.join(_WITHIN_SUBOPS)} "
                f"(pastNumberOfDays,N and nextNumberOfDays,N take a number), got '{value}'."
            )
        today = self.today
        if name.endswith("NumberOfDays"):
            n = _day_count(parts[1], name)
            other = shift_days(today, -n if name.startswith("past") else n)
        else:
            sign = -1 if name.startswith("past") else 1
            unit = name[4:]
            if unit == "Week":
                other = shift_days(today, 7 * sign)
            elif unit == "Month":
                other = _add_months(today, sign)
            else:
                other = _add_months(today, 12 * sign)
        return (other, today) if other <= today else (today, other)
