"""The record history on PostgreSQL, MariaDB and SQLite: previous values read in the write's
transaction, values compared and kept the same way whatever the database."""

import pytest

from permissions.checks import Actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(external_db, make_table):
    return make_table(
        external_db,
        "items",
        "name VARCHAR(50)",
        "qty INTEGER",
        "price DECIMAL(8,2)",
        "day DATE",
        title="Stock",
    )


def changes(api, table, rid) -> list:
    r = api.get(f"/api/v2/tables/{table.pk}/records/{rid}/history")
    assert r.status_code == 200, r.content
    return [
        (e["kind"], {c["field"]: [c["old"], c["new"]] for c in e["changes"]})
        for e in r.json()["list"]
    ]


def test_old_and_new_values_on_each_database(api, items):
    url = f"/api/v2/tables/{items.pk}/records"
    made = api.post(
        url,
        [
            {"name": "bolt", "qty": 5, "price": "0.25", "day": "2024-02-29"},
            {"name": "nut", "qty": 50, "price": "10"},
        ],
        format="json",
    ).json()
    bolt, nut = (r["id"] for r in made)
    assert changes(api, items, bolt) == [
        (
            "insert",
            {
                "name": [None, "bolt"],
                "qty": [None, 5],
                "price": [None, "0.25"],
                "day": [None, "2024-02-29"],
            },
        )
    ]
    r = api.patch(
        url,
        [{"id": bolt, "price": "2.50", "qty": 5}, {"id": nut, "day": "2025-01-31"}],
        format="json",
    )
    assert r.status_code == 200, r.content
    # qty was written with its current value: not a change. 2.50 and 2.5 are one number.
    assert changes(api, items, bolt)[0] == ("update", {"price": ["0.25", "2.5"]})
    assert changes(api, items, nut)[0] == ("update", {"day": [None, "2025-01-31"]})
    api.patch(url, {"id": bolt, "price": "2.5"}, format="json")
    assert len(changes(api, items, bolt)) == 2
    assert api.delete(url, [{"id": nut}], format="json").status_code == 200
    assert changes(api, items, nut)[0] == (
        "delete",
        {
            "name": ["nut", None],
            "qty": [50, None],
            "price": [10, None],
            "day": ["2025-01-31", None],
        },
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_of_one_field_chain_their_old_values(
    pg_db, user, make_table
):
    """Six threads write one field of one PostgreSQL row at once: the previous values are
    read under FOR UPDATE, so every entry's old value is exactly one other entry's new value
    (no two writers replaced the same value) and the entries chain from the first to the
    last."""
    import threading

    from django.db import connections

    from history.models import RecordChange
    from records.writes import update_rows

    table = make_table(
        pg_db,
        "items",
        "name VARCHAR(50)",
        "qty INTEGER",
        rows=[{"name": "start", "qty": 0}],
        title="Stock",
    )
    actor = Actor(user=user)
    errors = []

    def write(n: int) -> None:
        try:
            for i in range(5):
                update_rows(table, {"id": 1, "name": f"t{n}-{i}"}, actor=actor)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    name = table.fields.get(title="name").pk
    pairs = [
        tuple(c[name])
        for c in RecordChange.objects.filter(table=table, kind="update").values_list(
            "changes", flat=True
        )
    ]
    assert len(pairs) == 30
    olds = [old for old, _ in pairs]
    assert len(set(olds)) == 30  # nobody replaced a value someone else had replaced
    following = dict(pairs)
    value, steps = "start", 0
    while value in following:
        value, steps = following[value], steps + 1
    assert steps == 30


def test_entries_are_copied_into_a_postgresql_meta_db(monkeypatch, django_db_blocker):
    """A PostgreSQL meta DB takes a write's entries by COPY (history.services._insert): the
    values arrive as the SQLite path stores them — JSON changes, author, time."""
    import datetime as dt
    import json
    import secrets
    from concurrent.futures import ThreadPoolExecutor

    import dj_database_url
    import psycopg
    from django.conf import settings
    from django.db.backends.postgresql.base import DatabaseWrapper
    from django.utils import timezone

    from history import services
    from history.models import RecordChange
    from tests.conftest import service_missing

    schema = "noco_h_" + secrets.token_hex(4)
    config = dj_database_url.parse(settings.TEST_POSTGRES_URL)
    config.update(
        TIME_ZONE=None,
        AUTOCOMMIT=True,
        CONN_HEALTH_CHECKS=False,
        CONN_MAX_AGE=0,
        OPTIONS={"options": f"-c search_path={schema}"},
    )
    now = timezone.now()
    later = now.astimezone(dt.timezone(dt.timedelta(hours=-5)))  # the same instant

    def run():
        db = DatabaseWrapper(config, "default")
        try:
            db.ensure_connection()
        except psycopg.OperationalError as exc:
            service_missing("PostgreSQL", exc)
        try:
            with db.cursor() as cur:
                cur.execute(f'CREATE SCHEMA "{schema}"')
            with db.schema_editor() as editor:
                editor.create_model(RecordChange)
            monkeypatch.setattr(services, "connections", {"default": db})
            author = {
                "via": "token",
                "user_id": 7,
                "actor_name": "a@x.io",
                "token_name": "ci \\N\t\r\n",
            }
            entries = [
                ("t1", 1, {"f1": [None, "Zoë \\ \t\n"]}),
                ("t1", "2___b", {"f2": [None, 10]}),
                ("t1", "\\N\t3\\\r\n", {"f3": [None, "\\N"]}),
            ]
            services._insert("insert", author, now, entries)
            # A system write: no user, empty names.
            services._insert("update", {"via": "system"}, later, [("t2", 4, {})])
            with db.cursor() as cur:
                cur.execute(
                    "SELECT table_id, record_id, kind, changes, user_id, via, actor_name, "
                    "token_name, created_at FROM history_recordchange ORDER BY id"
                )
                return cur.fetchall()
        finally:
            with db.cursor() as cur:
                cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            db.close()

    with django_db_blocker.unblock(), ThreadPoolExecutor(1) as pool:
        rows = pool.submit(run).result(timeout=60)
    assert [r[:3] for r in rows] == [
        ("t1", "1", "insert"),
        ("t1", "2___b", "insert"),
        ("t1", "\\N\t3\\\r\n", "insert"),
        ("t2", "4", "update"),
    ]
    # Django's PostgreSQL connections hand jsonb back as text (JSONField parses it).
    changes = [json.loads(r[3]) for r in rows]
    assert changes == [
        {"f1": [None, "Zoë \\ \t\n"]},
        {"f2": [None, 10]},
        {"f3": [None, "\\N"]},
        {},
    ]
    for row in rows[:3]:
        assert row[4:8] == (7, "token", "a@x.io", "ci \\N\t\r\n") and row[8] == now
    assert rows[3][4:] == (None, "system", "", "", now)


def test_one_record_patches_keep_the_old_values_and_the_errors(api, items, external_db):
    """A one-record PATCH (on PostgreSQL one statement that locks, reads the old values and
    updates): successive edits chain their old values; a missing record is 404 and a refused
    value 422, with nothing written and no history entry."""
    url = f"/api/v2/tables/{items.pk}/records"
    rid = api.post(url, {"name": "gear", "qty": 1}, format="json").json()["id"]
    for qty in (2, 3):
        assert api.patch(url, {"id": rid, "qty": qty}, format="json").status_code == 200
    assert [c for c in changes(api, items, rid) if c[0] == "update"] == [
        ("update", {"qty": [2, 3]}),
        ("update", {"qty": [1, 2]}),
    ]
    assert api.patch(url, {"id": rid + 999, "qty": 9}, format="json").status_code == 404
    q = external_db.q
    external_db.execute(f"CREATE UNIQUE INDEX items_name ON {q('items')} (name)")
    other = api.post(url, {"name": "cog"}, format="json").json()["id"]
    refused = api.patch(url, {"id": other, "name": "gear"}, format="json")
    assert refused.status_code == 422, refused.content
    assert refused.json()["error"] == "CONSTRAINT_VIOLATION"
    assert api.get(f"{url}/{other}").json()["name"] == "cog"
    assert [c[0] for c in changes(api, items, other)] == ["insert"]
