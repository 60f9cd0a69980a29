"""Read replicas on a real PostgreSQL streaming replica (tests/pg_cluster.py starts a primary and
its hot standby of this module's own): reads go to the replica, writes and a writer's own reads
to the primary, a lagging or stopped replica is skipped, replica URLs are checked when saved."""

from __future__ import annotations

import secrets
import time

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from bases import records
from bases.connections import replicas
from bases.connections.config import ConnectionConfig
from bases.services import base_connect, source_update
from nocoplatform.errors import InvalidInput
from permissions.checks import Actor
from permissions.services import membership_create
from records.writes import insert_rows
from tests.pg_cluster import Pair

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def pair():
    p = Pair()
    try:
        p.start()
        yield p
    finally:
        p.stop()


@pytest.fixture
def world(pair, settings):
    settings.NOCO_REPLICA_MAX_LAG = 60
    settings.NOCO_REPLICA_CHECK_INTERVAL = 0  # every read looks at the replica afresh
    replicas.forget()
    name = "items_" + secrets.token_hex(3)
    with pair.primary.connect() as conn:
        conn.execute(f'CREATE TABLE "{name}" (id SERIAL PRIMARY KEY, name TEXT)')
        conn.execute(f"INSERT INTO \"{name}\" (name) VALUES ('first')")
    pair.caught_up()
    users = get_user_model().objects
    owner = users.create_user(
        username="owner@example.com",
        email="owner@example.com",
        password="pw-o-12345",
        is_superuser=True,
    )
    reader = users.create_user(
        username="reader@example.com", email="reader@example.com", password="pw-r-12345"
    )
    base, _ = base_connect(
        actor=Actor(user=owner),
        title="replicated",
        config=ConnectionConfig.from_url(pair.primary.url),
        allow_data_edit=True,
    )
    membership_create(base=base, user=reader, role="editor")
    source = base.sources.get()
    source_update(actor=Actor(user=owner), source=source, replicas=[pair.replica.url])
    table = base.tables.get(table_name=name)
    yield {
        "table": table,
        "owner": Actor(user=owner),
        "reader": Actor(user=reader),
        "name": name,
        "source": source,
    }
    pair.resume_replay()


def names(table, actor) -> list[str]:
    return [r["name"] for r in records.list_records(table, {}, actor=actor).rows]


def write_directly(pair, name: str, value: str) -> None:
    """A write the platform does not see (another application's)."""
    with pair.primary.connect() as conn:
        conn.execute(f'INSERT INTO "{name}" (name) VALUES (%s)', [value])


def test_reads_go_to_the_replica(pair, world):
    t = world["table"]
    pair.pause_replay()
    write_directly(pair, world["name"], "elsewhere")
    # The replica has not replayed it: a read it serves does not have the row yet...
    assert names(t, world["reader"]) == ["first"]
    assert records.count_records(t, {}, actor=world["reader"]) == 1
    # ...and once it replays, it has.
    pair.resume_replay()
    pair.caught_up()
    assert names(t, world["reader"]) == ["first", "elsewhere"]


def test_a_writer_reads_their_own_writes_from_the_primary(pair, world):
    t = world["table"]
    pair.pause_replay()
    insert_rows(t, [{"name": "mine"}], actor=world["owner"])
    assert names(t, world["owner"]) == ["first", "mine"]  # the primary
    assert names(t, world["reader"]) == ["first"]  # another user: the (paused) replica
    pair.resume_replay()


def test_a_lagging_replica_is_skipped(pair, world, settings):
    t = world["table"]
    pair.pause_replay()
    write_directly(pair, world["name"], "late")
    time.sleep(0.6)
    settings.NOCO_REPLICA_MAX_LAG = (
        0.5  # the paused replica is now further behind than this
    )
    assert names(t, world["reader"]) == ["first", "late"]
    pair.resume_replay()


def test_replica_urls_are_checked_when_saved(pair, world):
    source, owner = world["source"], world["owner"]
    with pytest.raises(InvalidInput) as exc:  # the primary itself: not in recovery
        source_update(actor=owner, source=source, replicas=[pair.primary.url])
    assert exc.value.code == "NOT_A_REPLICA" and "not in recovery" in exc.value.message
    with pytest.raises(InvalidInput) as exc:
        source_update(actor=owner, source=source, replicas=["ftp://nowhere"])
    assert exc.value.code == "INVALID_DATABASE_URL"
    with pytest.raises(InvalidInput) as exc:
        source_update(actor=owner, source=source, replicas=[pair.replica.url] * 6)
    assert exc.value.code == "INVALID_REPLICAS"
    with pytest.raises(InvalidInput) as exc:
        source_update(actor=owner, source=source, replicas="postgresql://x/y")
    assert exc.value.code == "INVALID_REPLICAS"
    # Through the API: the replica is shown without its password; [] removes it.
    api = APIClient()
    api.force_authenticate(owner.user)
    url = f"/api/v2/meta/bases/{source.base_id}/sources/{source.pk}"
    secret_url = pair.replica.url.replace("postgres@", "postgres:s3cret@")
    r = api.patch(url, {"replicas": [secret_url]}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["config"]["replicas"] == [
        f"postgres@127.0.0.1:{pair.replica.port}/postgres"
    ]
    assert "s3cret" not in r.content.decode()
    r = api.patch(url, {"replicas": []}, format="json")
    assert r.status_code == 200 and "replicas" not in r.json()["config"]
    # Only owners.
    api.force_authenticate(world["reader"].user)
    assert api.patch(url, {"replicas": []}, format="json").status_code == 403


def test_a_stopped_replica_is_skipped_and_used_again_once_back(pair, world, settings):
    t = world["table"]
    settings.NOCO_UNAVAILABLE_RETRY_AFTER = 0.5
    pair.replica.stop("immediate")
    try:
        write_directly(pair, world["name"], "while down")
        # No error: the replica's check fails, the primary serves.
        assert names(t, world["reader"]) == ["first", "while down"]
        assert names(t, world["reader"]) == ["first", "while down"]
    finally:
        pair.replica.start()
    pair.caught_up(timeout=30)
    time.sleep(0.6)  # past the down mark
    pair.pause_replay()
    write_directly(pair, world["name"], "after")
    assert names(t, world["reader"]) == ["first", "while down"]  # the replica again
    pair.resume_replay()
