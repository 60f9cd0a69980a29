"""`Idempotency-Key` on record POSTs (bases/idempotency.py): a retry answers as the first
request did and creates nothing more, on PostgreSQL, MariaDB and SQLite tables."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from bases.connections.config import ConnectionConfig
from bases.models import IdempotencyKey
from bases.services import base_connect
from permissions.checks import Actor
from permissions.services import api_token_create, membership_create

PK = {
    "pg": "SERIAL PRIMARY KEY",
    "mysql": "INTEGER PRIMARY KEY AUTO_INCREMENT",
    "sqlite": "INTEGER PRIMARY KEY",
}


def _shop(db, user):
    db.execute(
        f"CREATE TABLE {db.q('items')} (id {PK[db.kind]}, "
        "name VARCHAR(100) NOT NULL, code VARCHAR(20) UNIQUE)",
        f"CREATE TABLE {db.q('other')} (id {PK[db.kind]}, name VARCHAR(100))",
    )
    base, _ = base_connect(
        actor=Actor(user=user), title="Shop", config=ConnectionConfig.from_url(db.url)
    )
    return {t.table_name: t for t in base.tables.all()}


@pytest.fixture
def shop(external_db, user):
    return _shop(external_db, user)


def url(table) -> str:
    return f"/api/v2/tables/{table.pk}/records"


def post(client, table, body, key):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(url(table), body, format="json", **headers)


def count(db, table="items") -> int:
    return db.query(f"SELECT COUNT(*) FROM {db.q(table)}")[0][0]


@pytest.mark.django_db
def test_a_retry_answers_as_the_first_and_creates_nothing_more(api, shop, external_db):
    items = shop["items"]
    key = str(uuid.uuid4())
    first = post(api, items, {"name": "Pen"}, key)
    assert first.status_code == 200, first.content
    again = post(api, items, {"name": "Pen"}, key)
    assert again.status_code == 200 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert count(external_db) == 1
    # Bulk: the same.
    rows = [{"name": "A"}, {"name": "B"}, {"name": "C"}]
    bulk = post(api, items, rows, "bulk-1")
    assert bulk.status_code == 200 and len(bulk.json()) == 3
    assert post(api, items, rows, "bulk-1").json() == bulk.json()
    assert count(external_db) == 4
    # Without a key, every POST creates.
    post(api, items, {"name": "Pen"}, None)
    post(api, items, {"name": "Pen"}, None)
    assert count(external_db) == 6


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_refused(api, shop, external_db):
    items = shop["items"]
    assert post(api, items, {"name": "Pen"}, "k1").status_code == 200
    # Spacing and key order are not a different body.
    same = api.post(
        url(items),
        data=b'{ "name" :   "Pen" }',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert same.status_code == 200 and same["Idempotent-Replayed"] == "true"
    other = post(api, items, {"name": "Ink"}, "k1")
    assert other.status_code == 422
    assert other.json()["error"] == "IDEMPOTENCY_KEY_REUSED"
    assert count(external_db) == 1


@pytest.mark.django_db
def test_a_failed_insert_remembers_no_key(api, shop, external_db):
    items = shop["items"]
    assert post(api, items, {"name": "Pen", "code": "P1"}, None).status_code == 200
    # The second row breaks the UNIQUE code: the first is rolled back with it.
    rows = [{"name": "Ink", "code": "I1"}, {"name": "Pen 2", "code": "P1"}]
    failed = post(api, items, rows, "k2")
    assert failed.status_code == 422, failed.content
    assert failed.json()["error"] == "CONSTRAINT_VIOLATION"
    assert count(external_db) == 1
    assert not IdempotencyKey.objects.filter(key="k2").exists()
    # A retry runs again (and fails again); fixed, with the same key, it succeeds once.
    assert post(api, items, rows, "k2").status_code == 422
    fixed = [{"name": "Ink", "code": "I1"}, {"name": "Pen 2", "code": "P2"}]
    assert post(api, items, fixed, "k2").status_code == 200
    assert post(api, items, fixed, "k2").status_code == 200
    assert count(external_db) == 3
    # A value the field refuses (400) remembers nothing either.
    bad = post(api, items, {"name": None}, "k3")
    assert bad.status_code == 400 and not IdempotencyKey.objects.filter(key="k3")


@pytest.mark.django_db
def test_keys_are_per_caller_and_per_table(api, shop, external_db, user, client):
    items, other = shop["items"], shop["other"]
    assert post(api, items, {"name": "Pen"}, "k").status_code == 200
    assert post(api, other, {"name": "Pen"}, "k").status_code == 200
    _, raw = api_token_create(user=user, name="second")
    second = APIClient()
    second.credentials(HTTP_XC_TOKEN=raw)
    replay = post(second, items, {"name": "Pen"}, "k")
    assert replay.status_code == 200 and "Idempotent-Replayed" not in replay
    # A browser session is a caller too (the normal middleware path, not the token one).
    session = APIClient(enforce_csrf_checks=False)
    session.force_login(user)
    assert post(session, items, {"name": "Pen"}, "k").status_code == 200
    assert post(session, items, {"name": "Pen"}, "k")["Idempotent-Replayed"] == "true"
    assert count(external_db) == 3 and count(external_db, "other") == 1


@pytest.mark.django_db
def test_a_key_in_flight_is_409_and_an_expired_key_is_new(api, shop, external_db):
    items = shop["items"]
    first = post(api, items, {"name": "Pen"}, "k")
    row = IdempotencyKey.objects.get(key="k")
    assert row.caller.startswith("token:") and row.status == 200
    # As if the first request were still running.
    IdempotencyKey.objects.filter(pk=row.pk).update(status=None, response=None)
    busy = post(api, items, {"name": "Pen"}, "k")
    assert (
        busy.status_code == 409 and busy.json()["error"] == "IDEMPOTENCY_KEY_IN_FLIGHT"
    )
    assert busy["Retry-After"] == "1"
    assert count(external_db) == 1
    # Expired: the key starts afresh.
    IdempotencyKey.objects.filter(pk=row.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    fresh = post(api, items, {"name": "Pen"}, "k")
    assert fresh.status_code == 200 and fresh.json() != first.json()
    assert count(external_db) == 2


@pytest.mark.django_db
def test_bad_keys_and_callers_without_the_right_are_refused(api, shop, other_user):
    items = shop["items"]
    for key in ("", "x" * 256, "has space"):
        r = post(api, items, {"name": "Pen"}, key)
        assert r.status_code == 400 and r.json()["error"] == "INVALID_IDEMPOTENCY_KEY"
    membership_create(base=items.base, user=other_user, role="viewer")
    _, raw = api_token_create(user=other_user, name="viewer")
    viewer = APIClient()
    viewer.credentials(HTTP_XC_TOKEN=raw)
    assert post(viewer, items, {"name": "Pen"}, "v").status_code == 403
    assert not IdempotencyKey.objects.filter(key="v").exists()


@pytest.mark.django_db
def test_the_base_openapi_documents_the_header(api, shop):
    items = shop["items"]
    doc = api.get(f"/api/v2/meta/bases/{items.base_id}/swagger.json").json()
    post_op = doc["paths"][url(items)]["post"]
    (param,) = [p for p in post_op["parameters"] if p["name"] == "Idempotency-Key"]
    assert param["in"] == "header" and not param.get("required")
    assert {"409", "422"} <= set(post_op["responses"])


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_duplicate_is_409_while_the_first_runs(pg_db, user):
    """A real first request, held inside its INSERT by a lock on the table."""
    import psycopg
    from django.conf import settings

    shop = _shop(pg_db, user)
    items = shop["items"]
    _, raw = api_token_create(user=user, name="t")

    def client():
        c = APIClient()
        c.credentials(HTTP_XC_TOKEN=raw)
        return c

    schema = pg_db.url.split("schema=")[1]
    locker = psycopg.connect(settings.TEST_POSTGRES_URL)
    locker.execute(f'LOCK TABLE "{schema}"."items" IN ACCESS EXCLUSIVE MODE')
    answers = {}
    first = threading.Thread(
        target=lambda: answers.update(
            first=post(client(), items, {"name": "Pen"}, "same")
        )
    )
    first.start()
    try:
        deadline = time.monotonic() + 10
        while not IdempotencyKey.objects.filter(key="same").exists():
            assert time.monotonic() < deadline, "the first request never started"
            time.sleep(0.02)
        busy = post(client(), items, {"name": "Pen"}, "same")
        assert busy.status_code == 409
        assert busy.json()["error"] == "IDEMPOTENCY_KEY_IN_FLIGHT"
    finally:
        locker.commit()
        locker.close()
        first.join(20)
    assert answers["first"].status_code == 200, answers["first"].content
    replay = post(client(), items, {"name": "Pen"}, "same")
    assert replay.status_code == 200 and replay.json() == answers["first"].json()
    assert count(pg_db) == 1
