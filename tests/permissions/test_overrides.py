"""Table overrides and field rules, and that hidden fields never leave the server."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bases import records
from permissions.checks import SYSTEM, Actor
from permissions.models import FieldRule, TableRole
from permissions.services import field_rule_set, table_role_set
from tests.permissions.conftest import session_client, token_client
from views.services import view_create

pytestmark = pytest.mark.django_db


def owner(w):
    return Actor(user=w.users["owner"])


def hide(w, table, field, below="creator", read_only_below=""):
    field_rule_set(
        actor=owner(w),
        field=w.field(table, field),
        hidden_below=below,
        read_only_below=read_only_below,
    )


def records_url(w, table, tail=""):
    return f"/api/v2/tables/{w.table(table).pk}/records{tail}"


# --- table overrides ---------------------------------------------------------------------------


def test_lowered_table_role_refuses_writes_there_only(world):
    w = world
    table_role_set(
        actor=owner(w),
        table=w.table("clients"),
        user_id=w.users["editor"].pk,
        role="viewer",
    )
    c = token_client(w.tokens["editor"])
    r = c.patch(records_url(w, "clients"), {"id": 1, "name": "x"}, format="json")
    assert r.status_code == 403
    assert records.get_record(w.table("clients"), 1, actor=SYSTEM)["name"] != "x"
    ok = c.patch(
        records_url(w, "projects"), {"id": 1, "name": "still editor"}, format="json"
    )
    assert ok.status_code == 200


def test_raised_table_role_allows_writes_there_only(world):
    w = world
    table_role_set(
        actor=owner(w),
        table=w.table("clients"),
        user_id=w.users["viewer"].pk,
        role="editor",
    )
    c = token_client(w.tokens["viewer"])
    assert (
        c.patch(
            records_url(w, "clients"), {"id": 1, "name": "y"}, format="json"
        ).status_code
        == 200
    )
    assert (
        c.patch(
            records_url(w, "projects"), {"id": 1, "name": "y"}, format="json"
        ).status_code
        == 403
    )


def test_no_access_table_is_404_everywhere(world):
    w = world
    tasks = w.table("tasks")
    table_role_set(
        actor=owner(w), table=tasks, user_id=w.users["editor"].pk, role="none"
    )
    c = token_client(w.tokens["editor"])
    for url in (
        records_url(w, "tasks"),
        records_url(w, "tasks", "/1"),
        records_url(w, "tasks", "/count"),
        f"/api/v2/meta/tables/{tasks.pk}",
        f"/api/v2/meta/tables/{tasks.pk}/views",
        f"/api/v2/meta/columns/{w.field('tasks', 'title').pk}",
        f"/api/v2/tables/{tasks.pk}/records/1/comments",
    ):
        assert c.get(url).status_code == 404, url
    listed = c.get(f"/api/v2/meta/bases/{w.base.pk}/tables").json()["list"]
    assert "tasks" not in [t["title"] for t in listed]
    doc = json.dumps(c.get(f"/api/v2/meta/bases/{w.base.pk}/swagger.json").json())
    assert tasks.pk not in doc
    # The projects → tasks link leads into the hidden table: it is hidden with it.
    projects = w.table("projects")
    link = w.field("projects", "tasks")
    row = c.get(records_url(w, "projects", "/1")).json()
    assert "tasks" not in row
    assert (
        c.get(f"/api/v2/tables/{projects.pk}/links/{link.pk}/records/1").status_code
        == 404
    )
    web = session_client(w.users["editor"])
    assert web.get(f"/bases/{w.base.pk}/tables/{tasks.pk}/").status_code == 404
    assert (
        f"/tables/{tasks.pk}/" not in web.get(f"/bases/{w.base.pk}/").content.decode()
    )
    # Others still see it.
    assert (
        token_client(w.tokens["viewer"]).get(records_url(w, "tasks")).status_code == 200
    )


def test_override_lowering_a_creator_blocks_schema_changes_on_that_table(world):
    w = world
    table_role_set(
        actor=owner(w),
        table=w.table("clients"),
        user_id=w.users["creator"].pk,
        role="editor",
    )
    c = token_client(w.tokens["creator"])
    r = c.post(
        f"/api/v2/meta/tables/{w.table('clients').pk}/columns",
        {"title": "nope", "uidt": "SingleLineText"},
        format="json",
    )
    assert r.status_code == 403
    assert not w.table("clients").fields.filter(title="nope").exists()


# --- hidden fields -----------------------------------------------------------------------------


def test_hidden_field_never_leaves_the_server_through_the_api(world):
    w = world
    hide(w, "clients", "email")
    secret = records.get_record(w.table("clients"), 1, actor=SYSTEM)["email"]
    assert secret
    c = token_client(w.tokens["editor"])
    t = w.table("clients")
    email = w.field("clients", "email")
    responses = [
        c.get(records_url(w, "clients"), {"limit": 100}),
        c.get(records_url(w, "clients", "/1")),
        c.get(f"/api/v2/meta/tables/{t.pk}"),
        c.get(f"/api/v2/meta/bases/{w.base.pk}/swagger.json"),
        c.get(
            f"/api/v2/tables/{w.table('projects').pk}/links/{w.field('projects', 'clients').pk}/records/1"
        ),
    ]
    for r in responses:
        assert r.status_code == 200, r.content
        body = r.content.decode()
        assert secret not in body and '"email"' not in body and email.pk not in body
    # Naming it anywhere is the same 400 as a field that does not exist.
    for params in (
        {"fields": "email"},
        {"fields": email.pk},
        {"where": "(email,eq,x)"},
        {"where": f"(email,eq,{secret})"},
        {"sort": "email"},
        {"sort": "-email"},
        {"where": "(name,neq,x)~or(email,like,%a%)"},
    ):
        for tail in ("", "/count"):
            r = c.get(records_url(w, "clients", tail), params)
            assert r.status_code == 400, (params, r.content)
            assert r.json()["error"] == "FIELD_NOT_FOUND"
            unknown = c.get(
                records_url(w, "clients", tail),
                {k: v.replace("email", "nosuch") for k, v in params.items()},
            )
            assert unknown.json()["error"] == "FIELD_NOT_FOUND"
    assert c.get(f"/api/v2/meta/columns/{email.pk}").status_code == 404
    # The creator still sees it.
    assert (
        secret
        in token_client(w.tokens["creator"])
        .get(records_url(w, "clients", "/1"))
        .content.decode()
    )


def test_hidden_field_is_absent_from_pages(world):
    w = world
    hide(w, "clients", "email")
    secret = records.get_record(w.table("clients"), 1, actor=SYSTEM)["email"]
    web = session_client(w.users["editor"])
    t = w.table("clients")
    page = web.get(f"/bases/{w.base.pk}/tables/{t.pk}/").content.decode()
    assert secret not in page and ">email<" not in page
    email = w.field("clients", "email")
    assert (
        web.get(f"/bases/{w.base.pk}/tables/{t.pk}/cells/1/{email.pk}").status_code
        == 404
    )
    r = web.post(
        f"/bases/{w.base.pk}/tables/{t.pk}/cells/1/{email.pk}", {"value": "x@y.z"}
    )
    assert r.status_code == 404
    assert records.get_record(t, 1, actor=SYSTEM)["email"] == secret


def test_view_filtering_on_a_hidden_field_still_works_without_showing_it(world):
    w = world
    t = w.table("clients")
    view = view_create(
        actor=owner(w),
        table=t,
        title="with email",
        data={"where": "(email,like,%example%)", "sort": "-email"},
    )
    hide(w, "clients", "email")
    c = token_client(w.tokens["editor"])
    r = c.get(records_url(w, "clients"), {"viewId": view.pk, "limit": 5})
    assert r.status_code == 200
    assert r.json()["list"] and all("email" not in row for row in r.json()["list"])
    # The view's sort on the hidden field is not applied for them: the cursor would carry it.
    cursor = r.json()["pageInfo"]["next"]
    import base64

    decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    assert "@" not in decoded
    assert (
        c.get(
            records_url(w, "clients"), {"viewId": view.pk, "cursor": cursor}
        ).status_code
        == 200
    )


def test_hidden_display_value_is_not_shown_in_link_cells(world):
    w = world
    hide(w, "clients", "name")
    name = records.get_record(w.table("clients"), 1, actor=SYSTEM)["name"]
    rows = (
        token_client(w.tokens["editor"])
        .get(records_url(w, "projects"), {"limit": 100})
        .json()["list"]
    )
    assert any(row.get("clients") for row in rows)
    assert name not in json.dumps(rows)


def test_writes_to_hidden_or_read_only_fields_are_refused_whole(world):
    w = world
    hide(w, "clients", "email")
    field_rule_set(
        actor=owner(w), field=w.field("clients", "phone"), read_only_below="creator"
    )
    t = w.table("clients")
    before = records.get_record(t, 1, actor=SYSTEM)
    c = token_client(w.tokens["editor"])
    r = c.patch(
        records_url(w, "clients"),
        {"id": 1, "name": "mass", "email": "a@b.c"},
        format="json",
    )
    assert r.status_code == 400 and r.json()["error"] == "FIELD_NOT_FOUND"
    r = c.patch(
        records_url(w, "clients"),
        {"id": 1, "name": "mass", "phone": "123"},
        format="json",
    )
    assert r.status_code == 403 and r.json()["error"] == "FIELD_READ_ONLY"
    r = c.patch(
        records_url(w, "clients"),
        [{"id": 1, "name": "ok"}, {"id": 2, "phone": "1"}],
        format="json",
    )
    assert r.status_code == 403
    assert records.get_record(t, 1, actor=SYSTEM) == before
    # The creator may write both.
    r = token_client(w.tokens["creator"]).patch(
        records_url(w, "clients"),
        {"id": 1, "email": "a@b.c", "phone": "123"},
        format="json",
    )
    assert r.status_code == 200


def test_read_only_field_renders_without_an_editor(world):
    w = world
    field_rule_set(
        actor=owner(w), field=w.field("clients", "phone"), read_only_below="creator"
    )
    t = w.table("clients")
    phone = w.field("clients", "phone")
    name = w.field("clients", "name")
    web = session_client(w.users["editor"])
    page = web.get(f"/bases/{w.base.pk}/tables/{t.pk}/").content.decode()
    # Grid cells: <td class="cell t-<type>[ ro]" data-f="<field id>">; "ro" = not editable.
    assert f'<td class="cell t-SingleLineText" data-f="{name.pk}"' in page
    assert f'<td class="cell t-PhoneNumber ro" data-f="{phone.pk}"' in page
    assert f'<td class="cell t-PhoneNumber" data-f="{phone.pk}"' not in page
    # The grid's column config agrees (the script opens no editor on a read-only column).
    assert (
        f'"id": "{phone.pk}", "title": "phone", "uidt": "PhoneNumber", "edit": false'
        in page
    )
    assert (
        f'"id": "{name.pk}", "title": "name", "uidt": "SingleLineText", "edit": true'
        in page
    )
    r = web.post(f"/bases/{w.base.pk}/tables/{t.pk}/cells/1/{phone.pk}", {"value": "9"})
    assert r.status_code == 403
    # The grid's paste path refuses it too, naming the cell, and saves nothing.
    before = records.get_record(t, "1", actor=SYSTEM)["phone"]
    r = web.post(
        f"/bases/{w.base.pk}/tables/{t.pk}/grid/cells",
        {"changes": [{"id": "1", "field": phone.pk, "value": "9"}]},
        format="json",
    )
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == phone.pk
    assert records.get_record(t, "1", actor=SYSTEM)["phone"] == before


def test_primary_key_cannot_be_hidden_and_only_owners_set_rules(world):
    w = world
    c = token_client(w.tokens["owner"])
    pk = w.table("clients").fields.get(is_pk=True)
    r = c.put(
        f"/api/v2/meta/columns/{pk.pk}/permissions",
        {"hidden_below": "editor"},
        format="json",
    )
    assert r.status_code == 400
    email = w.field("clients", "email")
    r = token_client(w.tokens["creator"]).put(
        f"/api/v2/meta/columns/{email.pk}/permissions",
        {"hidden_below": "owner"},
        format="json",
    )
    assert r.status_code == 403
    assert not FieldRule.objects.exists()
    r = token_client(w.tokens["editor"]).post(
        f"/api/v2/meta/tables/{w.table('clients').pk}/roles",
        {"user_id": w.users["editor"].pk, "roles": "creator"},
        format="json",
    )
    assert r.status_code == 403 and not TableRole.objects.exists()


def test_permissions_cost_at_most_one_extra_meta_query_on_the_hot_path(world):
    """Field rules are cached with the metadata, and the table's own override comes with the
    version query: no extra query. Overrides on *other* tables of the base (needed to hide
    links into them) cost one query, only for users who have such overrides."""
    w = world
    c = token_client(w.tokens["editor"])
    url = records_url(w, "clients")

    def count():
        c.get(url)  # warm the metadata cache
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(url).status_code == 200
        return len(ctx.captured_queries)

    plain = count()
    hide(w, "clients", "email")
    assert count() == plain
    table_role_set(
        actor=owner(w),
        table=w.table("clients"),
        user_id=w.users["editor"].pk,
        role="editor",
    )
    table_role_set(
        actor=owner(w),
        table=w.table("tasks"),
        user_id=w.users["editor"].pk,
        role="viewer",
    )
    assert count() <= plain + 1


def test_views_api_does_not_name_hidden_fields(world):
    w = world
    t = w.table("clients")
    email = w.field("clients", "email")
    view = view_create(
        actor=owner(w),
        table=t,
        title="by address",
        data={
            "where": "(email,like,%example%)",
            "sort": "-email",
            "hidden_fields": [email.pk],
        },
    )
    hide(w, "clients", "email")
    c = token_client(w.tokens["editor"])
    for body in (
        c.get(f"/api/v2/meta/views/{view.pk}").json(),
        next(
            v
            for v in c.get(f"/api/v2/meta/tables/{t.pk}/views").json()["list"]
            if v["id"] == view.pk
        ),
    ):
        text = json.dumps(body)
        assert "email" not in text and email.pk not in text
        assert body["where"] is None and body["sort"] is None
    creator_view = (
        token_client(w.tokens["creator"]).get(f"/api/v2/meta/views/{view.pk}").json()
    )
    assert creator_view["where"] == "(email,like,%example%)"


def test_has_many_links_need_write_access_to_the_related_table(world):
    w = world
    table_role_set(
        actor=owner(w),
        table=w.table("projects"),
        user_id=w.users["editor"].pk,
        role="viewer",
    )
    c = token_client(w.tokens["editor"])
    link = w.field("clients", "projects")
    url = f"/api/v2/tables/{w.table('clients').pk}/links/{link.pk}/records/1"
    before = c.get(url).json()
    r = c.post(url, [{"id": 3}], format="json")
    assert r.status_code == 403
    assert c.get(url).json() == before
