"""The result types a formula expression can have; they drive display, filters, sorts, aggregates."""

from __future__ import annotations

import enum


class FType(enum.Enum):
    NUMBER = "number"
    TEXT = "text"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    # The type of BLANK(): fits anywhere, takes the type of what it is combined with.
    BLANK = "blank"

    @property
    def is_temporal(self) -> bool:
        return self in (FType.DATE, FType.DATETIME)

    @property
    def label(self) -> str:
        return {
            FType.NUMBER: "a number",
            FType.TEXT: "text",
            FType.DATE: "a date",
            FType.DATETIME: "a date and time",
            FType.BOOLEAN: "true/false",
            FType.BLANK: "blank",
        }[self]


def unify(a: FType, b: FType) -> FType | None:
    """The common type of two branches (IF, SWITCH), or None when they cannot share one."""
    if a == b or b is FType.BLANK:
        return a
    if a is FType.BLANK:
        return b
    if a.is_temporal and b.is_temporal:
        return FType.DATETIME
    if FType.TEXT in (a, b):
        return FType.TEXT  # the other branch is shown as text
    return None
