"""Fields the platform keeps (CreatedTime, LastModifiedTime, CreatedBy, LastModifiedBy,
AutoNumber) and User fields (docs/fields.md), on the built-in store (SQLite and PostgreSQL)
and typed onto an external MariaDB table."""

from __future__ import annotations

import datetime as dt

import pytest

from bases import records
from bases.schema_services import field_create, field_delete, field_update, table_create
from bases.services import base_create, base_delete
from nocoplatform.errors import Forbidden, InvalidInput
from permissions.checks import SYSTEM, Actor
from permissions.services import membership_create
from records.writes import insert_rows, update_rows

pytestmark = pytest.mark.django_db

SYSTEM_TYPES = {
    "Created": "CreatedTime",
    "Modified": "LastModifiedTime",
    "Creator": "CreatedBy",
    "Editor": "LastModifiedBy",
    "No": "AutoNumber",
}


@pytest.fixture
def store_kind():
    return "sqlite"


# Where the database matters: both built-in stores (the other tests use SQLite's).
BOTH_STORES = pytest.mark.parametrize("store_kind", ["sqlite", "pg"])


@pytest.fixture
def store(request, settings, actor, store_kind):
    """A base from scratch on the built-in store."""
    if store_kind == "pg":
        request.getfixturevalue("pg_db")  # skips when PostgreSQL is not there
        settings.NOCO_STORE_URL = settings.TEST_POSTGRES_URL
    base = base_create(actor=actor, title="Scratch")
    yield base
    base_delete(actor=actor, base=base)


@pytest.fixture
def tasks(store, actor, other_user):
    """Two rows written before the system fields exist, then every system field and an
    Owner (several users); bob is an editor of the base."""
    membership_create(base=store, user=other_user, role="editor")
    table = table_create(
        actor=actor,
        base=store,
        title="Tasks",
        columns=[{"title": "Name", "uidt": "SingleLineText"}],
    )
    insert_rows(table, [{"Name": "old 1"}, {"Name": "old 2"}], actor=actor)
    for title, uidt in SYSTEM_TYPES.items():
        field_create(actor=actor, table=table, data={"title": title, "uidt": uidt})
    field_create(
        actor=actor,
        table=table,
        data={"title": "Owner", "uidt": "User", "meta": {"is_multi": True}},
    )
    return table


def _rows(table, **params) -> list[dict]:
    return list(records.list_records(table, params, actor=SYSTEM))


@BOTH_STORES
def test_system_columns_are_kept_on_insert_bulk_insert_and_update(
    tasks, user, other_user, store
):
    old = _rows(tasks)
    # Rows that predate the fields: numbered in creation order, times not stamped (their
    # fill from the record history runs once the field's creation commits, which this test's
    # transaction never does: tests/records/test_system_fields_backfill.py).
    assert [(r["Name"], r["No"], r["Created"]) for r in old] == [
        ("old 1", 1, None),
        ("old 2", 2, None),
    ]
    before = dt.datetime.now(dt.UTC)
    ids = insert_rows(
        tasks, [{"Name": f"new {i}"} for i in range(3)], actor=Actor(user=user)
    )
    insert_rows(tasks, {}, actor=Actor(user=user))  # the grid's empty new row
    after = dt.datetime.now(dt.UTC)
    new = _rows(tasks, where="(No,gt,2)", sort="No")
    assert [r["No"] for r in new] == [3, 4, 5, 6]
    for r in new:
        assert before <= r["Created"] <= after and r["Modified"] == r["Created"]
        assert r["Creator"] == {
            "id": user.pk,
            "email": "ada@example.com",
            "display_name": "ada@example.com",
        }
        assert r["Editor"] == r["Creator"]
    # One update, then a bulk one, by bob: modified moves, created stays.
    update_rows(
        tasks, {"Id": ids[0][0], "Name": "renamed"}, actor=Actor(user=other_user)
    )
    update_rows(
        tasks,
        [{"Id": ids[1][0], "Name": "x"}, {"Id": ids[2][0], "Name": "y"}],
        actor=Actor(user=other_user),
    )
    changed = {r["Id"]: r for r in _rows(tasks, where="(No,gt,2)")}
    for key in (ids[0][0], ids[1][0], ids[2][0]):
        row = changed[key]
        assert row["Modified"] > row["Created"] and row["Created"] <= after
        assert row["Editor"]["id"] == other_user.pk and row["Creator"]["id"] == user.pk
    # The history's update entries leave them out (an entry has its own time and author).
    from history.models import RecordChange

    updates = RecordChange.objects.filter(table=tasks, kind="update")
    assert updates.count() == 3
    assert all(set(u.changes) == {tasks.fields.get(title="Name").pk} for u in updates)
    # Filters, sorts and groups work on them as on their column types.
    mine = _rows(tasks, where=f"(Editor,eq,{other_user.pk})")
    assert sorted(r["Id"] for r in mine) == sorted(k[0] for k in ids)
    assert [r["No"] for r in _rows(tasks, sort="-No", limit="2")] == [6, 5]
    # The live columns are real ones of the right kind.
    created = tasks.fields.get(title="Created")
    assert created.column_type == "datetime"
    if store.sources.get().kind == "pg":
        assert created.db_type == "timestamp with time zone"


def test_public_form_and_server_writes_have_no_creator(tasks, actor):
    from views.form_view import fillable
    from views.services import view_create
    from views.shares import share_actor, share_enable

    meta = records.TableMeta.of(tasks, actor=actor)
    # A form asks for none of them (nor for a User: visitors do not know the members).
    assert [f.title for f in meta.fields if fillable(f, meta)] == ["Name"]
    form = view_create(actor=actor, table=tasks, title="Ask", type="form")
    visitor = share_actor(share_enable(actor=actor, view=form))
    insert_rows(tasks, {"Name": "from a form"}, actor=visitor)
    insert_rows(tasks, {"Name": "demo"}, actor=SYSTEM)
    rows = _rows(tasks, where="(Name,in,from a form,demo)")
    assert [r["Creator"] for r in rows] == [None, None]
    assert all(r["Created"] is not None for r in rows)


def test_clients_cannot_write_system_fields(tasks, api):
    url = f"/api/v2/tables/{tasks.pk}/records"
    for title in SYSTEM_TYPES:
        r = api.post(url, {"Name": "x", title: 1}, format="json")
        assert r.status_code == 400, r.content
        assert (
            r.json()["error"] == "READ_ONLY_FIELD"
            and f"'{title}'" in r.json()["message"]
        )
    row = api.post(url, {"Name": "x"}, format="json").json()
    r = api.patch(
        url, [{"Id": row["Id"], "Created": "2020-01-01T00:00:00Z"}], format="json"
    )
    assert r.status_code == 400 and "'Created'" in r.json()["message"]


@BOTH_STORES
def test_user_field_reads_writes_filters_and_refuses_outsiders(
    tasks, api, user, other_user, django_user_model
):
    url = f"/api/v2/tables/{tasks.pk}/records"
    django_user_model.objects.create_user(
        username="eve", email="eve@example.com", password="pw-eve-12345"
    )
    r = api.post(url, {"Name": "mine", "Owner": "ada@example.com"}, format="json")
    assert r.status_code == 200, r.content
    both = api.post(
        url,
        {"Name": "both", "Owner": [other_user.pk, {"email": "ADA@example.com"}]},
        format="json",
    )
    assert both.status_code == 200, both.content
    r = api.post(url, {"Name": "x", "Owner": "eve@example.com"}, format="json")
    assert (
        r.status_code == 400
        and "'eve@example.com' is not a member" in r.json()["message"]
    )
    listed = {r["Name"]: r for r in api.get(url).json()["list"]}
    ada = {"id": user.pk, "email": "ada@example.com", "display_name": "ada@example.com"}
    assert listed["mine"]["Owner"] == [ada]
    assert [p["id"] for p in listed["both"]["Owner"]] == [other_user.pk, user.pk]
    assert listed["old 1"]["Owner"] is None
    # A read's value written back is the same value.
    row_id = listed["both"]["Id"]
    r = api.patch(url, {"Id": row_id, "Owner": listed["both"]["Owner"]}, format="json")
    assert r.status_code == 200, r.content
    # @me is the caller; anyof matches one of several.
    found = api.get(url, {"where": "(Owner,anyof,@me)"}).json()["list"]
    assert sorted(r["Name"] for r in found) == ["both", "mine"]
    found = api.get(url, {"where": "(Owner,eq,@me)"}).json()["list"]
    assert [r["Name"] for r in found] == ["mine"]
    found = api.get(url, {"where": "(Creator,eq,@me)"}).json()["list"]
    assert sorted(r["Name"] for r in found) == ["both", "mine"]
    # A single-user field refuses several.
    single = field_create(
        actor=Actor(user=user), table=tasks, data={"title": "Lead", "uidt": "User"}
    )
    assert single.options == {"is_multi": False}
    r = api.patch(url, {"Id": row_id, "Lead": [user.pk, other_user.pk]}, format="json")
    assert r.status_code == 400 and "holds one user" in r.json()["message"]


def test_viewer_cannot_write_a_user_field(tasks, other_user):
    row = _rows(tasks)[0]
    membership_create(base=tasks.base, user=other_user, role="viewer")
    with pytest.raises(Forbidden):
        update_rows(
            tasks,
            {"Id": row["Id"], "Owner": "ada@example.com"},
            actor=Actor(user=other_user),
        )
    assert _rows(tasks)[0]["Owner"] is None


def test_openapi_marks_system_fields_read_only(tasks, actor):
    from bases.openapi import base_document

    doc = base_document(tasks.base, actor=actor)
    schemas = doc["components"]["schemas"]
    record = next(v for k, v in schemas.items() if "Owner" in v.get("properties", {}))
    props = record["properties"]
    for title in SYSTEM_TYPES:
        assert props[title]["readOnly"] is True, title
    assert props["Owner"]["type"] == "array"
    assert props["Creator"]["properties"]["email"] == {"type": "string"}
    bodies = [
        v
        for v in schemas.values()
        if "Name" in v.get("properties", {}) and v is not record
    ]
    assert bodies and all(
        "Owner" in b["properties"] and not set(SYSTEM_TYPES) & set(b["properties"])
        for b in bodies
    )


@BOTH_STORES
def test_auto_number_survives_a_sqlite_rebuild_and_goes_with_its_column(tasks, actor):
    # A retype that needs DDL rebuilds a SQLite table; the numbering trigger comes back.
    name = tasks.fields.get(title="Name")
    field_update(actor=actor, field=name, data={"uidt": "LongText"})
    insert_rows(tasks, {"Name": "after the rebuild"}, actor=actor)
    assert _rows(tasks, where="(Name,eq,after the rebuild)")[0]["No"] == 3
    field_delete(actor=actor, field=tasks.fields.get(title="No"))
    insert_rows(tasks, {"Name": "no number"}, actor=actor)
    assert "No" not in _rows(tasks)[0]


# --- an external MariaDB table ------------------------------------------------------------


def test_external_columns_typed_as_system_fields(mysql_db, make_table, actor, api):
    table = make_table(
        mysql_db,
        "orders",
        "label VARCHAR(50)",
        "placed DATETIME",
        "qty INTEGER",
        rows=[{"label": "a", "placed": "2024-01-02 03:04:05", "qty": 1}],
    )
    fields = {f.column_name: f for f in table.fields.all()}
    placed = field_update(
        actor=actor, field=fields["placed"], data={"uidt": "CreatedTime"}
    )
    assert placed.uidt == "CreatedTime"
    with pytest.raises(InvalidInput, match="not numbered by its database"):
        field_update(actor=actor, field=fields["qty"], data={"uidt": "AutoNumber"})
    with pytest.raises(InvalidInput, match="who wrote its rows is not known"):
        field_update(actor=actor, field=fields["label"], data={"uidt": "CreatedBy"})
    key = field_update(actor=actor, field=fields["id"], data={"uidt": "AutoNumber"})
    assert key.uidt == "AutoNumber"
    # A new AutoNumber numbers the existing row, then every insert (a trigger).
    table.source.allow_schema_edit = True
    table.source.save()
    field_create(actor=actor, table=table, data={"title": "Seq", "uidt": "AutoNumber"})
    field_create(actor=actor, table=table, data={"title": "By", "uidt": "CreatedBy"})
    url = f"/api/v2/tables/{table.pk}/records"
    r = api.post(url, [{"label": "b"}, {"label": "c"}], format="json")
    assert r.status_code == 200, r.content
    r = api.post(url, {"label": "d", "placed": "2020-01-01 00:00:00"}, format="json")
    assert r.status_code == 400 and r.json()["error"] == "READ_ONLY_FIELD"
    rows = {r["label"]: r for r in api.get(url, {"sort": "Seq"}).json()["list"]}
    assert [rows[k]["Seq"] for k in "abc"] == [1, 2, 3]
    assert "2024-01-02" in rows["a"]["placed"] and "03:04:05" in rows["a"]["placed"]
    assert rows["b"]["placed"] and rows["b"]["By"]["email"] == "ada@example.com"
    assert rows["a"]["By"] is None


def test_expanded_row_picks_members_and_shows_kept_fields_read_only(
    tasks, web, other_user
):
    row = _rows(tasks)[0]
    owner = tasks.fields.get(title="Owner")
    url = f"/bases/{tasks.base_id}/tables/{tasks.pk}/grid/rows/{row['Id']}/expand"
    page = web.get(url).content.decode()
    assert 'value="bob@example.com"' in page and "ada@example.com" in page
    assert f'name="f_{tasks.fields.get(title="Created").pk}"' not in page
    r = web.post(
        url,
        {f"f_{owner.pk}": ["ada@example.com", "bob@example.com"]},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200, r.content
    owners = _rows(tasks, where=f"(Id,eq,{row['Id']})")[0]["Owner"]
    assert {p["email"] for p in owners} == {"ada@example.com", "bob@example.com"}


def test_group_headers_name_the_users(tasks, web, user, other_user):
    from views.services import default_view

    rows = _rows(tasks)
    update_rows(
        tasks,
        [{"Id": rows[0]["Id"], "Owner": "bob@example.com"}],
        actor=Actor(user=user),
    )
    view = default_view(tasks)
    view.options = {"group_by": [{"field": tasks.fields.get(title="Owner").pk}]}
    view.save()
    page = web.get(f"/bases/{tasks.base_id}/views/{view.pk}/groups").content.decode()
    # bob's display name is his username (no full name); never his bare id.
    assert ">bob@example.com<" in page and f">{other_user.pk}<" not in page
