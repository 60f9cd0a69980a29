"""Columns exchanged outside the platform (names swapped by ALTER TABLE … RENAME): writes answer
409 SCHEMA_OUT_OF_SYNC and nothing lands in the wrong column, on every dialect (issue 15).

See bases/schema_guard.py for what is detected, when, and what it costs.
"""

from __future__ import annotations

import time

import pytest
from rest_framework.test import APIClient

from bases import schema_guard
from bases.services import base_sync
from nocoplatform.errors import SchemaOutOfSync
from permissions.checks import SYSTEM
from permissions.services import api_token_create
from records.writes import delete_rows, insert_rows, update_rows

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _forget_verifications():
    schema_guard.forget()
    yield
    schema_guard.forget()


@pytest.fixture
def people(external_db, actor, make_table):
    return make_table(
        external_db,
        "people",
        "name VARCHAR(50)",
        "age INTEGER",
        "city VARCHAR(50)",
        "born INTEGER",
        rows=[{"name": "Ann", "age": 31, "city": "Lisbon", "born": 1990}],
        title="CRM",
        actor=actor,
    )


def swap(db, a: str, b: str) -> None:
    """Exchange two columns' names, as a script run outside the platform would."""
    t = db.q("people")
    db.execute(
        f"ALTER TABLE {t} RENAME COLUMN {db.q(a)} TO {db.q('noco_tmp')}",
        f"ALTER TABLE {t} RENAME COLUMN {db.q(b)} TO {db.q(a)}",
        f"ALTER TABLE {t} RENAME COLUMN {db.q('noco_tmp')} TO {db.q(b)}",
    )


def rows(db) -> list[tuple]:
    return db.query(
        f"SELECT id, name, age, city, born FROM {db.q('people')} ORDER BY id"
    )


def refused(fn) -> SchemaOutOfSync:
    with pytest.raises(SchemaOutOfSync) as info:
        fn()
    assert info.value.status == 409 and info.value.code == "SCHEMA_OUT_OF_SYNC"
    return info.value


def test_a_swap_of_different_types_is_refused_before_anything_is_written(
    external_db, people
):
    db = external_db
    swap(
        db, "name", "age"
    )  # "name" now holds the ages (an integer column), "age" names
    before = rows(db)
    exc = refused(lambda: insert_rows(people, {"age": 40}, actor=SYSTEM))
    assert "name" in exc.message and "age" in exc.message
    refused(
        lambda: insert_rows(
            people, [{"name": "Zed", "age": 40}, {"name": "Yan"}], actor=SYSTEM
        )
    )
    refused(lambda: update_rows(people, {"id": 1, "age": 32}, actor=SYSTEM))
    refused(lambda: delete_rows(people, {"id": 1}, actor=SYSTEM))
    assert rows(db) == before  # nothing written, to any column


def test_a_swap_after_writes_were_checked_is_seen_within_the_interval(
    external_db, people, settings
):
    db = external_db
    settings.NOCO_SCHEMA_CHECK_INTERVAL = 0.2
    update_rows(people, {"id": 1, "age": 32}, actor=SYSTEM)
    swap(db, "name", "age")
    if db.kind != "sqlite":
        # SQLite says at once that its schema moved (PRAGMA schema_version); PostgreSQL and
        # MariaDB are asked again once the interval has passed.
        time.sleep(0.3)
    before = rows(db)
    refused(lambda: update_rows(people, {"id": 1, "age": 33}, actor=SYSTEM))
    assert rows(db) == before


def test_a_swap_of_columns_of_the_same_type_is_seen_by_their_order(external_db, people):
    db = external_db
    swap(db, "age", "born")  # both INTEGER: only their positions tell
    before = rows(db)
    exc = refused(lambda: update_rows(people, {"id": 1, "age": 50}, actor=SYSTEM))
    assert "age" in exc.message and "born" in exc.message
    assert rows(db) == before


def test_the_api_answers_409_and_a_sync_makes_writes_work_again(
    external_db, people, user, actor
):
    db = external_db
    _, raw = api_token_create(user=user, name="t")
    api = APIClient()
    api.credentials(HTTP_XC_TOKEN=raw)
    url = f"/api/v2/tables/{people.pk}/records"
    swap(db, "city", "name")  # same type (VARCHAR(50)): the order tells
    r = api.post(url, {"name": "Zed", "city": "Oslo"}, format="json")
    assert r.status_code == 409 and r.json()["error"] == "SCHEMA_OUT_OF_SYNC"
    assert len(rows(db)) == 1
    base_sync(actor=actor, base=people.base, apply=True)
    r = api.post(url, {"name": "Zed", "city": "Oslo"}, format="json")
    assert r.status_code == 200, r.content
    assert rows(db)[-1][1:4] == ("Zed", None, "Oslo")


def test_changes_that_exchange_nothing_still_write(external_db, people):
    """A column added outside the platform, or one dropped that the write does not touch,
    is no swap: writes go on as before (a sync shows them)."""
    db = external_db
    db.execute(f"ALTER TABLE {db.q('people')} ADD COLUMN extra INTEGER")
    update_rows(people, {"id": 1, "age": 35}, actor=SYSTEM)
    db.execute(f"ALTER TABLE {db.q('people')} DROP COLUMN born")
    schema_guard.forget()
    update_rows(people, {"id": 1, "age": 36}, actor=SYSTEM)
    assert rows_without_born(db) == [(1, "Ann", 36, "Lisbon")]


def rows_without_born(db) -> list[tuple]:
    return db.query(f"SELECT id, name, age, city FROM {db.q('people')} ORDER BY id")


def test_a_write_the_database_refuses_is_checked_at_once(external_db, people, settings):
    """Within the interval, a value that no longer fits its column (a name into the column
    that now holds numbers) makes the database refuse the write: 409 rather than 400/422."""
    db = external_db
    settings.NOCO_SCHEMA_CHECK_INTERVAL = 3600
    update_rows(people, {"id": 1, "age": 32}, actor=SYSTEM)
    swap(db, "name", "age")
    before = rows(db)
    refused(lambda: insert_rows(people, {"name": "Zed"}, actor=SYSTEM))
    assert rows(db) == before
