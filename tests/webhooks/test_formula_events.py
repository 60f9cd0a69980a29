"""A webhook condition on a formula, and payloads that carry formula values computed after the
write."""

import pytest

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
