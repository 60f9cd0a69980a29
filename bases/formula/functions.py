"""The functions of the formula language: their parameters and result types (no SQL here).

Parameter kinds: `number`, `text` (anything, shown as text), `bool` (true/false, or a number or
text read as "is not zero / not empty"), `date` (a date, a date-time, or a literal "2026-12-24"),
`any`, and `unit` (a literal unit name such as "day"). A spec with `variadic` repeats its last kind.
"""

from __future__ import annotations

from dataclasses import dataclass

from bases.formula.types import FType

N, T, B, D, ANY, UNIT = "number", "text", "bool", "date", "any", "unit"

# Units each date function accepts, mapped to one canonical name.
DATEADD_UNITS = {
    **{u: "second" for u in ("second", "seconds", "s")},
    **{u: "minute" for u in ("minute", "minutes", "m")},
    **{u: "hour" for u in ("hour", "hours", "h")},
    **{u: "day" for u in ("day", "days", "d")},
    **{u: "week" for u in ("week", "weeks", "w")},
    **{u: "month" for u in ("month", "months", "M")},
    **{u: "year" for u in ("year", "years", "y")},
}
DIFF_UNITS = {
    **{u: "millisecond" for u in ("milliseconds", "millisecond", "ms")},
    **{u: "second" for u in ("seconds", "second", "s")},
    **{u: "minute" for u in ("minutes", "minute", "m")},
    **{u: "hour" for u in ("hours", "hour", "h")},
    **{u: "day" for u in ("days", "day", "d")},
    **{u: "week" for u in ("weeks", "week", "w")},
    **{u: "month" for u in ("months", "month", "M")},
    **{u: "quarter" for u in ("quarters", "quarter", "Q")},
    **{u: "year" for u in ("years", "year", "y")},
}
WEEKDAYS = {
    name: index
    for index, name in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
}


@dataclass(frozen=True)
class Fn:
    params: tuple[str, ...]
    required: int
    result: (
        FType | None
    )  # None: decided by the checker from the arguments (IF, SWITCH, DATEADD)
    variadic: bool = False
    units: dict | None = None  # for a `unit` parameter


FUNCTIONS: dict[str, Fn] = {
    # numbers
    "ROUND": Fn((N, N), 1, FType.NUMBER),
    "ABS": Fn((N,), 1, FType.NUMBER),
    "CEILING": Fn((N,), 1, FType.NUMBER),
    "FLOOR": Fn((N,), 1, FType.NUMBER),
    "MOD": Fn((N, N), 2, FType.NUMBER),
    "POWER": Fn((N, N), 2, FType.NUMBER),
    "SQRT": Fn((N,), 1, FType.NUMBER),
    "MIN": Fn((N,), 1, FType.NUMBER, variadic=True),
    "MAX": Fn((N,), 1, FType.NUMBER, variadic=True),
    "AVG": Fn((N,), 1, FType.NUMBER, variadic=True),
    "SUM": Fn((N,), 1, FType.NUMBER, variadic=True),
    # text
    "CONCAT": Fn((T,), 1, FType.TEXT, variadic=True),
    "LEFT": Fn((T, N), 2, FType.TEXT),
    "RIGHT": Fn((T, N), 2, FType.TEXT),
    "MID": Fn((T, N, N), 3, FType.TEXT),
    "LEN": Fn((T,), 1, FType.NUMBER),
    "LOWER": Fn((T,), 1, FType.TEXT),
    "UPPER": Fn((T,), 1, FType.TEXT),
    "TRIM": Fn((T,), 1, FType.TEXT),
    "SUBSTITUTE": Fn((T, T, T), 3, FType.TEXT),
    "REPLACE": Fn((T, T, T), 3, FType.TEXT),
    "SEARCH": Fn((T, T), 2, FType.NUMBER),
    "REPEAT": Fn((T, N), 2, FType.TEXT),
    "URL": Fn((T,), 1, FType.TEXT),
    # logic
    "IF": Fn((B, ANY, ANY), 2, None),
    "SWITCH": Fn((ANY, ANY), 3, None, variadic=True),
    "AND": Fn((B,), 1, FType.BOOLEAN, variadic=True),
    "OR": Fn((B,), 1, FType.BOOLEAN, variadic=True),
    "NOT": Fn((B,), 1, FType.BOOLEAN),
    "BLANK": Fn((), 0, FType.BLANK),
    "ISBLANK": Fn((ANY,), 1, FType.BOOLEAN),
    # dates
    "NOW": Fn((), 0, FType.DATETIME),
    "TODAY": Fn((), 0, FType.DATE),
    "DATEADD": Fn((D, N, UNIT), 3, None, units=DATEADD_UNITS),
    "DATETIME_DIFF": Fn((D, D, UNIT), 2, FType.NUMBER, units=DIFF_UNITS),
    "WEEKDAY": Fn((D, UNIT), 1, FType.NUMBER, units=WEEKDAYS),
    "DATESTR": Fn((D,), 1, FType.TEXT),
    "DAY": Fn((D,), 1, FType.NUMBER),
    "MONTH": Fn((D,), 1, FType.NUMBER),
    "YEAR": Fn((D,), 1, FType.NUMBER),
}


def signature(name: str) -> str:
    """`DATEADD(date, number, unit)`: for error messages and the formula editor's help."""
    fn = FUNCTIONS[name]
    parts = [
        kind if index < fn.required else f"[{kind}]"
        for index, kind in enumerate(fn.params)
    ]
    if fn.variadic:
        parts.append("…")
    return f"{name}({', '.join(parts)})"
