"""Keyset pages through a view sorted by a formula on PostgreSQL, MariaDB and SQLite: every
row exactly once, in the order one unpaged read gives, with NULLs and ties, ascending and
descending, one and several rows a page. A decimal formula is the case that matters on SQLite:
the cursor binds decimals as text, and an expression without numeric affinity compares every
number below every text (the cursor would repeat or skip rows)."""

from __future__ import annotations

import decimal

import pytest

from bases import records
from permissions.checks import SYSTEM, Actor
from views.services import view_create, view_update

pytestmark = pytest.mark.django_db

# Ties (two 2.50, three NULL budgets), negatives, a fraction that is inexact in binary.
BUDGETS = [
    "2.50",
    None,
    "10.00",
    "2.50",
    "-3.25",
    None,
    "0.10",
    "1000.75",
    None,
    "9.99",
]


@pytest.fixture
def items(external_db, make_table, api):
    table = make_table(
        external_db,
        "items",
        "name VARCHAR(20)",
        "budget DECIMAL(10,2)",
        rows=[
            {"name": f"item {i}", "budget": None if b is None else decimal.Decimal(b)}
            for i, b in enumerate(BUDGETS)
        ],
    )
    for title, formula in (
        ("Gross", "{budget} * 1.2"),  # a decimal
        ("Half", "ROUND({budget} / 2, 1)"),  # a decimal with more ties after rounding
        ("Tag", 'IF({budget} > 5, "high", IF({budget} > 0, "low", ""))'),  # text
    ):
        r = api.post(
            f"/api/v2/meta/tables/{table.pk}/columns",
            {"title": title, "uidt": "Formula", "formula_raw": formula},
            format="json",
        )
        assert r.status_code == 201, r.content
    return table


def paged(table, view, limit: int) -> list[str]:
    seen, cursor = [], None
    for _ in range(len(BUDGETS) + 2):  # more pages than rows: a loop is a bug
        params = {"limit": str(limit), "fields": "name"}
        if cursor:
            params["cursor"] = cursor
        page = records.list_records(table, params, view=view, actor=SYSTEM)
        seen += [r["name"] for r in page.rows]
        cursor = page.page_info.get("next")
        if not cursor:
            return seen
    raise AssertionError(f"no last page: {seen}")


@pytest.mark.parametrize(
    "sort", ["Gross", "-Gross", "Half,-name", "-Half,name", "Tag,-Gross", "-Tag,Gross"]
)
def test_keyset_pages_through_a_view_sorted_by_a_formula(user, items, sort):
    view = view_create(actor=Actor(user=user), table=items, title="By formula")
    view_update(actor=Actor(user=user), view=view, data={"sort": sort})
    whole = [
        r["name"]
        for r in records.list_records(
            items, {"limit": "100", "fields": "name"}, view=view, actor=SYSTEM
        ).rows
    ]
    assert sorted(whole) == sorted(f"item {i}" for i in range(len(BUDGETS)))
    for limit in (1, 2, 3):
        assert paged(items, view, limit) == whole, (sort, limit)
    if sort == "Gross":  # the order itself: NULLs first (smallest), then by value
        values = [
            None if BUDGETS[int(n.split()[1])] is None else BUDGETS[int(n.split()[1])]
            for n in whole
        ]
        assert values[:3] == [None, None, None]
        assert [decimal.Decimal(v) for v in values[3:]] == sorted(
            decimal.Decimal(v) for v in values[3:]
        )
