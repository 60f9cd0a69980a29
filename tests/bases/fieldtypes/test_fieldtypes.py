"""Parsing of request values by field type (bases/fieldtypes.py), without a database."""

import decimal

import pytest

from bases import fieldtypes as ft
from nocoplatform.errors import InvalidInput


@pytest.mark.parametrize(
    "value,expected",
    [
        (7, 7),
        (-(2**63) + 1, -(2**63) + 1),
        (2**63 - 1, 2**63 - 1),
        ("42", 42),
        (" 42 ", 42),
        ("4.0", 4),
        (4.0, 4),
        (decimal.Decimal("12"), 12),
        ("", None),
        (None, None),
    ],
)
def test_whole_numbers_parse_to_int(value, expected):
    parsed = ft.get("Number").parse(value, {})
    assert parsed == expected and type(parsed) is type(expected)


@pytest.mark.parametrize(
    "value,message",
    [
        (2**63, "too large"),
        (-(2**63), "too large"),
        (str(2**63), "too large"),
        (10**30, "too large"),
        (True, "expected a whole number"),
        (False, "expected a whole number"),
        ("4.5", "not a whole number"),
        (4.5, "not a whole number"),
        ("ten", "not a number"),
        ("NaN", "not a whole number"),
        ("Infinity", "not a whole number"),
    ],
)
def test_whole_numbers_out_of_range_or_not_whole_are_refused(value, message):
    with pytest.raises(InvalidInput) as caught:
        ft.get("Number").parse(value, {})
    assert message in caught.value.message
