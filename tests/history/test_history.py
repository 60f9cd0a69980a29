"""The record history: who changed which field of which record, when, from where; old → new.

Written by the records service on commit (history/services.py), read per reader with hidden
fields cut out (history/selectors.py), through the API and the expanded row's History panel.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bases.models import Table
from history.models import RecordChange
from permissions.checks import SYSTEM, Actor
from permissions.services import field_rule_set, table_role_set
from records.writes import update_rows
from tests.permissions.conftest import session_client, token_client

pytestmark = pytest.mark.django_db

SECRET = "zq-hidden-in-history@secret.example"


def history_url(table: Table, record_id, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/v2/tables/{table.pk}/records/{record_id}/history" + (
        f"?{query}" if query else ""
    )


def panel_url(table: Table, record_id, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/bases/{table.base_id}/tables/{table.pk}/rows/{record_id}/history" + (
        f"?{query}" if query else ""
    )


def records_url(table: Table) -> str:
    return f"/api/v2/tables/{table.pk}/records"


def changes_of(entry: dict) -> dict:
    return {c["field"]: (c["old"], c["new"]) for c in entry["changes"]}


def test_two_users_edit_different_fields_both_entries_with_old_and_new(world):
    w = world
    clients = w.table("clients")
    before = token_client(w.tokens["owner"]).get(f"{records_url(clients)}/1").json()
    editor = token_client(w.tokens["editor"])
    creator = session_client(w.users["creator"])
    # No If-Match: both writes go through (each changes only its own field).
    r = editor.patch(records_url(clients), {"Id": 1, "name": "Renamed"}, format="json")
    assert r.status_code == 200, r.content
    city = "Toronto" if before["city"] != "Toronto" else "Berlin"
    r = creator.patch(records_url(clients), {"Id": 1, "city": city}, format="json")
    assert r.status_code == 200, r.content
    listed = token_client(w.tokens["viewer"]).get(history_url(clients, 1)).json()
    updates = [e for e in listed["list"] if e["kind"] == "update"]
    # Newest first: the creator's city, then the editor's name.
    assert [changes_of(e) for e in updates[:2]] == [
        {"city": (before["city"], city)},
        {"name": (before["name"], "Renamed")},
    ]
    by_city, name = updates[0], updates[1]
    assert by_city["user"] == "creator@example.com"
    assert by_city["actor"]["type"] == "user" and by_city["actor"]["token"] is None
    assert name["user"] == "editor@example.com"
    assert name["actor"] == {
        "type": "token",
        "user_id": w.users["editor"].pk,
        "token": "editor token",
        "form": None,
        "display": "editor@example.com (API token “editor token”)",
    }
    assert name["op_type"] == "DATA" and name["op_sub_type"] == "UPDATE"
    assert name["fk_model_id"] == clients.pk and name["row_id"] == "1"
    assert by_city["created_at"] >= name["created_at"]
    assert listed["pageInfo"]["isFirstPage"] is True


def test_a_write_that_changes_nothing_leaves_no_entry_and_a_rollback_none(world):
    w = world
    clients = w.table("clients")
    api = token_client(w.tokens["owner"])
    current = api.get(f"{records_url(clients)}/2").json()["name"]
    start = RecordChange.objects.count()
    assert (
        api.patch(
            records_url(clients), {"Id": 2, "name": current}, format="json"
        ).status_code
        == 200
    )
    assert RecordChange.objects.count() == start
    # Row 999999 does not exist: the whole bulk request rolls back, and so does its history.
    r = api.patch(
        records_url(clients),
        [{"Id": 2, "name": "changed"}, {"Id": 999999, "name": "ghost"}],
        format="json",
    )
    assert r.status_code == 404
    assert RecordChange.objects.count() == start


def test_a_row_named_twice_in_one_bulk_update_chains_old_values(world):
    w = world
    clients = w.table("clients")
    api = token_client(w.tokens["owner"])
    first = api.get(f"{records_url(clients)}/3").json()["name"]
    r = api.patch(
        records_url(clients),
        [{"Id": 3, "name": "step one"}, {"Id": 3, "name": "step two"}],
        format="json",
    )
    assert r.status_code == 200
    entries = api.get(history_url(clients, 3)).json()["list"]
    assert [changes_of(e)["name"] for e in entries[:2]] == [
        ("step one", "step two"),
        (first, "step one"),
    ]


def test_bulk_insert_makes_its_entries_with_one_insert(world):
    w = world
    clients = w.table("clients")
    api = token_client(w.tokens["owner"])
    rows = [
        {"name": f"bulk {i}", "city": "Berlin", "email": f"b{i}@example.com"}
        for i in range(1000)
    ]
    with CaptureQueriesContext(connection) as queries:
        r = api.post(records_url(clients), rows, format="json")
    assert r.status_code == 200, r.content[:300]
    inserts = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('INSERT INTO "history_recordchange"')
    ]
    assert len(inserts) == 1
    ids = [x["Id"] for x in r.json()]
    made = RecordChange.objects.filter(
        table_id=clients.pk, kind="insert", record_id__in=[str(i) for i in ids]
    )
    assert made.count() == 1000
    last = api.get(history_url(clients, ids[-1])).json()["list"]
    assert len(last) == 1 and last[0]["kind"] == "insert"
    assert changes_of(last[0]) == {
        "name": (None, "bulk 999"),
        "email": (None, "b999@example.com"),
        "city": (None, "Berlin"),
    }
    assert last[0]["actor"]["token"] == "owner token"


def test_delete_is_recorded_with_the_old_values_and_stays_readable(world):
    w = world
    clients = w.table("clients")
    api = token_client(w.tokens["creator"])
    made = api.post(
        records_url(clients), {"name": "short-lived", "city": "Lisbon"}, format="json"
    ).json()
    rid = made["Id"]
    assert (
        api.delete(records_url(clients), {"Id": rid}, format="json").status_code == 200
    )
    assert api.get(f"{records_url(clients)}/{rid}").status_code == 404
    entries = (
        token_client(w.tokens["viewer"]).get(history_url(clients, rid)).json()["list"]
    )
    assert [e["kind"] for e in entries] == ["delete", "insert"]
    gone = changes_of(entries[0])
    assert gone["name"] == ("short-lived", None) and gone["city"] == ("Lisbon", None)
    assert entries[0]["op_sub_type"] == "DELETE"
    assert entries[0]["user"] == "creator@example.com"


def test_hidden_fields_never_appear_in_history_api_or_panel(world):
    w = world
    clients = w.table("clients")
    email = w.field("clients", "email")
    field_rule_set(
        actor=Actor(user=w.users["owner"]), field=email, hidden_below="creator"
    )
    owner = token_client(w.tokens["owner"])
    owner.patch(
        records_url(clients),
        {"Id": 4, "email": SECRET, "name": "Visible Name"},
        format="json",
    )
    # An edit of the hidden field alone: the viewer does not learn it happened at all.
    owner.patch(records_url(clients), {"Id": 4, "email": "x" + SECRET}, format="json")
    made = owner.post(
        records_url(clients), {"name": "new one", "email": SECRET}, format="json"
    ).json()["Id"]
    owner.delete(records_url(clients), {"Id": made}, format="json")

    for who in ("viewer", "editor"):
        for rid in (4, made):
            r = token_client(w.tokens[who]).get(history_url(clients, rid))
            assert r.status_code == 200
            assert SECRET not in r.content.decode()
            assert "email" not in [
                c["field"] for e in r.json()["list"] for c in e["changes"]
            ]
            panel = session_client(w.users[who]).get(panel_url(clients, rid))
            assert panel.status_code == 200
            assert SECRET not in panel.content.decode()
            assert "Loading" not in panel.content.decode()
    viewer_entries = (
        token_client(w.tokens["viewer"]).get(history_url(clients, 4)).json()["list"]
    )
    assert [changes_of(e) for e in viewer_entries if e["kind"] == "update"][0] == {
        "name": (
            changes_of(viewer_entries[0])["name"][0],
            "Visible Name",
        )
    }
    assert sum(e["kind"] == "update" for e in viewer_entries) == 1
    # The creator may see the field: both edits, with the values.
    creator = token_client(w.tokens["creator"]).get(history_url(clients, 4)).json()
    emails = [changes_of(e).get("email") for e in creator["list"]]
    assert emails[:2] == [(SECRET, "x" + SECRET), (emails[1][0], SECRET)]
    assert "x" + SECRET in session_client(w.users["owner"]).get(
        panel_url(clients, 4)
    ).content.decode("utf-8")
    deleted = token_client(w.tokens["viewer"]).get(history_url(clients, made)).json()
    assert [e["kind"] for e in deleted["list"]] == ["delete", "insert"]


def test_viewers_read_outsiders_and_table_overrides_get_404(world):
    w = world
    clients = w.table("clients")
    update_rows(clients, {"Id": 1, "name": "by system"}, actor=SYSTEM)
    for who in ("owner", "creator", "editor", "commenter", "viewer", "readonly"):
        assert (
            token_client(w.tokens[who]).get(history_url(clients, 1)).status_code == 200
        )
    assert (
        token_client(w.tokens["outsider"]).get(history_url(clients, 1)).status_code
        == 404
    )
    assert (
        session_client(w.users["outsider"]).get(panel_url(clients, 1)).status_code
        == 404
    )
    assert Client().get(history_url(clients, 1)).status_code == 401
    table_role_set(
        actor=Actor(user=w.users["owner"]),
        table=clients,
        user_id=w.users["viewer"].pk,
        role="none",
    )
    assert (
        token_client(w.tokens["viewer"]).get(history_url(clients, 1)).status_code == 404
    )
    assert (
        session_client(w.users["viewer"]).get(panel_url(clients, 1)).status_code == 404
    )
    # A table of another base under this base's URL is 404 too.
    other = session_client(w.users["owner"]).get(
        f"/bases/pother/tables/{clients.pk}/rows/1/history"
    )
    assert other.status_code == 404
    entry = (
        token_client(w.tokens["owner"]).get(history_url(clients, 1)).json()["list"][0]
    )
    assert entry["actor"]["type"] == "system" and entry["user"] is None


def test_links_and_unlinks_are_recorded_on_both_sides(world):
    w = world
    clients, projects = w.table("clients"), w.table("projects")
    link = clients.fields.get(uidt="LinkToAnotherRecord", related_table=projects)
    back = projects.fields.get(uidt="LinkToAnotherRecord", related_table=clients)
    api = token_client(w.tokens["editor"])
    url = f"/api/v2/tables/{clients.pk}/links/{link.pk}/records/5"
    assert api.post(url, [{"Id": 7}, {"Id": 8}], format="json").status_code == 200
    assert api.delete(url, [{"Id": 8}], format="json").status_code == 200
    mine = api.get(history_url(clients, 5)).json()["list"]
    assert [(e["kind"], changes_of(e)) for e in mine[:2]] == [
        ("unlink", {link.title: ([8], None)}),
        ("link", {link.title: (None, [7, 8])}),
    ]
    theirs = api.get(history_url(projects, 8)).json()["list"]
    assert [(e["kind"], changes_of(e)) for e in theirs[:2]] == [
        ("unlink", {back.title: ([5], None)}),
        ("link", {back.title: (None, [5])}),
    ]


def test_grid_cell_and_public_form_writes_name_their_author(world):
    w = world
    clients = w.table("clients")
    web = session_client(w.users["editor"])
    notes = w.field("clients", "notes")
    r = web.post(
        f"/bases/{clients.base_id}/tables/{clients.pk}/cells/6/{notes.pk}",
        {"value": "typed in the grid"},
        HTTP_X_GRID_EDITOR="1",
    )
    assert r.status_code == 200, r.content[:200]
    entry = token_client(w.tokens["viewer"]).get(history_url(clients, 6)).json()
    assert entry["list"][0]["user"] == "editor@example.com"
    assert changes_of(entry["list"][0])["notes"][1] == "typed in the grid"

    from views import form_view, services, shares

    owner = Actor(user=w.users["owner"])
    view = services.view_create(
        actor=owner, table=clients, title="Sign up", type="form"
    )
    form_view.form_config_save(
        actor=owner,
        view=view,
        data={"fields": [{"id": w.field("clients", "name").pk, "required": True}]},
    )
    share = shares.share_enable(actor=owner, view=view)
    assert (
        Client()
        .post(f"/f/{share.token}/", {w.field("clients", "name").pk: "Visitor"})
        .status_code
        == 200
    )
    change = RecordChange.objects.filter(table_id=clients.pk, kind="insert").latest(
        "id"
    )
    assert change.via == "form" and change.user_id is None
    listed = (
        token_client(w.tokens["viewer"])
        .get(history_url(clients, change.record_id))
        .json()
    )
    assert listed["list"][0]["actor"]["form"] == "Sign up"
    assert listed["list"][0]["user"] is None
    assert listed["list"][0]["actor"]["display"] == "public form “Sign up”"


def test_pages_go_newest_first_with_a_cursor(world):
    w = world
    clients = w.table("clients")
    for i in range(7):
        update_rows(
            clients, {"Id": 9, "name": f"v{i}"}, actor=Actor(user=w.users["owner"])
        )
    api = token_client(w.tokens["viewer"])
    seen = []
    page = api.get(history_url(clients, 9, limit=3)).json()
    while True:
        seen += [
            changes_of(e)["name"][1] for e in page["list"] if e["kind"] == "update"
        ]
        if page["pageInfo"]["isLastPage"]:
            break
        assert len(page["list"]) == 3
        page = api.get(
            history_url(clients, 9, limit=3, cursor=page["pageInfo"]["next"])
        ).json()
        assert page["pageInfo"]["isFirstPage"] is False
    assert seen == [f"v{i}" for i in reversed(range(7))]
    for bad in (
        "limit=0",
        "limit=101",
        "limit=x",
        "cursor=abc",
        "cursor=-1",
        "cursor=%C2%B2",  # a superscript two: a digit to str.isdigit, not to int()
        "cursor=" + "9" * 20,
    ):
        r = api.get(history_url(clients, 9) + "?" + bad)
        assert r.status_code == 400, bad
    assert api.get(history_url(clients, "not-a-number")).status_code == 404
    # The panel: 20 a page, then "Show older" brings the rest.
    for i in range(20):
        update_rows(
            clients, {"Id": 9, "name": f"w{i}"}, actor=Actor(user=w.users["owner"])
        )
    web = session_client(w.users["viewer"])
    html = web.get(panel_url(clients, 9)).content.decode()
    assert html.count('class="history-entry"') == 20 and "Show older" in html
    assert 'history-new">w19<' in html and 'history-new">v6<' not in html
    older = html.split("?cursor=")[1].split('"')[0]
    assert web.get(panel_url(clients, 9, cursor="abc")).status_code == 400
    more = web.get(panel_url(clients, 9, cursor=older)).content.decode()
    assert "<section" not in more and 'history-new">v6<' in more
    assert 'history-new">w19<' not in more


def test_expanded_row_loads_the_history_panel(world):
    w = world
    clients = w.table("clients")
    web = session_client(w.users["viewer"])
    html = web.get(
        f"/bases/{clients.base_id}/tables/{clients.pk}/grid/rows/1/expand"
    ).content.decode()
    assert f"/bases/{clients.base_id}/tables/{clients.pk}/rows/1/history" in html


def test_prune_history_command(world, settings):
    w = world
    clients = w.table("clients")
    update_rows(
        clients, {"Id": 1, "name": "recent"}, actor=Actor(user=w.users["owner"])
    )
    RecordChange.objects.all().update(created_at=timezone.now() - dt.timedelta(days=5))
    old = RecordChange.objects.count()
    update_rows(clients, {"Id": 1, "name": "today"}, actor=Actor(user=w.users["owner"]))
    out = io.StringIO()
    settings.NOCO_HISTORY_DAYS = 10
    call_command("prune_history", stdout=out)
    assert out.getvalue().strip() == "0" and RecordChange.objects.count() == old + 1
    call_command("prune_history", "--days", "3", stdout=out)
    assert out.getvalue().split()[-1] == str(old)
    assert list(RecordChange.objects.values_list("changes", flat=True)) == [
        {w.field("clients", "name").pk: ["recent", "today"]}
    ]
    settings.NOCO_HISTORY_DAYS = 0  # keep forever
    RecordChange.objects.all().update(
        created_at=timezone.now() - dt.timedelta(days=900)
    )
    call_command("prune_history", stdout=out)
    assert RecordChange.objects.count() == 1


def test_history_is_in_the_base_openapi_document(world):
    from openapi_spec_validator import validate

    w = world
    clients = w.table("clients")
    doc = (
        token_client(w.tokens["viewer"])
        .get(f"/api/v2/meta/bases/{w.base.pk}/swagger.json")
        .json()
    )
    validate(doc)
    op = doc["paths"][f"/api/v2/tables/{clients.pk}/records/{{recordId}}/history"][
        "get"
    ]
    assert {p["name"] for p in op["parameters"]} == {"recordId", "limit", "cursor"}
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HistoryPage"
    }


def test_plain_values_compare_the_same_whatever_their_source():
    import datetime as dt
    import decimal

    from records.values import MAX_TEXT, plain

    class F:
        def __init__(self, uidt):
            self.uidt = uidt

    currency = F("Currency")
    # As parsed from a request, as PostgreSQL numeric, as SQLite REAL: one value.
    assert (
        plain(currency, decimal.Decimal("2.5"))
        == plain(currency, decimal.Decimal("2.50"))
        == plain(currency, 2.5)
        == "2.5"
    )
    assert plain(currency, decimal.Decimal("10.00")) == plain(currency, 10) == 10
    assert plain(currency, decimal.Decimal("1E+999999")) == "1E+999999"
    assert plain(F("Checkbox"), 1) is True and plain(F("Checkbox"), None) is None
    when = dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert plain(F("DateTime"), when) == "2024-01-01T10:00:00+00:00"
    assert plain(F("Date"), dt.date(2024, 2, 29)) == "2024-02-29"
    assert plain(F("JSON"), {"a": [1]}) == {"a": [1]}
    long = plain(F("LongText"), "x" * (MAX_TEXT + 5))
    assert len(long) == MAX_TEXT + 1 and long.endswith("…")


def test_insert_entries_keep_values_exactly_as_plain_does():
    """insert_entries skips `plain` for values it returns unchanged: the result must be the
    same as calling it on every cell, for every kind of field and value."""
    import datetime as dt
    import decimal
    from types import SimpleNamespace

    from history import capture
    from records.values import MAX_TEXT, plain

    class Field(SimpleNamespace):
        __hash__ = object.__hash__

    def field(i, uidt):
        return Field(id=f"f{i}", uidt=uidt)

    fields = [
        field(i, u)
        for i, u in enumerate(
            [
                "SingleLineText",
                "Number",
                "Decimal",
                "Currency",
                "Checkbox",
                "Date",
                "JSON",
            ]
        )
    ]
    values = [
        "text",
        "x" * (MAX_TEXT + 5),
        "10.50",
        7,
        0,
        True,
        False,
        decimal.Decimal("2.50"),
        1.5,
        dt.date(2024, 2, 29),
        dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        {"a": 1},
        None,
    ]
    parsed = [{f: v for f in fields} for v in values]
    meta = SimpleNamespace(table=SimpleNamespace(pk="t"), record_id=lambda k: k[0])
    ids = [[i + 1] for i in range(len(values))]
    got = capture.insert_entries(meta, ids, parsed)
    want = [
        ("t", i + 1, {f.id: [None, plain(f, v)] for f in fields if v is not None})
        for i, v in enumerate(values)
    ]
    assert got == want
    # Columns of dates, date-times (naive, UTC, with an offset) and times, with NULLs and an
    # odd value out, on every kind of field (a Checkbox keeps a bool).
    for column in (
        [dt.date(2024, 1, 2), None, dt.date(2024, 3, 4), "2024-05-06"],
        [
            dt.datetime(2024, 1, 1, 12),
            dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC),
            None,
            dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=-3))),
            dt.date(2024, 1, 1),
        ],
        [dt.time(8, 30), dt.time(23, 59, 59, 5), None, 5],
    ):
        rows = [{f: v for f in fields} for v in column]
        keys = [[i + 1] for i in range(len(column))]
        assert capture.insert_entries(meta, keys, rows) == [
            ("t", i + 1, {f.id: [None, plain(f, v)] for f in fields if v is not None})
            for i, v in enumerate(column)
        ]
    # Rows with other sets of fields (in another order, or none), and rows without a key
    # (no history), keep their places.
    mixed = [
        {fields[2]: "3.25", fields[0]: "a"},
        parsed[3],
        {},
        {fields[0]: "b", fields[2]: decimal.Decimal("4")},
        parsed[9],
    ]
    keys = [[101], [102], [103], [104], None]
    assert capture.insert_entries(meta, keys, mixed) == [
        ("t", 101, {"f2": [None, "3.25"], "f0": [None, "a"]}),
        ("t", 102, {f.id: [None, plain(f, 7)] for f in fields}),
        ("t", 103, {}),
        ("t", 104, {"f0": [None, "b"], "f2": [None, 4]}),
    ]
