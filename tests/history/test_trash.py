"""Deleted rows (history/trash.py): kept on delete, listed, restored with their key, values
(hidden ones too) and links; conflicts refused; pruned after NOCO_TRASH_DAYS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bases import records
from history import trash
from history.models import DeletedRow, RecordChange
from permissions.checks import SYSTEM, Actor
from permissions.services import field_rule_set, membership_create
from records.links import link_records
from records.writes import delete_rows, insert_rows, update_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(make_table):
    db = "sqlite"
    make_table.create(db, "clients", "name VARCHAR(100) NOT NULL", "secret VARCHAR(50)")
    q = make_table.db(db).q
    make_table.create(
        db,
        "orders",
        "label VARCHAR(100)",
        f"client_id INTEGER REFERENCES {q('clients')}(id) ON DELETE SET NULL",
    )
    make_table.insert(
        db,
        "clients",
        [{"name": "Ada", "secret": "s-ada"}, {"name": "Bob", "secret": "s-bob"}],
    )
    make_table.insert(
        db,
        "orders",
        [
            {"label": "o1", "client_id": 1},
            {"label": "o2", "client_id": 1},
            {"label": "o3", "client_id": 2},
        ],
    )
    return make_table.connect(db, title="Shop", allow_data_edit=True)


def _link(table, relation):
    return next(
        f
        for f in table.fields.all()
        if f.related_table_id and (f.options or {}).get("relation") == relation
    )


def _row(table, pk):
    found = records.rows_by_key(
        table, [[pk]], meta=records.TableMeta.unrestricted(table)
    )
    return found[0][1] if found else None


def test_delete_keeps_the_row_and_the_api_lists_it(api, shop, user):
    clients = shop["clients"]
    r = api.delete(f"/api/v2/tables/{clients.pk}/records", {"id": 2}, format="json")
    assert r.status_code == 200, r.content
    entry = DeletedRow.objects.get(table=clients)
    assert entry.record_id == "2" and entry.display == "Bob"
    assert entry.actor_name == user.email
    # Every column, the key included (restored server-side only).
    by_title = {f.title: f.id for f in clients.fields.all()}
    assert entry.values[by_title["secret"]] == "s-bob"
    assert str(entry.values[by_title["id"]]) == "2"
    r = api.get(f"/api/v2/tables/{clients.pk}/trash")
    assert r.status_code == 200
    (item,) = r.json()["list"]
    assert item["recordId"] == "2" and item["display"] == "Bob"
    assert item["deletedBy"] == user.email and "values" not in item
    assert "s-bob" not in r.content.decode()


def test_restore_brings_back_key_values_and_links(api, shop, actor):
    clients, orders = shop["clients"], shop["orders"]
    hm = _link(clients, "hm")
    delete_rows(clients, {"id": 1}, actor=actor)
    entry = DeletedRow.objects.get(table=clients)
    assert sorted(entry.links[hm.id]) == ["1", "2"]
    # Meanwhile o2 goes to Bob: restoring Ada must not take it back.
    fk_title = next(
        f.title
        for f in orders.fields.all()
        if f.column_name == "client_id" and not f.related_table_id
    )
    update_rows(orders, {"id": 2, fk_title: 2}, actor=SYSTEM)
    r = api.post(
        f"/api/v2/tables/{clients.pk}/trash/restore", {"ids": [entry.pk]}, format="json"
    )
    assert r.status_code == 200, r.content
    assert r.json() == {"restored": ["1"], "linksSkipped": 1}
    row = _row(clients, 1)
    assert row["name"] == "Ada" and row["secret"] == "s-ada"
    assert str(_row(orders, 1)[fk_title]) == "1"
    assert str(_row(orders, 2)[fk_title]) == "2"
    assert not DeletedRow.objects.filter(table=clients).exists()
    kinds = list(
        RecordChange.objects.filter(table=clients, record_id="1")
        .order_by("id")
        .values_list("kind", flat=True)
    )
    # The history sees the restore as an insert, then the re-created link.
    assert kinds[-3:] == ["delete", "insert", "link"]


def test_belongs_to_comes_back_with_the_row(shop, actor):
    orders = shop["orders"]
    bt = _link(orders, "bt")
    delete_rows(orders, [{"id": 3}], actor=actor)
    trash.trash_restore(actor=actor, table=orders, record_ids=["3"])
    page = records.list_records(
        orders, {"where": "(id,eq,3)", "fields": f"label,{bt.title}"}, actor=actor
    )
    linked = page.rows[0][bt.title]
    assert page.rows[0]["label"] == "o3" and "Bob" in linked.values()


def test_restore_conflict_when_the_key_is_taken(api, shop, actor):
    clients = shop["clients"]
    delete_rows(clients, {"id": 2}, actor=actor)
    insert_rows(clients, {"id": 2, "name": "Usurper"}, actor=actor)
    entry = DeletedRow.objects.get(table=clients)
    r = api.post(
        f"/api/v2/tables/{clients.pk}/trash/restore", {"ids": [entry.pk]}, format="json"
    )
    assert r.status_code == 409 and r.json()["error"] == "RESTORE_CONFLICT"
    assert _row(clients, 2)["name"] == "Usurper"
    assert DeletedRow.objects.filter(pk=entry.pk).exists()  # still restorable later
    r = api.post(
        f"/api/v2/tables/{clients.pk}/trash/restore", {"ids": [999999]}, format="json"
    )
    assert r.status_code == 404
    r = api.post(f"/api/v2/tables/{clients.pk}/trash/restore", {}, format="json")
    assert r.status_code == 400


def test_hidden_fields_restored_by_a_creator(shop, user, other_user, client):
    clients = shop["clients"]
    base = clients.base
    secret = clients.fields.get(title="secret")
    field_rule_set(actor=Actor(user=user), field=secret, hidden_below="creator")
    membership_create(base=base, user=other_user, role="creator")
    creator = Actor(user=other_user)
    delete_rows(clients, {"id": 1}, actor=creator)
    client.force_login(other_user)
    page = client.get(f"/bases/{base.pk}/tables/{clients.pk}/trash")
    assert page.status_code == 200 and b"Ada" in page.content
    assert b"s-ada" not in page.content
    entry = DeletedRow.objects.get(table=clients)
    r = client.post(f"/bases/{base.pk}/tables/{clients.pk}/trash", {"ids": [entry.pk]})
    assert r.status_code == 302
    assert _row(clients, 1)["secret"] == "s-ada"


def test_editor_may_delete_but_not_restore(shop, user, other_user, client):
    clients = shop["clients"]
    membership_create(base=clients.base, user=other_user, role="editor")
    client.force_login(other_user)
    url = f"/bases/{clients.base.pk}/tables/{clients.pk}/trash"
    assert client.get(url).status_code == 403


def test_grid_undo_endpoint_restores_by_record_id(shop, web):
    clients = shop["clients"]
    base = clients.base
    r = web.post(
        f"/bases/{base.pk}/tables/{clients.pk}/grid/delete",
        {"ids": ["1", "2"]},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    r = web.post(
        f"/bases/{base.pk}/tables/{clients.pk}/trash/restore",
        {"records": ["1", "2"]},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    assert sorted(r.json()["restored"]) == ["1", "2"]
    assert _row(clients, 2)["name"] == "Bob"


def test_old_entries_are_hidden_then_pruned(shop, actor, settings):
    clients = shop["clients"]
    delete_rows(clients, [{"id": 1}, {"id": 2}], actor=actor)
    old = DeletedRow.objects.get(table=clients, record_id="1")
    old.deleted_at = timezone.now() - timedelta(days=settings.NOCO_TRASH_DAYS + 1)
    old.save()
    page = trash.trash_list(actor=actor, table=clients)
    assert [e.record_id for e in page.entries] == ["2"]
    from history.services import prune_history

    prune_history()
    assert list(
        DeletedRow.objects.filter(table=clients).values_list("record_id", flat=True)
    ) == ["2"]


def test_link_records_unchanged_for_other_writes(shop, actor):
    """Only deletes reach the trash; a link or an update keeps nothing."""
    clients = shop["clients"]
    link_records(clients, _link(clients, "hm"), "2", ["1"], actor=actor)
    update_rows(clients, {"id": 2, "name": "Bobby"}, actor=actor)
    assert not DeletedRow.objects.exists()
