"""Events, previous rows and conditions on PostgreSQL, MariaDB and SQLite; who may manage hooks."""

import pytest
from rest_framework.test import APIClient

from bases.connections.config import ConnectionConfig
from bases.services import base_connect
from permissions.checks import Actor
from permissions.models import Membership
from tests.webhooks.test_events import hook, records
from webhooks import events
from webhooks.delivery import drain

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(external_db, user):
    q = external_db.q
    pk = {
        "pg": "SERIAL PRIMARY KEY",
        "mysql": "INTEGER PRIMARY KEY AUTO_INCREMENT",
        "sqlite": "INTEGER PRIMARY KEY",
    }[external_db.kind]
    external_db.execute(
        f"CREATE TABLE {q('items')} (id {pk}, name VARCHAR(50), qty INTEGER, "
        "price DECIMAL(8,2))"
    )
    base, _ = base_connect(
        actor=Actor(user=user),
        title="Stock",
        config=ConnectionConfig.from_url(external_db.url),
    )
    events.forget()
    return base.tables.get(table_name="items")


def test_events_on_each_database(api, items, receiver):
    hook(
        api,
        items,
        url=receiver.url,
        events=["insert", "update", "delete"],
        condition="(qty,gt,10)",
    )
    made = api.post(
        records(items),
        [
            {"name": "bolt", "qty": 5, "price": "0.25"},
            {"name": "nut", "qty": 50, "price": "0.10"},
        ],
        format="json",
    ).json()
    bolt, nut = (r["id"] for r in made)
    api.patch(
        records(items),
        [{"id": bolt, "qty": 20}, {"id": nut, "qty": 60}],  # bolt starts matching
        format="json",
    )
    api.delete(records(items), [{"id": bolt}, {"id": nut}], format="json")
    drain()
    got = [r.json for r in receiver.wait_for(4)]
    summary = [(b["type"], [r["name"] for r in b["data"]["rows"]]) for b in got]
    assert summary == [
        ("records.after.insert", ["nut"]),
        ("records.after.update", ["bolt"]),
        ("records.after.delete", ["bolt"]),
        ("records.after.delete", ["nut"]),
    ]
    update = got[1]["data"]
    assert update["previous_rows"][0]["qty"] == 5 and update["rows"][0]["qty"] == 20
    assert str(update["rows"][0]["price"]) in ("0.25", "0.250")


def test_only_creators_and_owners_manage_hooks(api, tasks_table, receiver, other_user):
    made = hook(api, tasks_table, url=receiver.url, events=["insert"])
    client = APIClient()
    client.force_authenticate(other_user)
    membership = Membership.objects.create(
        base_id=tasks_table.base_id, user=other_user, role="editor"
    )
    res = client.get(f"/api/v2/meta/hooks/{made['id']}")
    assert res.status_code == 403
    res = client.post(
        f"/api/v2/meta/tables/{tasks_table.pk}/hooks",
        {"title": "x", "url": receiver.url},
        format="json",
    )
    assert res.status_code == 403
    membership.role = "creator"
    membership.save()
    other_user._noco_perms = None  # forget the per-request permission cache
    assert client.get(f"/api/v2/meta/hooks/{made['id']}").status_code == 200
