"""Cell values as the record history and the change event's before image keep them.

One form whichever database a value came from and whether it was read back or just parsed, so
an old and a new value compare equal when they are equal.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

from bases.fieldtypes import field_type_for

# A cell longer than this is kept shortened (a long text edited a hundred times must not
# weigh a hundred times its size in the meta DB).
MAX_TEXT = 10_000


def plain(field, value):
    """A cell value as the history keeps it: JSON, the same whichever database it came from
    or whether it was read back or just parsed (so old and new compare equal when equal).

    Whole numbers are integers, other decimals exact strings (`"10.5"`), dates and times ISO
    8601 (date-times in UTC), UUIDs text, JSON and attachments as they are.
    """
    kind = type(value)
    ftype = field_type_for(field)
    # The common cases first: this runs for every cell of a 1000-row bulk write.
    if kind is str and not ftype.exact_decimal:
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if value is None or kind is bool:
        return value
    if kind is int and not ftype.exact_decimal and not ftype.is_boolean:
        return value
    if ftype.is_boolean:
        return bool(value)
    if isinstance(value, (decimal.Decimal, float)) or (
        ftype.exact_decimal and isinstance(value, (int, str))
    ):
        try:
            number = value if kind is decimal.Decimal else decimal.Decimal(str(value))
        except decimal.InvalidOperation:
            return _text(str(value))
        if not number.is_finite() or abs(number.adjusted()) > 40:
            return str(number)  # not spelled out digit by digit (1E+999999)
        if number == number.to_integral_value():
            return int(number)
        return format(number.normalize(), "f")
    if isinstance(value, int):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return _text(bytes(value).hex())
    if isinstance(value, (list, dict)):
        return value
    return _text(str(value))


def _text(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"
