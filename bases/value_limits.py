"""How large a value each field may hold, checked before any database sees it.

The databases disagree: PostgreSQL and MariaDB refuse a `varchar(20)` value of 21 characters
(as a database error), SQLite stores it, and a `TEXT` column takes whatever arrives. So the
field types check the same limits on every database (bases/fieldtypes.py, `value_parser`),
and an over-long value is a 400 naming the field everywhere:

- text: the column's declared length (`varchar(n)`, `char(n)`), and never more than
  NOCO_MAX_TEXT_LENGTH characters; MariaDB/MySQL `tinytext`/`text`/`mediumtext` columns also
  hold at most 255 / 65,535 / 16,777,215 bytes of UTF-8;
- JSON and attachment lists: their text form, likewise; nesting at most MAX_JSON_DEPTH deep;
- whole numbers: the column type's range on PostgreSQL and MariaDB (`smallint`, `int`,
  `unsigned`…; SQLite's integers are all 64-bit); decimals: the declared `decimal(p,s)`;
- no NUL character (U+0000) in any text: PostgreSQL cannot store one, and the others would
  hand it to every client.

docs/security.md ("Request and value limits") lists them for admins and API users.
"""

from __future__ import annotations

import decimal
import json
import re
from dataclasses import dataclass

from django.conf import settings

from nocoplatform.errors import InvalidInput

# Deeper JSON than this is refused: MySQL's own limit, and Python's json module raises
# RecursionError (a 500) somewhat beyond 900 levels.
MAX_JSON_DEPTH = 100

_DECLARED_LENGTH = re.compile(
    r"^\s*(?:national\s+)?(?:character\s+varying|varchar2?|nvarchar|character|n?char|bpchar)"
    r"\s*\(\s*(\d+)\s*\)"
)
# MariaDB/MySQL TEXT types count bytes, not characters.
_MYSQL_TEXT_BYTES = {"tinytext": 255, "text": 65_535, "mediumtext": 16_777_215}
_INTEGER = re.compile(
    r"^\s*(tiny|small|medium|big)?int(?:eger)?([248])?\b\s*(?:\(\s*\d+\s*\))?\s*(unsigned)?"
)
_SERIAL = re.compile(r"^\s*(small|big)?serial\b")
_DECIMAL = re.compile(r"^\s*(?:numeric|decimal|dec)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")
_BITS = {"tiny": 8, "small": 16, "medium": 24, None: 32, "big": 64}
_BITS_BY_BYTES = {"2": 16, "4": 32, "8": 64}


@dataclass(frozen=True)
class TextLimit:
    chars: int
    bytes: int | None = None

    def check(self, text: str) -> None:
        if len(text) > self.chars:
            raise InvalidInput(
                f"too long: at most {self.chars:,} characters ({len(text):,} given)"
            )
        # A UTF-8 character is at most 4 bytes: encode only when the bytes could be over.
        if self.bytes is not None and len(text) * 4 > self.bytes:
            size = len(text.encode())
            if size > self.bytes:
                raise InvalidInput(
                    f"too long: the column holds at most {self.bytes:,} bytes "
                    f"({size:,} given)"
                )


def text_limit(field, *, db: str) -> TextLimit:
    """The limit of a text value stored in `field`'s column on a data source of kind `db`."""
    chars = settings.NOCO_MAX_TEXT_LENGTH
    db_type = (field.db_type or "").strip().lower()
    declared = _DECLARED_LENGTH.match(db_type)
    if declared:
        chars = min(chars, int(declared.group(1)))
    size = _MYSQL_TEXT_BYTES.get(db_type) if db == "mysql2" else None
    return TextLimit(chars, size)


def refuse_nul(text: str) -> str:
    if "\x00" in text:
        raise InvalidInput("text may not contain NUL characters (\\x00)")
    return text


# An escaped NUL in JSON text: \u0000 after an even number of backslashes (a string holding
# a backslash followed by "u0000" is written \\u0000, which is not one).
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def json_text(value) -> str:
    """The text a JSON value is stored as (bases.query.dialects.Dialect.to_db); refuses NULs in
    its strings and keys, and nesting beyond MAX_JSON_DEPTH."""
    _check_depth(value)
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"not storable as JSON: {exc}")
    if "\\u0000" in text and _JSON_NUL.search(text):
        raise InvalidInput("text may not contain NUL characters (\\u0000)")
    return text


def _check_depth(value) -> None:
    # Iterative: recursion is what fails on deep input.
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise InvalidInput(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
        stack.extend((child, depth + 1) for child in children)


def integer_range(field, *, db: str) -> tuple[int, int] | None:
    """(lowest, highest) a whole-number column holds, when narrower than 64 bits signed.

    SQLite stores every integer in up to 64 bits whatever the declared type says.
    """
    if db == "sqlite3":
        return None
    db_type = (field.db_type or "").lower()
    match = _INTEGER.match(db_type)
    if match:
        bits = (
            _BITS_BY_BYTES[match.group(2)] if match.group(2) else _BITS[match.group(1)]
        )
        unsigned = bool(match.group(3))
    else:
        serial = _SERIAL.match(db_type)
        if not serial:
            return None
        bits, unsigned = {"small": 16, None: 32, "big": 64}[serial.group(1)], False
    if unsigned:
        return 0, 2**bits - 1
    if bits == 64:
        return None  # Number.parse keeps to 64 bits already
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def check_integer(value: int, bounds: tuple[int, int]) -> None:
    low, high = bounds
    if not low <= value <= high:
        raise InvalidInput(
            f"{value} is out of range for this column ({low:,} to {high:,})"
        )


def decimal_digits(field) -> tuple[int, int] | None:
    """(precision, scale) of a declared `decimal(p,s)` / `numeric(p,s)` column."""
    match = _DECIMAL.match((field.db_type or "").lower())
    if not match:
        return None
    return int(match.group(1)), int(match.group(2) or 0)


def check_decimal(value: decimal.Decimal, digits: tuple[int, int]) -> None:
    """As the databases round to the scale first (half away from zero), then check the
    digits before the point."""
    precision, scale = digits
    bound = decimal.Decimal(10) ** (precision - scale)
    if abs(value) < bound:
        with decimal.localcontext() as ctx:
            ctx.prec = precision + 10
            rounded = value.quantize(
                decimal.Decimal(1).scaleb(-scale), rounding=decimal.ROUND_HALF_UP
            )
        if abs(rounded) < bound:
            return
    raise InvalidInput(
        f"{value} does not fit this column: at most {precision - scale} digits before "
        f"the point and {scale} after"
    )
