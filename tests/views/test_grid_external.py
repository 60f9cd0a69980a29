"""The grid on connected PostgreSQL, MariaDB and SQLite databases: windows by cursor, a jump,
cell saves (numbers, booleans, a database refusal), a pasted range, links and a read-only view."""

import json
from decimal import Decimal

import pytest

from bases import records
from bases.connections.config import ConnectionConfig
from bases.services import base_connect
from permissions.checks import SYSTEM, Actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(external_db, user):
    q = external_db.q
    pk = {
        "pg": "SERIAL PRIMARY KEY",
        "mysql": "INTEGER PRIMARY KEY AUTO_INCREMENT",
        "sqlite": "INTEGER PRIMARY KEY",
    }[external_db.kind]
    boolean = "BOOLEAN" if external_db.kind != "mysql" else "TINYINT(1)"
    external_db.execute(
        f"CREATE TABLE {q('clients')} (id {pk}, name VARCHAR(100) NOT NULL)",
        f"CREATE TABLE {q('orders')} (id {pk}, label VARCHAR(100) NOT NULL, "
        f"amount DECIMAL(10,2), paid {boolean}, "
        f"client_id INTEGER REFERENCES {q('clients')}(id))",
        f"CREATE VIEW {q('big_orders')} AS SELECT id, label FROM {q('orders')} "
        "WHERE amount > 100",
        f"INSERT INTO {q('clients')} (name) VALUES ('Ada'), ('Grace')",
    )
    values = ", ".join(
        f"('order {i}', {i}.50, {'TRUE' if i % 2 else 'FALSE'}, 1)"
        for i in range(1, 251)
    )
    external_db.execute(
        f"INSERT INTO {q('orders')} (label, amount, paid, client_id) VALUES {values}"
    )
    base, _ = base_connect(
        actor=Actor(user=user),
        title="Shop",
        config=ConnectionConfig.from_url(external_db.url),
    )
    return {t.table_name: t for t in base.tables.all()}


def url(table, tail=""):
    return f"/bases/{table.base_id}/tables/{table.pk}/{tail}"


def test_grid_reads_windows_and_saves_cells(web, shop):
    orders = shop["orders"]
    page = web.get(url(orders)).content.decode()
    assert page.count('<tr class="grid-row"') == 100
    config = json.loads(
        page.split('id="grid-config" type="application/json">')[1].split("</script>")[0]
    )
    assert config["total"] == 250 and config["next"]
    second = web.get(url(orders, "grid/rows"), {"cursor": config["next"], "start": 100})
    assert 'data-n="101"' in second.content.decode() and second["X-Grid-Next"]
    last = web.get(url(orders, "grid/rows"), {"offset": 200, "start": 200})
    assert last["X-Grid-Count"] == "50" and last["X-Grid-Last"] == "1"
    fields = {f.title: f for f in orders.fields.all()}
    cell = f"cells/1/{fields['amount'].pk}"
    saved = web.post(
        url(orders, cell),
        {"value": "1.234,5"},
        HTTP_X_GRID_EDITOR="1",
        HTTP_X_DECIMAL_SEPARATOR=",",
    )
    assert saved.status_code == 200
    assert Decimal(
        str(records.get_record(orders, 1, actor=SYSTEM)["amount"])
    ) == Decimal("1234.5")
    paid = f"cells/2/{fields['paid'].pk}"
    assert (
        web.post(
            url(orders, paid), {"value": "true"}, HTTP_X_GRID_EDITOR="1"
        ).status_code
        == 200
    )
    assert records.get_record(orders, 2, actor=SYSTEM)["paid"] is True
    # NOT NULL refused by the database: the reason, nothing saved.
    refused = web.post(
        url(orders, f"cells/3/{fields['label'].pk}"),
        {"value": ""},
        HTTP_X_GRID_EDITOR="1",
    )
    assert refused.status_code == 400 and "required" in refused.json()["message"]
    assert records.get_record(orders, 3, actor=SYSTEM)["label"] == "order 3"


def test_grid_paste_and_links(web, shop):
    orders, clients = shop["orders"], shop["clients"]
    fields = {f.title: f for f in orders.fields.all()}
    response = web.post(
        url(orders, "grid/cells"),
        json.dumps(
            {
                "changes": [
                    {"id": i, "field": fields["label"].pk, "value": f"pasted {i}"}
                    for i in range(10, 13)
                ]
                + [{"id": 12, "field": fields["amount"].pk, "value": "7"}]
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 200 and set(response.json()["rows"]) == {
        "10",
        "11",
        "12",
    }
    assert records.get_record(orders, 11, actor=SYSTEM)["label"] == "pasted 11"
    link = next(f for f in orders.fields.all() if f.uidt == "LinkToAnotherRecord")
    picker = web.post(
        url(orders, f"grid/links/5/{link.pk}"), {"action": "link", "target": "2"}
    )
    assert picker.status_code == 200 and "Grace" in picker.content.decode()
    back = next(f for f in clients.fields.all() if f.uidt == "LinkToAnotherRecord")
    assert (
        records.get_record(clients, 2, {"fields": back.title}, actor=SYSTEM)[back.title]
        == 1
    )


def test_a_database_view_is_shown_read_only(web, shop):
    view = shop["big_orders"]
    page = web.get(url(view)).content.decode()
    assert "read-only" in page and 'class="cell t-' in page
    assert '"canEdit": false' in page
    assert "+ Add row" not in page
