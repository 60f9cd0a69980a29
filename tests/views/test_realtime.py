"""Realtime over Channels: the table socket, per-recipient filtering, the live rows endpoint.

Sockets are real consumers on the real (in-memory) channel layer, driven by
channels.testing.WebsocketCommunicator; writes go through the records service and the REST API
exactly as in production. `transaction=True`: the consumer reads the meta DB from its own thread.
"""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import channel_layers
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import Client

from nocoplatform.routing import websocket_urlpatterns
from permissions.checks import Actor
from permissions.services import field_rule_set, member_remove
from records.writes import delete_rows, insert_rows, update_rows
from views.realtime import broadcast

pytestmark = pytest.mark.django_db(transaction=True)

router = URLRouter(websocket_urlpatterns)


@pytest.fixture(autouse=True)
def fresh_layer():
    channel_layers.backends.clear()  # a new in-memory layer for each test (and its loop)
    yield
    channel_layers.backends.clear()
    broadcast._local.clear()


def fid(table, title):
    return table.fields.get(title=title).pk


async def connect(table, user, client="tab"):
    comm = WebsocketCommunicator(router, f"/ws/tables/{table.pk}/?client={client}")
    comm.scope["user"] = user
    ok, _ = await comm.connect()
    assert ok
    hello = await comm.receive_json_from(timeout=2)
    assert hello["type"] == "hello" and hello["you"]["client"] == client
    return comm


async def next_of(comm, kind, timeout=2.0, prefix=False):
    """The next message of this type (presence chatter in between is skipped)."""
    while True:
        msg = await comm.receive_json_from(timeout=timeout)
        if msg["type"] == kind or (prefix and msg["type"].startswith(kind)):
            return msg


async def next_presence(comm, action, timeout=3.0):
    """The next presence message with this action (others in between are skipped)."""
    while True:
        msg = await next_of(comm, "presence", timeout=timeout)
        if msg["action"] == action:
            return msg


async def nothing_of(comm, kind, wait=0.3):
    """No message of this type arrives within `wait` seconds."""
    # receive_nothing, not a timed-out receive: a timeout would cancel the consumer.
    while not await comm.receive_nothing(timeout=wait):
        msg = await comm.receive_json_from(timeout=wait)
        assert msg["type"] != kind, msg


def run(coro_fn):
    async_to_sync(coro_fn)()


def test_update_reaches_other_tabs_and_not_the_one_it_came_from(projects, user):
    name = fid(projects, "name")

    async def scenario():
        a = await connect(projects, user, "tabA")
        b = await connect(projects, user, "tabB")
        from bases.changes import write_origin

        def write():
            token = write_origin.set("tabA")  # as ClientIdMiddleware does for tab A
            try:
                update_rows(
                    projects, {"Id": 3, "name": "Renamed"}, actor=Actor(user=user)
                )
            finally:
                write_origin.reset(token)

        await sync_to_async(write)()
        msg = await next_of(b, "rows.updated")
        assert msg == {
            "type": "rows.updated",
            "table": projects.pk,
            "ids": ["3"],
            "many": False,
            "fields": [name],
        }
        await nothing_of(a, "rows.updated")
        await a.disconnect()
        await b.disconnect()

    run(scenario)


def test_hidden_field_never_pushed(projects, user, editor):
    name, budget = fid(projects, "name"), fid(projects, "budget")
    owner = Actor(user=user)
    field_rule_set(
        actor=owner, field=projects.fields.get(title="budget"), hidden_below="creator"
    )

    async def scenario():
        own = await connect(projects, user, "owner")
        ed = await connect(projects, editor, "editor")
        # Only the hidden field changes: the owner hears of it, the editor hears nothing.
        await sync_to_async(update_rows)(
            projects, {"Id": 1, "budget": 1234}, actor=owner
        )
        assert (await next_of(own, "rows.updated"))["fields"] == [budget]
        await nothing_of(ed, "rows.updated")
        # Both change: the editor learns only of the field it may see.
        await sync_to_async(update_rows)(
            projects, {"Id": 1, "budget": 99, "name": "Both"}, actor=owner
        )
        assert set((await next_of(own, "rows.updated"))["fields"]) == {name, budget}
        msg = await next_of(ed, "rows.updated")
        assert msg["fields"] == [name] and budget not in json.dumps(msg)
        await own.disconnect()
        await ed.disconnect()

    run(scenario)


def test_api_write_reaches_a_socket_and_origin_header_skips_its_tab(
    projects, user, api
):
    status = fid(projects, "status")

    async def scenario():
        a = await connect(projects, user, "apiclient")
        b = await connect(projects, user, "browser")

        def write():
            r = api.patch(
                f"/api/v2/tables/{projects.pk}/records",
                {"Id": 2, "status": "done"},
                format="json",
                HTTP_X_CLIENT_ID="apiclient",
            )
            assert r.status_code == 200, r.content
            r = api.post(
                f"/api/v2/tables/{projects.pk}/records",
                [{"name": "new one"}, {"name": "new two"}],
                format="json",
            )
            assert r.status_code == 200, r.content
            return [row["Id"] for row in r.json()]

        new_ids = await sync_to_async(write)()
        upd = await next_of(b, "rows.updated")
        assert upd["ids"] == ["2"] and upd["fields"] == [status]
        # Tab "apiclient" skips its own update: its first row message is the insert.
        ins = await next_of(a, "rows.", prefix=True)
        assert ins["type"] == "rows.inserted"
        assert ins["ids"] == [str(i) for i in new_ids]
        assert (await next_of(b, "rows.inserted"))["ids"] == ins["ids"]

        def remove():
            r = api.delete(
                f"/api/v2/tables/{projects.pk}/records",
                {"Id": new_ids[0]},
                format="json",
            )
            assert r.status_code == 200, r.content

        await sync_to_async(remove)()
        assert (await next_of(b, "rows.deleted"))["ids"] == [str(new_ids[0])]
        await a.disconnect()
        await b.disconnect()

    run(scenario)


def test_removed_member_is_cut_off_at_once(projects, user, editor, demo):
    owner = Actor(user=user)

    async def scenario():
        ed = await connect(projects, editor, "editor")
        await sync_to_async(update_rows)(projects, {"Id": 1, "name": "x"}, actor=owner)
        await next_of(ed, "rows.updated")
        await sync_to_async(member_remove)(actor=owner, base=demo, user_id=editor.pk)
        assert (await next_of(ed, "access.revoked"))["table"] == projects.pk
        closed = await ed.receive_output(timeout=2)
        assert closed == {"type": "websocket.close", "code": 4403}
        await sync_to_async(update_rows)(projects, {"Id": 1, "name": "y"}, actor=owner)
        assert await ed.receive_nothing(timeout=0.3)

    run(scenario)


def test_downgrade_that_hides_a_field_tells_the_page(projects, user, editor):
    owner = Actor(user=user)
    budget = projects.fields.get(title="budget")

    async def scenario():
        ed = await connect(projects, editor, "editor")
        await sync_to_async(field_rule_set)(
            actor=owner, field=budget, hidden_below="creator"
        )
        await next_of(ed, "schema.changed")
        await sync_to_async(update_rows)(projects, {"Id": 1, "budget": 5}, actor=owner)
        await nothing_of(ed, "rows.updated")
        await ed.disconnect()

    run(scenario)


def test_strangers_and_anonymous_cannot_connect(projects, other_user):
    from django.contrib.auth.models import AnonymousUser

    async def scenario():
        for who in (other_user, AnonymousUser()):
            comm = WebsocketCommunicator(router, f"/ws/tables/{projects.pk}/?client=x")
            comm.scope["user"] = who
            ok, code = await comm.connect()
            assert not ok and code == 4404

    run(scenario)


def test_session_authenticated_socket_through_the_asgi_app(projects, user, settings):
    from nocoplatform.asgi import application

    c = Client()
    c.force_login(user)
    cookie = f"sessionid={c.cookies['sessionid'].value}"

    async def scenario():
        comm = WebsocketCommunicator(
            application,
            f"/ws/tables/{projects.pk}/?client=s1",
            headers=[
                (b"cookie", cookie.encode()),
                (b"host", b"testserver"),
                (b"origin", b"http://testserver"),
            ],
        )
        ok, _ = await comm.connect()
        assert ok
        assert (await comm.receive_json_from(timeout=2))["you"]["user"] == user.pk
        await comm.disconnect()

    run(scenario)


def test_presence_join_focus_and_leave(projects, user, editor):
    field_rule_set(
        actor=Actor(user=user),
        field=projects.fields.get(title="budget"),
        hidden_below="creator",
    )
    name, budget = fid(projects, "name"), fid(projects, "budget")

    async def scenario():
        own = await connect(projects, user, "owner")
        ed = await connect(projects, editor, "editor")
        join = await next_presence(own, "join")
        assert join["who"]["user"] == editor.pk and "promoted" not in join
        here = await next_presence(ed, "here")
        assert [p["who"]["client"] for p in here["people"]] == ["owner"]
        assert here["count"] == 2
        await own.send_json_to(
            {"type": "focus", "row": "4", "field": name, "editing": True}
        )
        focus = await next_presence(ed, "focus")
        assert focus["focus"] == {"row": "4", "field": name, "editing": True}
        # A cell of a field hidden from the editor shows no outline there.
        await own.send_json_to({"type": "focus", "row": "4", "field": budget})
        assert (await next_presence(ed, "focus"))["focus"] is None
        await ed.send_json_to({"type": "ping"})
        assert (await next_of(ed, "pong"))["type"] == "pong"
        await own.disconnect()
        leave = await next_presence(ed, "leave")
        assert leave["who"]["client"] == "owner"
        assert (await next_presence(ed, "count"))["count"] == 1
        await ed.disconnect()

    run(scenario)


def test_a_crowd_is_named_up_to_a_cap_then_counted(projects, user, monkeypatch):
    """Only the first SHOWN people are named (join/leave/focus); the rest are a count sent
    at most once per COUNT_EVERY; a newcomer gets the state in one message; when a named
    person leaves, the next in line is named (`promoted`: not one more person)."""
    from views.realtime import hub

    monkeypatch.setattr(hub, "SHOWN", 2)
    monkeypatch.setattr(hub, "COUNT_EVERY", 0.2)
    name = fid(projects, "name")

    async def scenario():
        a = await connect(projects, user, "a")
        b = await connect(projects, user, "b")
        assert (await next_presence(a, "join"))["who"]["client"] == "b"
        c = await connect(projects, user, "c")
        here = await next_presence(c, "here")
        assert [p["who"]["client"] for p in here["people"]] == ["a", "b"]
        assert here["count"] == 3
        # c is past the cap: a hears no join of it, only the count; nor c's focus.
        assert (await next_presence(a, "count"))["count"] == 3
        await c.send_json_to({"type": "focus", "row": "1", "field": name})
        await nothing_of(a, "presence")
        d = await connect(projects, user, "d")
        here = await next_presence(d, "here")
        assert [p["who"]["client"] for p in here["people"]] == ["a", "b"]
        assert here["count"] == 4
        # b leaves: a is told, and c (the next in line, with its focus) is named now.
        await b.disconnect()
        assert (await next_presence(a, "leave"))["who"]["client"] == "b"
        promoted = await next_presence(a, "join")
        assert promoted["who"]["client"] == "c" and promoted["promoted"] is True
        focus = await next_presence(a, "focus")
        assert focus["who"]["client"] == "c" and focus["focus"]["row"] == "1"
        assert (await next_presence(a, "count"))["count"] == 3
        for comm in (a, c, d):
            await comm.disconnect()

    run(scenario)


def test_link_and_delete_and_bulk_messages(projects, user):
    owner = Actor(user=user)

    async def scenario():
        a = await connect(projects, user, "a")
        ids = await sync_to_async(insert_rows)(
            projects, [{"name": f"bulk {i}"} for i in range(3)], actor=owner
        )
        assert (await next_of(a, "rows.inserted"))["ids"] == [str(i[0]) for i in ids]
        await sync_to_async(delete_rows)(
            projects, [{"Id": i[0]} for i in ids], actor=owner
        )
        assert (await next_of(a, "rows.deleted"))["ids"] == [str(i[0]) for i in ids]
        many = await sync_to_async(insert_rows)(
            projects, [{"name": "m"}] * (broadcast.MAX_IDS + 1), actor=owner
        )
        msg = await next_of(a, "rows.inserted")
        assert msg["many"] is True and msg["ids"] == [] and len(many) == 501
        await a.disconnect()

    run(scenario)


def test_nobody_listening_costs_no_send(projects, user, monkeypatch):
    sent = []
    monkeypatch.setattr(broadcast, "send", lambda *a: sent.append(a))
    update_rows(projects, {"Id": 1, "name": "quiet"}, actor=Actor(user=user))
    assert sent == []
    broadcast.joined(projects.pk)
    update_rows(projects, {"Id": 1, "name": "heard"}, actor=Actor(user=user))
    assert len(sent) == 1 and sent[0][1]["ids"] == ["1"]


# --- the live rows endpoint ------------------------------------------------------------------


def live(web, table, ids, **params):
    r = web.get(
        f"/bases/{table.base_id}/tables/{table.pk}/grid/live",
        {"ids": ",".join(map(str, ids)), **params},
    )
    return r


def test_live_rows_render_matching_rows_and_name_the_gone(web, projects, user):
    from views.services import view_create

    view = view_create(
        actor=Actor(user=user),
        table=projects,
        title="active",
        data={"where": "(status,eq,active)"},
    )
    update_rows(
        projects,
        [{"Id": 1, "status": "active"}, {"Id": 2, "status": "done"}],
        actor=Actor(user=user),
    )
    r = live(web, projects, [1, 2, 99999], view=view.pk)
    assert r.status_code == 200
    data = r.json()
    assert list(data["rows"]) == ["1"] and data["gone"] == ["2", "99999"]
    assert data["rows"]["1"].startswith('<tr class="grid-row" data-id="1"')
    assert live(web, projects, []).status_code == 400
    assert live(web, projects, range(1, 502)).status_code == 400


def test_live_rows_leave_out_hidden_fields(client, projects, user, editor):
    field_rule_set(
        actor=Actor(user=user),
        field=projects.fields.get(title="budget"),
        hidden_below="creator",
    )
    update_rows(projects, {"Id": 1, "budget": 424242}, actor=Actor(user=user))
    client.force_login(editor)
    html = live(client, projects, [1]).json()["rows"]["1"]
    assert fid(projects, "budget") not in html and "424242" not in html
    client.force_login(user)
    assert "424" in live(client, projects, [1]).json()["rows"]["1"]


def test_view_and_schema_changes_are_announced(projects, user):
    from bases import schema_services
    from views.services import default_view, view_update

    owner = Actor(user=user)
    view = default_view(projects)

    async def scenario():
        a = await connect(projects, user, "a")
        # Column widths are one person's layout: no notice.
        await sync_to_async(view_update)(
            actor=owner, view=view, data={"options": {"column_widths": {"x": 90}}}
        )
        await nothing_of(a, "view.changed")
        await sync_to_async(view_update)(
            actor=owner, view=view, data={"where": "(status,eq,active)"}
        )
        msg = await next_of(a, "view.changed")
        assert msg["view"] == view.pk and msg["deleted"] is False
        await sync_to_async(schema_services.field_create)(
            actor=owner, table=projects, data={"title": "extra", "uidt": "Number"}
        )
        assert (await next_of(a, "schema.changed"))["table"] == projects.pk
        await a.disconnect()

    run(scenario)


def test_card_views_open_the_socket_and_kanban_moves_are_broadcast(projects, user, web):
    from views.services import view_create

    view = view_create(actor=Actor(user=user), table=projects, title="K", type="kanban")
    page = web.get(
        f"/bases/{projects.base_id}/tables/{projects.pk}/views/{view.pk}/"
    ).content.decode()
    config = json.loads(
        page.split('id="realtime-config" type="application/json">')[1].split(
            "</script>"
        )[0]
    )
    assert config == {"ws": f"/ws/tables/{projects.pk}/", "view": view.pk}
    assert 'id="presence"' in page and "js/realtime.js" in page
    status = fid(projects, "status")

    async def scenario():
        other = await connect(projects, user, "other-tab")

        def move():
            r = web.post(
                f"/bases/{projects.base_id}/views/{view.pk}/move",
                {"record": 4, "stack": "done"},
            )
            assert r.status_code == 200, r.content

        await sync_to_async(move)()
        msg = await next_of(other, "rows.updated")
        assert msg["ids"] == ["4"] and msg["fields"] == [status]
        await other.disconnect()

    run(scenario)


def test_kanban_card_order_is_not_pushed_to_who_cannot_see_the_stack_field(
    projects, user, editor
):
    """Stack names are the stack field's options and the order says which records are in
    which stack: a socket that cannot see that field is not sent it (issue 15)."""
    from views.services import view_create
    from views.types.kanban import card_order_save

    owner = Actor(user=user)
    view = view_create(actor=owner, table=projects, title="K", type="kanban")
    field_rule_set(
        actor=owner, field=projects.fields.get(title="status"), hidden_below="creator"
    )

    async def scenario():
        own = await connect(projects, user, "owner")
        ed = await connect(projects, editor, "editor")
        await sync_to_async(card_order_save)(
            actor=owner, view=view, stack="done", order=[4, 2]
        )
        msg = await next_of(own, "cards.ordered")
        assert msg["orders"] == {"done": ["4", "2"]}
        await nothing_of(ed, "cards.ordered")
        await own.disconnect()
        await ed.disconnect()

    run(scenario)
