"""Link cells show the linked records' display values (bases/records.py `link_labels`): the
first three of a has-many or many-to-many link as chips, "+N" for the rest, one query per link
field for a whole window, on each database (the statement uses a window function)."""

import pytest

from bases import records
from permissions.checks import Actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(external_db, make_table):
    q = external_db.q
    make_table.create(
        external_db,
        "clients",
        "name VARCHAR(100)",
        rows=[{"name": n} for n in ("Acme", "Birch & Co", "Cedar")],
    )
    make_table.create(
        external_db,
        "orders",
        "label VARCHAR(100)",
        f"client_id INTEGER REFERENCES {q('clients')}(id)",
        rows=[
            {"label": f"Order {i}", "client_id": c}
            for i, c in ((1, 1), (2, 1), (3, 2), (4, 1), (5, 1))
        ],
    )
    make_table.create(
        external_db,
        "tags",
        "name VARCHAR(50)",
        rows=[{"name": "red"}, {"name": "blue"}],
    )
    make_table.create(
        external_db,
        "order_tags",
        f"order_id INTEGER REFERENCES {q('orders')}(id)",
        f"tag_id INTEGER REFERENCES {q('tags')}(id)",
        rows=[{"order_id": 1, "tag_id": 2}, {"order_id": 1, "tag_id": 1}],
    )
    return make_table.connect(external_db, title="Shop")


def link(table, relation):
    return next(
        f
        for f in table.fields.filter(uidt="LinkToAnotherRecord")
        if f.options.get("relation") == relation
    )


def test_has_many_and_many_to_many_labels_in_one_query_per_link(shop, user):
    actor = Actor(user=user)
    clients, orders = shop["clients"], shop["orders"]
    rows = records.list_records(clients, {"sort": "id"}, actor=actor).rows
    orders_link = link(clients, "hm")
    labels = records.link_labels(clients, [orders_link], rows, actor=actor)
    # The first three by key; Cedar has none.
    assert labels[orders_link] == [
        ("Order 1", "Order 2", "Order 4"),
        ("Order 3",),
        (),
    ]
    rows = records.list_records(orders, {"sort": "id"}, actor=actor).rows
    tags_link = link(orders, "mm")
    labels = records.link_labels(orders, [tags_link], rows, actor=actor)
    assert labels[tags_link][:2] == [("red", "blue"), ()]


def test_the_grid_shows_chips_and_how_many_more(web, shop):
    clients = shop["clients"]
    page = web.get(f"/bases/{clients.base_id}/tables/{clients.pk}/").content.decode()
    row = page.split('data-n="1"')[1].split("</tr>")[0]
    assert "Order 1</span>" in row and "Order 4</span>" in row
    assert "Order 5" not in row and ">+1</span>" in row
    second = page.split('data-n="2"')[1].split("</tr>")[0]
    assert "Order 3</span>" in second and "Birch &amp; Co" in second
