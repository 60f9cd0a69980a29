"""Per-value limits (docs/security.md, "Request and value limits"): an over-long value or a NUL
character is the same 400 naming the field on PostgreSQL, MariaDB, SQLite and the built-in store,
in one-row and bulk writes, before the database sees it."""

import pytest

from bases.connections.config import ConnectionConfig
from bases.demo import create_demo_base
from bases.services import base_connect
from permissions.checks import Actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def notes(external_db, user):
    q = external_db.q
    pk, json_type = {
        "pg": ("SERIAL PRIMARY KEY", "JSONB"),
        "mysql": ("INTEGER PRIMARY KEY AUTO_INCREMENT", "JSON"),
        "sqlite": ("INTEGER PRIMARY KEY", "JSON"),
    }[external_db.kind]
    external_db.execute(
        f"CREATE TABLE {q('notes')} (id {pk}, name VARCHAR(20), body TEXT, "
        f"data {json_type})"
    )
    base, _ = base_connect(
        actor=Actor(user=user),
        title="Notes",
        config=ConnectionConfig.from_url(external_db.url),
    )
    return base.tables.get(table_name="notes")


def url(table, suffix=""):
    return f"/api/v2/tables/{table.pk}/records{suffix}"


def count(api, table) -> int:
    return api.get(url(table, "/count")).json()["count"]


def refused(response, field: str, prefix: str = "") -> bool:
    body = response.json()
    return (
        response.status_code == 400
        and body["error"] == "INVALID_VALUE"
        and body["message"].startswith(f"{prefix}field '{field}'")
    )


def test_a_value_over_the_declared_length_is_400_naming_the_field(api, notes):
    """varchar(20): PostgreSQL and MariaDB refused it as 422, SQLite stored it."""
    response = api.post(url(notes), {"name": "x" * 21}, format="json")
    assert refused(response, "name"), response.content
    assert "20 characters" in response.json()["message"]
    assert count(api, notes) == 0
    ok = api.post(
        url(notes), {"name": "é" * 20}, format="json"
    )  # characters, not bytes
    assert ok.status_code == 200, ok.content
    rid = ok.json()["id"]
    patched = api.patch(url(notes), {"id": rid, "name": "y" * 21}, format="json")
    assert refused(patched, "name"), patched.content
    assert api.get(url(notes, f"/{rid}")).json()["name"] == "é" * 20


def test_bulk_writes_name_the_row_and_the_field(api, notes):
    response = api.post(url(notes), [{"name": "ok"}, {"name": "x" * 21}], format="json")
    assert refused(response, "name", prefix="row 1: "), response.content
    assert count(api, notes) == 0
    ids = [
        r["id"]
        for r in api.post(
            url(notes), [{"name": "a"}, {"name": "b"}], format="json"
        ).json()
    ]
    response = api.patch(
        url(notes),
        [{"id": ids[0], "name": "c"}, {"id": ids[1], "name": "z" * 21}],
        format="json",
    )
    assert refused(response, "name", prefix="row 1: "), response.content
    assert api.get(url(notes, f"/{ids[0]}")).json()["name"] == "a"


@pytest.mark.parametrize(
    "field,value",
    [
        ("name", "a\x00b"),
        ("body", "\x00"),
        ("data", {"k": "a\x00"}),
        ("data", {"a\x00": 1}),
    ],
    ids=["varchar", "text", "json-value", "json-key"],
)
def test_nul_characters_are_refused_naming_the_field(api, notes, field, value):
    """SQLite and MariaDB stored them; PostgreSQL refused them as a database error."""
    response = api.post(url(notes), {field: value}, format="json")
    assert refused(response, field), response.content
    assert "NUL" in response.json()["message"]
    assert count(api, notes) == 0


def test_long_text_and_json_have_a_documented_maximum(api, notes, settings):
    settings.NOCO_MAX_TEXT_LENGTH = 1000
    assert refused(api.post(url(notes), {"body": "x" * 1001}, format="json"), "body")
    assert refused(
        api.post(url(notes), {"data": {"k": "x" * 1000}}, format="json"), "data"
    )
    # The declared length stays the limit where it is the smaller.
    assert refused(api.post(url(notes), {"name": "x" * 21}, format="json"), "name")
    assert count(api, notes) == 0
    ok = api.post(
        url(notes), {"body": "x" * 1000, "data": {"k": "x" * 900}}, format="json"
    )
    assert ok.status_code == 200, ok.content


def test_deeply_nested_json_is_400_not_500(api, notes):
    response = api.post(url(notes), {"data": "[" * 5000 + "]" * 5000}, format="json")
    assert refused(response, "data"), response.content


def test_mysql_text_columns_hold_64_kib_of_bytes(api, mysql_db, user):
    """A MariaDB TEXT column holds 65,535 bytes: beyond, a 400 rather than the database's 422."""
    mysql_db.execute(
        "CREATE TABLE `memo` (id INTEGER PRIMARY KEY AUTO_INCREMENT, body TEXT, "
        "tiny TINYTEXT)"
    )
    base, _ = base_connect(
        actor=Actor(user=user),
        title="Memo",
        config=ConnectionConfig.from_url(mysql_db.url),
    )
    memo = base.tables.get(table_name="memo")
    response = api.post(
        url(memo), {"body": "é" * 40_000}, format="json"
    )  # 80,000 bytes
    assert refused(response, "body"), response.content
    assert "65,535 bytes" in response.json()["message"]
    assert refused(api.post(url(memo), {"tiny": "é" * 200}, format="json"), "tiny")
    ok = api.post(url(memo), {"body": "é" * 30_000, "tiny": "x" * 255}, format="json")
    assert ok.status_code == 200, ok.content


def test_the_sqlite_store_keeps_to_varchar_255(api, user):
    """The built-in store creates text fields as varchar(255), which SQLite does not enforce."""
    clients = create_demo_base(user).tables.get(title="clients")
    response = api.post(url(clients), {"name": "x" * 256}, format="json")
    assert refused(response, "name"), response.content
    assert "255 characters" in response.json()["message"]
    ok = api.post(url(clients), {"name": "x" * 255}, format="json")
    assert ok.status_code == 200, ok.content


@pytest.fixture
def amounts(external_db, user):
    q = external_db.q
    pk = {
        "pg": "SERIAL PRIMARY KEY",
        "mysql": "INTEGER PRIMARY KEY AUTO_INCREMENT",
        "sqlite": "INTEGER PRIMARY KEY",
    }[external_db.kind]
    external_db.execute(
        f"CREATE TABLE {q('amounts')} (id {pk}, small SMALLINT, price DECIMAL(5,2))"
    )
    base, _ = base_connect(
        actor=Actor(user=user),
        title="Amounts",
        config=ConnectionConfig.from_url(external_db.url),
    )
    return base.tables.get(table_name="amounts")


def test_numbers_keep_to_the_declared_column(api, amounts, external_db):
    """decimal(5,2) holds 999.99 at most (rounded to 2 places first) on every database, and a
    smallint 32,767 on PostgreSQL and MariaDB; SQLite integers are all 64-bit."""
    for value in ("1000", "999.995", "-1000"):
        response = api.post(url(amounts), {"price": value}, format="json")
        assert refused(response, "price"), (value, response.content)
    ok = api.post(url(amounts), {"price": "999.99"}, format="json")
    assert ok.status_code == 200, ok.content
    small = api.post(url(amounts), {"small": 40_000}, format="json")
    if external_db.kind == "sqlite":
        assert small.status_code == 200
        assert api.get(url(amounts, f"/{small.json()['id']}")).json()["small"] == 40_000
    else:
        assert refused(small, "small"), small.content
        assert "32,767" in small.json()["message"]
    assert api.post(url(amounts), {"small": -32_768}, format="json").status_code == 200


def test_mysql_unsigned_columns_refuse_negatives(api, mysql_db, user):
    mysql_db.execute(
        "CREATE TABLE `stock` (id INTEGER PRIMARY KEY AUTO_INCREMENT, n INT UNSIGNED, "
        "t TINYINT)"
    )
    base, _ = base_connect(
        actor=Actor(user=user),
        title="Stock",
        config=ConnectionConfig.from_url(mysql_db.url),
    )
    stock = base.tables.get(table_name="stock")
    assert refused(api.post(url(stock), {"n": -1}, format="json"), "n")
    assert refused(api.post(url(stock), {"t": 128}, format="json"), "t")
    ok = api.post(url(stock), {"n": 2**32 - 1, "t": -128}, format="json")
    assert ok.status_code == 200, ok.content
