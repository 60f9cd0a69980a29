"""Meta sync after the database changed outside the platform, on every dialect.

`diff()` must name each change; `sync()` must apply it while keeping what users set on whatever
survived (titles, meta-level field types, link titles, field and table ids).
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bases import records
from bases.connections.config import ConnectionConfig
from bases.models import Field, Table
from bases.schema_services import field_update
from bases.services import base_connect, base_sync
from bases.sync import diff, sync
from nocoplatform.errors import SchemaOutOfSync
from permissions.checks import SYSTEM


def _pk(kind: str) -> str:
    return {
        "pg": "SERIAL PRIMARY KEY",
        "mysql": "INTEGER PRIMARY KEY AUTO_INCREMENT",
        "sqlite": "INTEGER PRIMARY KEY",
    }[kind]


PEOPLE_COLUMNS = "name VARCHAR(50), email VARCHAR(100), age INTEGER, notes TEXT"


def _people(db) -> None:
    q = db.q
    db.execute(
        f"CREATE TABLE {q('people')} (id {_pk(db.kind)}, {PEOPLE_COLUMNS})",
        f"INSERT INTO {q('people')} (name, email, age, notes) VALUES ('Ann', 'ann@example.com', 31, 'n1')",
        f"INSERT INTO {q('people')} (name, email, age, notes) VALUES ('Bob', 'bob@example.com', 42, 'n2')",
    )


@pytest.fixture
def people(external_db, actor):
    """A connected base on `people`, with user settings: email is an Email, age is titled."""
    _people(external_db)
    base, _ = base_connect(
        actor=actor, title="CRM", config=ConnectionConfig.from_url(external_db.url)
    )
    table = base.tables.get(table_name="people")
    f = {x.column_name: x for x in table.fields.all()}
    field_update(actor=actor, field=f["email"], data={"uidt": "Email"})
    field_update(
        actor=actor,
        field=f["age"],
        data={"title": "Age (years)", "description": "in years"},
    )
    return base


def _source(base):
    return base.sources.get()


def _table(base, name="people") -> Table:
    return base.tables.get(table_name=name)


def _by_column(base, name="people") -> dict[str, Field]:
    return {f.column_name: f for f in _table(base, name).fields.all() if f.column_name}


def _kinds(changes) -> set[tuple[str, str, str]]:
    return {(c.kind, c.table, c.column) for c in changes}


def _retype(db, table: str, column: str, new_type: str, sqlite_columns: str) -> None:
    q = db.q
    if db.kind == "pg":
        db.execute(
            f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE {new_type} USING "{column}"::{new_type}'
        )
    elif db.kind == "mysql":
        db.execute(f"ALTER TABLE `{table}` MODIFY `{column}` {new_type}")
    else:  # SQLite: the documented rebuild
        db.execute(
            f"CREATE TABLE {q(table + '_new')} (id INTEGER PRIMARY KEY, {sqlite_columns})",
            f"INSERT INTO {q(table + '_new')} SELECT * FROM {q(table)}",
            f"DROP TABLE {q(table)}",
            f"ALTER TABLE {q(table + '_new')} RENAME TO {q(table)}",
        )


@pytest.mark.django_db
def test_fresh_base_is_in_sync_and_sync_is_idempotent(external_db, people):
    source = _source(people)
    assert diff(source) == []
    version = source.meta_version
    assert sync(source) == []
    assert source.meta_version == version + 1 and source.last_synced_at is not None
    assert _by_column(people)["email"].uidt == "Email"


@pytest.mark.django_db
def test_column_added(external_db, people):
    external_db.execute(
        f"ALTER TABLE {external_db.q('people')} ADD COLUMN phone VARCHAR(20)"
    )
    source = _source(people)
    before = {f.pk for f in _table(people).fields.all()}
    changes = diff(source)
    assert _kinds(changes) == {("column_added", "people", "phone")}
    assert "phone" not in _by_column(people), "diff must not apply anything"
    assert _kinds(sync(source)) == {("column_added", "people", "phone")}
    f = _by_column(people)
    assert (
        f["phone"].uidt == "SingleLineText"
        and f["phone"].title == "phone"
        and f["phone"].is_nullable
    )
    assert f["phone"].order > f["name"].order
    # What users set survives.
    assert f["email"].uidt == "Email"
    assert f["age"].title == "Age (years)" and f["age"].description == "in years"
    assert before <= {x.pk for x in _table(people).fields.all()}
    assert diff(source) == []


@pytest.mark.django_db
def test_column_dropped_gives_409_until_synced(external_db, people, actor):
    external_db.execute(f"ALTER TABLE {external_db.q('people')} DROP COLUMN notes")
    table = _table(people)
    with pytest.raises(SchemaOutOfSync) as info:
        records.list_records(table, actor=SYSTEM)
    assert info.value.status == 409 and info.value.code == "SCHEMA_OUT_OF_SYNC"
    # A request that avoids the dropped column still works.
    rows = list(
        records.list_records(table, fields=["name", "Age (years)"], actor=SYSTEM)
    )
    assert rows == [
        {"name": "Ann", "Age (years)": 31},
        {"name": "Bob", "Age (years)": 42},
    ]

    source = _source(people)
    assert _kinds(diff(source)) == {("column_removed", "people", "notes")}
    assert _kinds(base_sync(actor=actor, base=people, apply=True)) == {
        ("column_removed", "people", "notes")
    }
    assert "notes" not in _by_column(people)
    rows = records.list_records(_table(people), actor=SYSTEM)
    assert [r["name"] for r in rows] == ["Ann", "Bob"] and "notes" not in rows[0]
    assert _by_column(people)["email"].uidt == "Email"


@pytest.mark.django_db
def test_table_dropped_gives_409_until_synced(external_db, people):
    table = _table(people)
    external_db.execute(f"DROP TABLE {external_db.q('people')}")
    with pytest.raises(SchemaOutOfSync):
        records.list_records(table, actor=SYSTEM)
    source = _source(people)
    assert _kinds(diff(source)) == {("table_removed", "people", "")}
    sync(source)
    assert not Table.objects.filter(pk=table.pk).exists()
    assert not Field.objects.filter(table_id=table.pk).exists()


@pytest.mark.django_db
def test_column_retyped_keeps_user_settings(external_db, people):
    kind = external_db.kind
    decimal = "NUMERIC(10,2)" if kind == "pg" else "DECIMAL(10,2)"
    _retype(
        external_db,
        "people",
        "age",
        decimal,
        "name VARCHAR(50), email VARCHAR(100), age DECIMAL(10,2), notes TEXT",
    )
    source = _source(people)
    before = _by_column(people)
    changes = diff(source)
    assert _kinds(changes) == {("column_retyped", "people", "age")}
    sync(source)
    after = _by_column(people)
    assert after["age"].pk == before["age"].pk
    assert after["age"].uidt == "Decimal" and after["age"].column_type == "decimal"
    assert (
        after["age"].title == "Age (years)" and after["age"].description == "in years"
    )
    assert after["age"].options.get("precision") == 2
    assert after["email"].uidt == "Email"
    assert diff(source) == []
    rows = list(
        records.list_records(_table(people), fields=["Age (years)"], actor=SYSTEM)
    )
    assert [float(r["Age (years)"]) for r in rows] == [31.0, 42.0]


@pytest.mark.django_db
def test_text_column_widened_keeps_meta_level_email(external_db, people):
    _retype(
        external_db,
        "people",
        "email",
        "TEXT",
        "name VARCHAR(50), email TEXT, age INTEGER, notes TEXT",
    )
    source = _source(people)
    assert _kinds(diff(source)) == {("column_retyped", "people", "email")}
    sync(source)
    email = _by_column(people)["email"]
    assert email.uidt == "Email" and email.column_type == "longtext"


@pytest.mark.django_db
def test_column_retyped_to_a_type_the_field_cannot_hold_resets_the_type(
    external_db, people
):
    """Email cannot live in an integer column: the field falls back to the column's default type."""
    q = external_db.q
    external_db.execute(f"UPDATE {q('people')} SET email = NULL")
    int_type = "INTEGER"
    _retype(
        external_db,
        "people",
        "email",
        int_type,
        "name VARCHAR(50), email INTEGER, age INTEGER, notes TEXT",
    )
    source = _source(people)
    sync(source)
    email = _by_column(people)["email"]
    assert email.uidt == "Number" and email.title == "email"
    assert diff(source) == []


@pytest.mark.django_db
def test_column_renamed_keeps_field_and_user_title(external_db, people):
    q = external_db.q
    source = _source(people)
    before = _by_column(people)

    external_db.execute(f"ALTER TABLE {q('people')} RENAME COLUMN age TO years")
    changes = diff(source)
    assert _kinds(changes) == {("column_renamed", "people", "age")}
    assert "now years" in changes[0].detail
    sync(source)
    after = _by_column(people)
    assert "age" not in after
    assert after["years"].pk == before["age"].pk
    assert (
        after["years"].title == "Age (years)"
        and after["years"].description == "in years"
    )

    external_db.execute(
        f"ALTER TABLE {q('people')} RENAME COLUMN email TO email_address"
    )
    assert _kinds(diff(source)) == {("column_renamed", "people", "email")}
    sync(source)
    after = _by_column(people)
    email = after["email_address"]
    assert email.pk == before["email"].pk
    assert email.uidt == "Email"
    assert email.title == "email_address", "an untouched title follows the column name"
    assert diff(source) == []
    rows = list(
        records.list_records(
            _table(people), fields=["email_address", "Age (years)"], actor=SYSTEM
        )
    )
    assert rows[0] == {"email_address": "ann@example.com", "Age (years)": 31}


@pytest.mark.django_db
def test_table_added_renamed_and_dropped(external_db, people, actor):
    q, pk = external_db.q, _pk(external_db.kind)
    source = _source(people)
    people_table = _table(people)
    people_table.title = "People"
    people_table.save()

    external_db.execute(f"CREATE TABLE {q('extra')} (id {pk}, label VARCHAR(20))")
    changes = diff(source)
    assert _kinds(changes) == {("table_added", "extra", "")}
    assert changes[0].detail == "table"
    sync(source)
    extra = _table(people, "extra")
    assert extra.title == "extra" and extra.order > people_table.order
    assert {f.column_name for f in extra.fields.all()} == {"id", "label"}

    external_db.execute(f"ALTER TABLE {q('people')} RENAME TO {q('persons')}")
    changes = diff(source)
    assert _kinds(changes) == {("table_renamed", "people", "")}
    assert "persons" in changes[0].detail
    sync(source)
    persons = _table(people, "persons")
    assert persons.pk == people_table.pk
    assert persons.title == "People", "a title the user set survives the rename"
    f = _by_column(people, "persons")
    assert f["email"].uidt == "Email" and f["age"].title == "Age (years)"
    assert [r["name"] for r in records.list_records(persons, actor=SYSTEM)] == [
        "Ann",
        "Bob",
    ]

    external_db.execute(f"ALTER TABLE {q('extra')} RENAME TO {q('extra2')}")
    sync(source)
    assert _table(people, "extra2").title == "extra2", (
        "an untouched title follows the table name"
    )
    assert _table(people, "extra2").pk == extra.pk

    external_db.execute(f"DROP TABLE {q('extra2')}")
    assert _kinds(diff(source)) == {("table_removed", "extra2", "")}
    sync(source)
    assert set(people.tables.values_list("table_name", flat=True)) == {"persons"}
    assert diff(source) == []


@pytest.mark.django_db
def test_view_added_externally(external_db, people):
    q = external_db.q
    external_db.execute(
        f"CREATE VIEW {q('adults')} AS SELECT id, name FROM {q('people')} WHERE age >= 18"
    )
    source = _source(people)
    changes = diff(source)
    assert (
        _kinds(changes) == {("table_added", "adults", "")}
        and changes[0].detail == "view"
    )
    sync(source)
    view = _table(people, "adults")
    assert view.kind == "view" and view.read_only_reason == "database view"


@pytest.mark.django_db
def test_links_follow_foreign_keys_and_keep_their_titles(external_db, people):
    q, pk, kind = external_db.q, _pk(external_db.kind), external_db.kind
    source = _source(people)
    fk = (
        f"person_id INTEGER REFERENCES {q('people')}(id)"
        if kind != "mysql"
        else ("person_id INTEGER, FOREIGN KEY (person_id) REFERENCES `people`(id)")
    )
    external_db.execute(f"CREATE TABLE {q('orders')} (id {pk}, total INTEGER, {fk})")
    changes = diff(source)
    kinds = {(c.kind, c.table, c.detail) for c in changes}
    assert ("table_added", "orders", "table") in kinds
    assert ("link_added", "orders", "bt people") in kinds
    assert ("link_added", "people", "hm orders") in kinds
    sync(source)
    hm = _table(people).fields.get(uidt="LinkToAnotherRecord")
    assert hm.options["relation"] == "hm" and hm.related_table == _table(
        people, "orders"
    )
    hm.title = "Their orders"
    hm.save()
    bt = _table(people, "orders").fields.get(uidt="LinkToAnotherRecord")
    assert bt.options["relation"] == "bt" and bt.options["fk_column"] == "person_id"
    assert _by_column(people, "orders")["person_id"].uidt == "ForeignKey"

    # An unrelated change does not touch the links.
    external_db.execute(f"ALTER TABLE {q('people')} ADD COLUMN phone VARCHAR(20)")
    assert _kinds(diff(source)) == {("column_added", "people", "phone")}
    sync(source)
    again = _table(people).fields.get(uidt="LinkToAnotherRecord")
    assert again.pk == hm.pk and again.title == "Their orders"
    assert diff(source) == []

    # Dropping the child table removes both sides.
    external_db.execute(f"DROP TABLE {q('orders')}")
    changes = diff(source)
    assert ("table_removed", "orders", "") in _kinds(changes)
    assert any(c.kind == "link_removed" and c.table == "people" for c in changes)
    sync(source)
    assert not _table(people).fields.filter(uidt="LinkToAnotherRecord").exists()
    assert diff(source) == []


@pytest.mark.django_db
def test_link_survives_renaming_the_related_table(external_db, people):
    q, pk, kind = external_db.q, _pk(external_db.kind), external_db.kind
    source = _source(people)
    fk = (
        f"person_id INTEGER REFERENCES {q('people')}(id)"
        if kind != "mysql"
        else ("person_id INTEGER, FOREIGN KEY (person_id) REFERENCES `people`(id)")
    )
    external_db.execute(f"CREATE TABLE {q('orders')} (id {pk}, {fk})")
    sync(source)
    hm = _table(people).fields.get(uidt="LinkToAnotherRecord")
    hm.title = "Their orders"
    hm.save()
    external_db.execute(f"ALTER TABLE {q('orders')} RENAME TO {q('purchases')}")
    changes = diff(source)
    assert _kinds(changes) == {("table_renamed", "orders", "")}, changes
    sync(source)
    again = _table(people).fields.get(uidt="LinkToAnotherRecord")
    assert again.pk == hm.pk and again.title == "Their orders"
    assert again.related_table == _table(people, "purchases")
    assert diff(source) == []


# --- management commands ---------------------------------------------------------------------


@pytest.fixture
def admin(django_user_model):
    return django_user_model.objects.create_superuser(
        username="root@example.com", email="root@example.com", password="pw-root-12345"
    )


@pytest.mark.django_db
def test_connect_base_and_sync_base_commands(external_db, admin):
    from bases.models import Base

    _people(external_db)
    out, err = io.StringIO(), io.StringIO()
    call_command("connect_base", "From CLI", external_db.url, stdout=out, stderr=err)
    base_id = out.getvalue().strip()
    base = Base.objects.get(pk=base_id)
    assert base.title == "From CLI" and base.created_by == admin
    assert "1 tables and views synced" in err.getvalue()
    assert list(base.tables.values_list("table_name", flat=True)) == ["people"]
    assert base.sources.get().allow_schema_edit is False

    external_db.execute(
        f"ALTER TABLE {external_db.q('people')} ADD COLUMN phone VARCHAR(20)"
    )
    out = io.StringIO()
    call_command("sync_base", base_id, "--dry-run", stdout=out)
    assert "column added: people.phone" in out.getvalue()
    assert not Field.objects.filter(table__base=base, column_name="phone").exists()

    out = io.StringIO()
    call_command("sync_base", base_id, stdout=out)
    assert "column added: people.phone" in out.getvalue()
    assert Field.objects.filter(table__base=base, column_name="phone").exists()

    out = io.StringIO()
    call_command("sync_base", base_id, stdout=out)
    assert out.getvalue().strip() == "in sync: no changes"


@pytest.mark.django_db
def test_connect_base_command_options_and_errors(sqlite_db, admin, user, tmp_path):
    from bases.models import Base

    sqlite_db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    out = io.StringIO()
    call_command(
        "connect_base",
        "Owned",
        sqlite_db.url,
        "--owner",
        user.email,
        "--allow-schema-edit",
        "--read-only",
        stdout=out,
        stderr=io.StringIO(),
    )
    base = Base.objects.get(pk=out.getvalue().strip())
    source = base.sources.get()
    assert base.created_by == user
    assert source.allow_schema_edit is True and source.allow_data_edit is False

    with pytest.raises(CommandError, match="UNKNOWN_DATABASE"):
        call_command(
            "connect_base",
            "Missing",
            f"sqlite:///{tmp_path}/missing.sqlite3",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    with pytest.raises(CommandError, match="INVALID_DATABASE_URL"):
        call_command(
            "connect_base",
            "Bad",
            "oracle://x/y",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    with pytest.raises(CommandError, match="No user"):
        call_command(
            "connect_base",
            "Nobody",
            sqlite_db.url,
            "--owner",
            "nobody@example.com",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    with pytest.raises(CommandError, match="No base"):
        call_command("sync_base", "pnope", stdout=io.StringIO())
    assert Base.objects.count() == 1


@pytest.mark.django_db
def test_connect_base_command_needs_an_admin(sqlite_db):
    sqlite_db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    with pytest.raises(CommandError, match="No admin"):
        call_command(
            "connect_base",
            "X",
            sqlite_db.url,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
