"""Live cards and shared rows: what gallery, kanban and calendar pages and shared-view visitors
are pushed when records change (views/realtime/live.py, placing.py, consumer.py).

Real consumers on the real (in-memory) channel layer through WebsocketCommunicator; writes go
through the records service and the REST API as in production. Each message carries HTML the
server rendered for that recipient: the assertions read that HTML.
"""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.test import Client

from bases import records
from permissions.checks import SYSTEM
from permissions.services import field_rule_set
from records.writes import delete_rows, insert_rows, update_rows
from tests.views.test_realtime import (  # noqa: F401 - the layer fixture
    fresh_layer,
    next_of,
    nothing_of,
    router,
    run,
)
from views import shares
from views.services import view_create, view_update

pytestmark = pytest.mark.django_db(transaction=True)


def fid(table, title):
    return table.fields.get(title=title).pk


async def watch(view, user, client="tab", q=""):
    """A page of `view` (gallery, kanban, calendar): its socket carries the view."""
    url = f"/ws/tables/{view.table_id}/?client={client}&view={view.pk}"
    comm = WebsocketCommunicator(router, url + (f"&q={q}" if q else ""))
    comm.scope["user"] = user
    ok, _ = await comm.connect()
    assert ok
    assert (await comm.receive_json_from(timeout=2))["type"] == "hello"
    return comm


def as_tab(tab, fn, *args, **kwargs):
    """Run a write as browser tab `tab` does (X-Client-Id, as ClientIdMiddleware sets it)."""
    from bases.changes import write_origin

    token = write_origin.set(tab)
    try:
        return fn(*args, **kwargs)
    finally:
        write_origin.reset(token)


# --- gallery ---------------------------------------------------------------------------------


@pytest.fixture
def gallery(projects, owner):
    view = view_create(actor=owner, table=projects, title="G", type="gallery")
    fields = [fid(projects, t) for t in ("name", "budget", "status")]
    from views.services import view_options_update

    view_options_update(actor=owner, view=view, options={"card_fields": fields})
    view.refresh_from_db()
    return view


def test_gallery_card_updates_in_place_without_hidden_fields(
    projects, gallery, owner, user, editor
):
    field_rule_set(
        actor=owner, field=projects.fields.get(title="budget"), hidden_below="creator"
    )
    budget = fid(projects, "budget")

    async def scenario():
        own = await watch(gallery, user, "owner-tab")
        ed = await watch(gallery, editor, "editor-tab")
        writer = await watch(gallery, user, "writer-tab")
        await sync_to_async(as_tab)(
            "writer-tab",
            update_rows,
            projects,
            {"Id": 5, "name": "Renamed live", "budget": 987654},
            actor=owner,
        )
        mine = await next_of(own, "cards")
        theirs = await next_of(ed, "cards")
        for msg in (mine, theirs):
            assert msg["view"] == gallery.pk and msg["event"] == "rows.updated"
            assert msg["gone"] == []
            (card,) = msg["cards"]
            assert card["id"] == "5" and card["after"] == "4"  # the view's order: by Id
            assert card["html"].startswith('<article class="vcard" data-id="5"')
            assert "Renamed live" in card["html"]
            assert msg["total"] == {"count": 120, "estimated": False}
        # The owner sees the budget on the card; the editor, from whom it is hidden, has no
        # trace of it in anything pushed (neither value nor field).
        shown = mine["cards"][0]["html"]
        assert ">budget<" in shown and "987,654" in shown.replace("\u00a0", " ")
        pushed = json.dumps(theirs)
        assert ">budget<" not in pushed
        assert "987,654" not in pushed and "987654" not in pushed
        assert budget not in pushed
        # The tab the write came from is not sent its own change.
        await nothing_of(writer, "cards")
        # Only the hidden field changes: the editor hears nothing at all.
        await sync_to_async(update_rows)(projects, {"Id": 5, "budget": 1}, actor=owner)
        assert (await next_of(own, "cards"))["cards"][0]["id"] == "5"
        await nothing_of(ed, "cards")
        for comm in (own, ed, writer):
            await comm.disconnect()

    run(scenario)


def test_gallery_row_leaving_the_filter_is_removed_and_new_rows_placed(
    projects, owner, user, api
):
    status = fid(projects, "status")
    view = view_create(
        actor=owner,
        table=projects,
        title="Active",
        type="gallery",
        data={"where": f"({status},eq,active)", "sort": f"-{fid(projects, 'budget')}"},
    )
    rows = records.list_records(projects, {"limit": "3"}, view=view, actor=SYSTEM).rows
    top, second = rows[0], rows[1]

    async def scenario():
        page = await watch(view, user)

        def leave():
            r = api.patch(
                f"/api/v2/tables/{projects.pk}/records",
                {"Id": second["Id"], "status": "done"},
                format="json",
            )
            assert r.status_code == 200, r.content

        await sync_to_async(leave)()
        msg = await next_of(page, "cards")
        assert msg["cards"] == [] and msg["gone"] == [str(second["Id"])]
        # A new active record with the second-largest budget: placed after the top card.
        budget = float(top["budget"]) - 0.5
        (new_id,) = await sync_to_async(insert_rows)(
            projects,
            {"name": "Fresh", "status": "active", "budget": budget},
            actor=owner,
        )
        msg = await next_of(page, "cards")
        assert msg["event"] == "rows.inserted"
        (card,) = msg["cards"]
        assert card["id"] == str(new_id[0]) and card["after"] == str(top["Id"])
        # A new record the filter does not show is only "gone" (nothing to draw).
        (hidden,) = await sync_to_async(insert_rows)(
            projects, {"name": "Planned", "status": "planned"}, actor=owner
        )
        msg = await next_of(page, "cards")
        assert msg["cards"] == [] and msg["gone"] == [str(hidden[0])]
        await sync_to_async(delete_rows)(projects, {"Id": new_id[0]}, actor=owner)
        msg = await next_of(page, "cards")
        assert msg["event"] == "rows.deleted" and msg["gone"] == [str(new_id[0])]
        await page.disconnect()

    run(scenario)


def test_gallery_search_of_the_page_applies(projects, gallery, owner, user):
    async def scenario():
        page = await watch(gallery, user, q="Zebra")
        await sync_to_async(update_rows)(
            projects,
            [{"Id": 7, "name": "Zebra one"}, {"Id": 8, "name": "x"}],
            actor=owner,
        )
        msg = await next_of(page, "cards")
        assert [c["id"] for c in msg["cards"]] == ["7"] and msg["gone"] == ["8"]
        assert msg["cards"][0]["after"] is None  # the first card of that search
        await page.disconnect()

    run(scenario)


# --- kanban ----------------------------------------------------------------------------------


def test_kanban_card_moves_stack_with_counts(projects, owner, user, api):
    view = view_create(actor=owner, table=projects, title="K", type="kanban")
    row = records.get_record(projects, 9, actor=SYSTEM)
    old = row["status"]
    new = "cancelled" if old != "cancelled" else "planned"

    def count(status):
        return records.count_records(
            projects, {"where": f"(status,eq,{status})"}, actor=SYSTEM
        )

    before_old, before_new = count(old), count(new)

    async def scenario():
        page = await watch(view, user)

        def move():
            r = api.patch(
                f"/api/v2/tables/{projects.pk}/records",
                {"Id": 9, "status": new},
                format="json",
            )
            assert r.status_code == 200, r.content

        await sync_to_async(move)()
        msg = await next_of(page, "cards")
        (card,) = msg["cards"]
        assert card["id"] == "9" and card["stack"] == new
        assert 'data-id="9"' in card["html"] and 'draggable="true"' in card["html"]
        # The stack's first page, in its order: the card goes after the one before it.
        first = await sync_to_async(records.list_records)(
            projects,
            {"where": f"(status,eq,{new})", "limit": "25"},
            view=view,
            actor=SYSTEM,
        )
        ids = [str(r["Id"]) for r in first]
        i = ids.index("9")
        assert card["after"] == (ids[i - 1] if i else None)
        assert msg["counts"][old] == {"count": before_old - 1, "estimated": False}
        assert msg["counts"][new] == {"count": before_new + 1, "estimated": False}
        await page.disconnect()

    run(scenario)


def test_kanban_drag_order_is_sent_not_a_view_change(projects, owner, user, web):
    view = view_create(actor=owner, table=projects, title="K", type="kanban")
    stack = records.get_record(projects, 3, actor=SYSTEM)["status"]

    async def scenario():
        page = await watch(view, user, "other-tab")

        def drag():
            r = web.post(
                f"/bases/{projects.base_id}/views/{view.pk}/move",
                {"record": 3, "stack": stack, "order": ["3", "1"]},
            )
            assert r.status_code == 200, r.content

        await sync_to_async(drag)()
        msg = await next_of(page, "cards.ordered")
        assert msg["view"] == view.pk and msg["orders"] == {stack: ["3", "1"]}
        await nothing_of(page, "view.changed")
        await page.disconnect()

    run(scenario)


def test_kanban_by_a_formula_moves_a_card_when_its_inputs_change(
    projects, owner, user, api
):
    """A card of a computed stack goes where its new value puts it (without handles), with
    the counts of every value, a new one included."""
    made = api.post(
        f"/api/v2/meta/tables/{projects.pk}/columns",
        {
            "title": "Size",
            "uidt": "Formula",
            "formula_raw": 'IF({budget} > 1000000, "huge", '
            'IF({budget} > 25000, "large", "small"))',
        },
        format="json",
    )
    assert made.status_code == 201, made.content
    view = view_create(actor=owner, table=projects, title="K", type="kanban")
    from views.services import view_options_update

    view_options_update(
        actor=owner, view=view, options={"stack_field": fid(projects, "Size")}
    )
    view.refresh_from_db()
    update_rows(projects, {"Id": 9, "budget": "100"}, actor=owner)

    async def scenario():
        page = await watch(view, user)
        await sync_to_async(update_rows)(
            projects, {"Id": 9, "budget": "60000"}, actor=owner
        )
        msg = await next_of(page, "cards")
        (card,) = msg["cards"]
        assert card["id"] == "9" and card["stack"] == "large"
        assert 'data-id="9"' in card["html"] and "draggable" not in card["html"]
        assert set(msg["counts"]) == {"large", "small"}
        await sync_to_async(update_rows)(
            projects, {"Id": 9, "budget": "2000000"}, actor=owner
        )
        msg = await next_of(page, "cards")
        # A stack the page does not have yet: its script offers a refresh (live.js).
        assert [c["stack"] for c in msg["cards"]] == ["huge"]
        assert msg["counts"]["huge"] == {"count": 1, "estimated": False}
        await page.disconnect()

    run(scenario)


# --- calendar --------------------------------------------------------------------------------


def test_calendar_chip_moves_day_and_to_the_undated_list(projects, owner, user):
    view = view_create(actor=owner, table=projects, title="C", type="calendar")

    async def scenario():
        page = await watch(view, user)
        await sync_to_async(update_rows)(
            projects, {"Id": 11, "due date": "2026-12-24", "name": "Xmas"}, actor=owner
        )
        msg = await next_of(page, "cards")
        (chip,) = msg["chips"]
        assert chip["id"] == "11" and chip["days"] == ["2026-12-24"]
        assert chip["sort"] == "2026-12-24"
        assert 'class="chip cal-chip"' in chip["html"] and "Xmas" in chip["html"]
        await sync_to_async(update_rows)(
            projects, {"Id": 11, "due date": None}, actor=owner
        )
        msg = await next_of(page, "cards")
        assert msg["chips"][0]["days"] == []  # the "no date" list
        await page.disconnect()

    run(scenario)


def test_calendar_by_a_formula_date_moves_its_chip_live(projects, owner, user, api):
    made = api.post(
        f"/api/v2/meta/tables/{projects.pk}/columns",
        {
            "title": "Review",
            "uidt": "Formula",
            "formula_raw": 'DATEADD({due date}, 7, "day")',
        },
        format="json",
    )
    assert made.status_code == 201, made.content
    view = view_create(actor=owner, table=projects, title="C", type="calendar")
    from views.services import view_options_update

    view_options_update(
        actor=owner, view=view, options={"date_field": fid(projects, "Review")}
    )
    view.refresh_from_db()

    async def scenario():
        page = await watch(view, user)
        await sync_to_async(update_rows)(
            projects, {"Id": 11, "due date": "2026-12-24"}, actor=owner
        )
        msg = await next_of(page, "cards")
        (chip,) = msg["chips"]
        assert chip["id"] == "11" and chip["days"] == ["2026-12-31"]
        assert "draggable" not in chip["html"]
        await sync_to_async(update_rows)(
            projects, {"Id": 11, "due date": None}, actor=owner
        )
        msg = await next_of(page, "cards")
        assert msg["chips"][0]["days"] == []  # the "no date" list
        await page.disconnect()

    run(scenario)


def test_grid_pages_still_get_row_messages(projects, owner, user):
    from views.services import default_view

    grid = default_view(projects)

    async def scenario():
        page = await watch(grid, user)  # a grid view: re-fetches its rows itself
        await sync_to_async(update_rows)(projects, {"Id": 2, "name": "g"}, actor=owner)
        assert (await next_of(page, "rows.updated"))["ids"] == ["2"]
        await nothing_of(page, "cards")
        await page.disconnect()

    run(scenario)


# --- shared-view visitors --------------------------------------------------------------------


@pytest.fixture
def shared(projects, owner):
    """A shared grid of active projects that hides the budget."""
    cache.clear()
    view = view_create(actor=owner, table=projects, title="Public", type="grid")
    view_update(
        actor=owner,
        view=view,
        data={
            "where": f"({fid(projects, 'status')},eq,active)",
            "hidden_fields": [fid(projects, "budget")],
        },
    )
    return shares.share_enable(actor=owner, view=view)


async def visit(share, query="", cookies=None):
    comm = WebsocketCommunicator(router, f"/s/{share.token}/ws?client=v{query}")
    comm.scope["cookies"] = cookies or {}
    ok, code = await comm.connect()
    return comm, ok, code


def active_id(projects):
    return records.list_records(
        projects, {"where": "(status,eq,active)", "limit": "1"}, actor=SYSTEM
    ).rows[0]["Id"]


def test_visitor_gets_filtered_rows_without_hidden_fields(projects, shared, owner):
    rid = active_id(projects)
    budget = fid(projects, "budget")

    async def scenario():
        comm, ok, _ = await visit(shared)
        assert ok
        assert await comm.receive_json_from(timeout=2) == {"type": "hello"}
        await sync_to_async(update_rows)(
            projects, {"Id": rid, "name": "Public name", "budget": 987654}, actor=owner
        )
        msg = await next_of(comm, "shared.rows")
        (row,) = msg["rows"]
        key = shares.row_key(shared, str(rid))
        assert row["key"] == key and key != str(rid)
        assert row["html"].startswith(f'<tr data-key="{key}">')
        assert "Public name" in row["html"]
        pushed = json.dumps(msg)
        assert "987654" not in pushed and "987,654" not in pushed
        assert budget not in pushed
        # An edit of the hidden field alone is not sent at all.
        await sync_to_async(update_rows)(
            projects, {"Id": rid, "budget": 5}, actor=owner
        )
        await nothing_of(comm, "shared.rows")
        # A row leaving the view's filter is removed; a row outside it is never drawn.
        await sync_to_async(update_rows)(
            projects, {"Id": rid, "status": "done"}, actor=owner
        )
        msg = await next_of(comm, "shared.rows")
        assert msg["rows"] == [] and msg["gone"] == [key]
        # No presence: members do not see visitors, visitors do not see members.
        member = WebsocketCommunicator(router, f"/ws/tables/{projects.pk}/?client=m")
        member.scope["user"] = owner.user
        assert (await member.connect())[0]
        await member.receive_json_from(timeout=2)  # hello
        await nothing_of(member, "presence")
        await nothing_of(comm, "presence")
        await member.disconnect()
        await comm.disconnect()

    run(scenario)


def test_visitor_params_narrow_and_cannot_reach_hidden_fields(projects, shared, owner):
    rid = active_id(projects)
    budget = fid(projects, "budget")

    async def scenario():
        # A search the row does not match: its change is "gone" for this visitor.
        comm, ok, _ = await visit(shared, "&q=nothing-matches-this")
        assert ok
        await comm.receive_json_from(timeout=2)
        await sync_to_async(update_rows)(
            projects, {"Id": rid, "name": "Changed"}, actor=owner
        )
        assert (await next_of(comm, "shared.rows"))["rows"] == []
        await comm.disconnect()
        # A filter on the hidden field is ignored, as on the page (no oracle on it).
        comm, ok, _ = await visit(shared, f"&ff={budget}&fo=eq&fv=-1")
        assert ok
        await comm.receive_json_from(timeout=2)
        await sync_to_async(update_rows)(
            projects, {"Id": rid, "name": "Again"}, actor=owner
        )
        assert len((await next_of(comm, "shared.rows"))["rows"]) == 1
        await comm.disconnect()

    run(scenario)


def test_revoked_or_regenerated_share_stops_at_once(projects, shared, owner):
    rid = active_id(projects)

    async def scenario():
        for action in (shares.share_regenerate, shares.share_revoke):
            share = await sync_to_async(shares.share_enable)(
                actor=owner, view=shared.view
            )
            comm, ok, _ = await visit(share)
            assert ok
            await comm.receive_json_from(timeout=2)
            await sync_to_async(action)(actor=owner, share=share)
            assert (await next_of(comm, "share.revoked")) == {"type": "share.revoked"}
            closed = await comm.receive_output(timeout=2)
            assert closed == {"type": "websocket.close", "code": 4404}
            await sync_to_async(update_rows)(
                projects, {"Id": rid, "name": f"after {action.__name__}"}, actor=owner
            )
            assert await comm.receive_nothing(timeout=0.3)
        # A revoked link cannot connect again.
        comm, ok, code = await visit(shared)
        assert not ok and code == 4404

    run(scenario)


def test_password_share_needs_the_cookie(projects, shared, owner, settings):
    from nocoplatform.asgi import application

    shares.share_update(actor=owner, share=shared, password="open sesame")
    rid = active_id(projects)
    anon = Client()
    r = anon.post(f"/s/{shared.token}/", {"password": "open sesame"})
    assert r.status_code == 302
    cookie = shares.cookie_name(shared)
    signed = anon.cookies[cookie].value

    async def connect(cookies: str):
        comm = WebsocketCommunicator(
            application,
            f"/s/{shared.token}/ws?client=pw",
            headers=[
                (b"cookie", cookies.encode()),
                (b"host", b"testserver"),
                (b"origin", b"http://testserver"),
            ],
        )
        return comm, *(await comm.connect())

    async def scenario():
        _, ok, code = await connect("")
        assert not ok and code == 4404
        _, ok, code = await connect(f"{cookie}=forged")
        assert not ok and code == 4404
        comm, ok, _ = await connect(f"{cookie}={signed}")
        assert ok
        await comm.receive_json_from(timeout=2)
        await sync_to_async(update_rows)(
            projects, {"Id": rid, "name": "Behind a password"}, actor=owner
        )
        msg = await next_of(comm, "shared.rows")
        assert "Behind a password" in msg["rows"][0]["html"]
        # A new password signs the visitor out: the socket closes.
        await sync_to_async(shares.share_update)(
            actor=owner, share=shared, password="another one"
        )
        await next_of(comm, "share.revoked")
        await comm.receive_output(timeout=2)

    run(scenario)


def test_shared_page_rows_carry_keys_not_ids(projects, shared):
    html = Client().get(f"/s/{shared.token}/").content.decode()
    rid = active_id(projects)
    assert f'<tr data-key="{shares.row_key(shared, str(rid))}">' in html
    assert '"ws": "/s/' in html and "js/realtime.js" in html
