"""A webhook condition on a formula, and payloads that carry formula values computed after the
write."""

import pytest

from tests.webhooks.test_events import hook, records
from webhooks import events
from webhooks.delivery import drain

pytestmark = pytest.mark.django_db


def test_condition_and_payload_use_the_recomputed_formula(api, tasks_table, receiver):
    made = api.post(
        f"/api/v2/meta/tables/{tasks_table.pk}/columns",
        {"title": "Score", "uidt": "Formula", "formula_raw": "{points} * 10"},
        format="json",
    )
    assert made.status_code == 201, made.content
    hook = api.post(
        f"/api/v2/meta/tables/{tasks_table.pk}/hooks",
        {
            "title": "high scores",
            "url": receiver.url,
            "events": ["insert", "update"],
            "condition": "(Score,gt,20)",
        },
        format="json",
    )
    assert hook.status_code == 201, hook.content
    url = f"/api/v2/tables/{tasks_table.pk}/records"
    ids = [
        r["id"]
        for r in api.post(
            url,
            [{"title": "a", "points": 1}, {"title": "b", "points": 3}],
            format="json",
        ).json()
    ]
    drain()
    first = receiver.wait_for(1)
    assert [r.json["data"]["rows"][0]["title"] for r in first] == ["b"]
    assert float(first[0].json["data"]["rows"][0]["Score"]) == 30
    api.patch(url, {"id": ids[0], "points": 5}, format="json")
    drain()
    row = receiver.wait_for(2)[1].json["data"]["rows"][0]
    assert row["title"] == "a" and float(row["Score"]) == 50


@pytest.fixture
def stock(external_db, make_table, api):
    table = make_table(
        external_db,
        "stock",
        "name VARCHAR(50)",
        "qty INTEGER",
        "price DECIMAL(8,2)",
        title="Stock",
    )
    for title, formula in (
        ("Total", "{qty} * {price}"),  # a decimal
        ("Band", 'IF({qty} >= 10, "bulk", "single")'),  # a text
    ):
        made = api.post(
            f"/api/v2/meta/tables/{table.pk}/columns",
            {"title": title, "uidt": "Formula", "formula_raw": formula},
            format="json",
        )
        assert made.status_code == 201, made.content
    events.forget()
    return table


def test_conditions_on_decimal_and_text_formulas_on_each_database(api, stock, receiver):
    """The condition is matched against the formulas' values after the write, in SQL, on
    PostgreSQL, MariaDB and SQLite (a decimal formula compared with a bound decimal)."""
    hook(
        api,
        stock,
        url=receiver.url,
        events=["insert", "update"],
        condition="(Total,gt,12.5)~and(Band,eq,bulk)",
    )
    made = api.post(
        records(stock),
        [
            {"name": "bolt", "qty": 10, "price": "1.25"},  # 12.50: not above
            {"name": "nut", "qty": 100, "price": "0.20"},  # 20.00, bulk
            {"name": "gear", "qty": 2, "price": "9.99"},  # 19.98, single
            {"name": "cog", "qty": None, "price": "5.00"},  # NULL total
        ],
        format="json",
    )
    assert made.status_code == 200, made.content
    bolt = made.json()[0]["id"]
    api.patch(records(stock), {"id": bolt, "price": "1.26"}, format="json")  # 12.60
    drain()
    got = [r.json for r in receiver.wait_for(2)]
    summary = [(b["type"], [r["name"] for r in b["data"]["rows"]]) for b in got]
    assert summary == [
        ("records.after.insert", ["nut"]),
        ("records.after.update", ["bolt"]),
    ]
    assert float(got[1]["data"]["rows"][0]["Total"]) == 12.6
    assert got[1]["data"]["rows"][0]["Band"] == "bulk"
