"""A bulk update (records/writes.update_rows with many rows) runs as one statement with many
parameter sets where it can, and still names the row that is missing or that the database
refuses, with nothing written — on PostgreSQL, MariaDB and SQLite."""

from __future__ import annotations

import pytest

from bases import records
from nocoplatform.errors import NotFound, Unprocessable
from permissions.checks import SYSTEM
from records.writes import update_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(external_db, make_table):
    return make_table(
        external_db,
        "items",
        "code VARCHAR(10) NOT NULL UNIQUE",
        "qty INTEGER",
        rows=[{"code": f"c{i}", "qty": i} for i in range(1, 5)],
    )


def values(table):
    page = records.list_records(table, {"limit": "10", "sort": "id"}, actor=SYSTEM)
    return [(r["code"], r["qty"]) for r in page]


def test_bulk_update_writes_every_row(items):
    update_rows(
        items,
        [{"id": 1, "qty": 10}, {"id": 3, "qty": 30}, {"id": 4, "code": "d", "qty": 40}],
        actor=SYSTEM,
    )
    assert values(items) == [("c1", 10), ("c2", 2), ("c3", 30), ("d", 40)]


def test_bulk_update_names_the_missing_row(items):
    with pytest.raises(NotFound) as exc:
        update_rows(
            items,
            [{"id": 1, "qty": 10}, {"id": 99, "qty": 0}, {"id": 2, "qty": 20}],
            actor=SYSTEM,
        )
    assert exc.value.message.startswith("row 1: record 99 not found")
    assert values(items)[:2] == [("c1", 1), ("c2", 2)]


def test_bulk_update_names_the_row_the_database_refuses(items):
    with pytest.raises(Unprocessable) as exc:
        update_rows(
            items,
            [{"id": 1, "qty": 10}, {"id": 2, "code": "c3"}, {"id": 4, "qty": 40}],
            actor=SYSTEM,
        )
    assert exc.value.message.startswith("row 1: the database refused the change")
    assert values(items) == [("c1", 1), ("c2", 2), ("c3", 3), ("c4", 4)]
