"""Two people on one table, in two real browsers (contexts) against the real server (uvicorn):
an edit in one page appears in the other within a second, a new row appears, a deleted row
disappears, and each sees the other's avatar and the outline of the cell the other is on.

A base made for this test (`Realtime`) keeps the demo base as other browser tests expect it.
"""

import json
import time

import pytest

from tests.browser.conftest import shot

pytestmark = pytest.mark.browser

SETUP = """
import json
from django.contrib.auth import get_user_model
from bases import records, schema_services, services
from bases.models import Base
from permissions.checks import Actor
from permissions.models import Membership
from permissions.services import membership_create
User = get_user_model()
admin = User.objects.get(email="admin@example.com")
actor = Actor(user=admin)
bob = User.objects.filter(email="bob.rt@example.com").first()
if bob is None:
    bob = User.objects.create_user(username="bob.rt@example.com", email="bob.rt@example.com",
                                   password="bob-pass-12345", first_name="Bob", last_name="Jones")
base = Base.objects.filter(title="Realtime").first()
if base is None:
    base = services.base_create(actor=actor, title="Realtime")
    t = schema_services.table_create(actor=actor, base=base, title="tasks", columns=[
        {"title": "name", "uidt": "SingleLineText"},
        {"title": "status", "uidt": "SingleSelect", "choices": ["todo", "done"]},
    ])
    records.insert_many(t, [{"name": f"Task {i}", "status": "todo"} for i in range(1, 6)])
if not Membership.objects.filter(base=base, user=bob).exists():
    membership_create(base=base, user=bob, role="editor")
print(json.dumps({"base": base.pk, "table": base.tables.get(title="tasks").pk}))
"""


@pytest.fixture(scope="module")
def ids(live_server_url):
    return json.loads(live_server_url.manage("shell", "-c", SETUP).splitlines()[-1])


def login(page, url, email, password):
    page.goto(url + "/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")


def open_table(page, url, ids):
    page.goto(f"{url}/bases/{ids['base']}/tables/{ids['table']}/")
    page.wait_for_selector("#grid tr.grid-row")
    page.wait_for_function(
        "window.grid && window.grid.store && document.documentElement.dataset.realtime === 'open'"
    )


def name_field(page) -> str:
    return page.evaluate("window.grid.columns.find(c => c.title === 'name').id")


def row_ids(page) -> list[str]:
    return page.evaluate(
        "Array.from(document.querySelectorAll('#grid tr.grid-row[data-id]')).map(tr => tr.dataset.id)"
    )


def test_two_people_see_each_other_live(browser, live_server_url, ids):
    url = live_server_url
    ctx_a = browser.new_context(viewport={"width": 1200, "height": 700})
    ctx_b = browser.new_context(viewport={"width": 1200, "height": 700})
    a, b = ctx_a.new_page(), ctx_b.new_page()
    try:
        login(a, url, "admin@example.com", "browser-pass-123")
        login(b, url, "bob.rt@example.com", "bob-pass-12345")
        open_table(a, url, ids)
        open_table(b, url, ids)
        fid = name_field(a)

        # Presence: each sees the other's avatar.
        b.wait_for_selector("#presence .avatar", timeout=3000)
        a.wait_for_selector("#presence .avatar:has-text('BJ')", timeout=3000)

        # An edit in A shows in B within a second (and B's cell flashes).
        first = row_ids(a)[0]
        cell = f'#grid tr.grid-row[data-id="{first}"] td[data-f="{fid}"]'
        a.click(cell)
        # B sees the outline of the cell A is on.
        b.wait_for_selector(f"{cell}[data-rt]", timeout=2000)
        a.keyboard.type("Edited live")
        a.keyboard.press("Enter")
        a.wait_for_function(
            "s => { const el = document.querySelector(s); return el && !el.classList.contains('editing')"
            " && el.innerText.includes('Edited live'); }",
            arg=cell,
        )
        t0 = time.monotonic()
        b.wait_for_function(
            "s => { const el = document.querySelector(s); return el && el.innerText.includes('Edited live'); }",
            arg=cell,
            timeout=1000,
        )
        elapsed = time.monotonic() - t0
        assert elapsed < 1.0
        assert b.locator(f"{cell}.rt-flash").count() == 1
        # A is not sent its own change back (X-Client-Id): no flash, no re-fetch there.
        a.wait_for_timeout(300)
        assert a.locator(f"{cell}.rt-flash").count() == 0
        shot(b, "realtime-edit-seen-by-b")

        # A new row added in A appears in B.
        before = set(row_ids(b))
        a.click("button.grid-add")
        b.wait_for_function(
            "n => document.querySelectorAll('#grid tr.grid-row[data-id]').length === n",
            arg=len(before) + 1,
            timeout=2000,
        )
        (new_id,) = set(row_ids(b)) - before
        # B's footer counts it too.
        b.wait_for_selector(f"text={len(before) + 1} rows", timeout=3000)
        assert new_id in row_ids(a)

        # B types a name into the new row; A sees it.
        new_cell = f'#grid tr.grid-row[data-id="{new_id}"] td[data-f="{fid}"]'
        b.click(new_cell)
        b.keyboard.type("From Bob")
        b.keyboard.press("Enter")
        a.wait_for_function(
            "s => { const el = document.querySelector(s); return el && el.innerText.includes('From Bob'); }",
            arg=new_cell,
            timeout=2000,
        )
        shot(a, "realtime-row-from-b-seen-by-a")

        # A deletes it; it disappears from B.
        a.on("dialog", lambda d: d.accept())
        a.click(f'#grid tr.grid-row[data-id="{new_id}"] td.rownum')
        a.click("button.grid-delete")
        b.wait_for_function(
            'id => !document.querySelector(`#grid tr.grid-row[data-id="${id}"]`)',
            arg=new_id,
            timeout=2000,
        )
        b.wait_for_function(
            "n => document.querySelectorAll('#grid tr.grid-row[data-id]').length === n",
            arg=len(before),
            timeout=2000,
        )
        assert set(row_ids(b)) == before
        b.wait_for_selector(f"text={len(before)} rows", timeout=3000)
        shot(b, "realtime-delete-seen-by-b")

        # B drops off the network; A edits meanwhile; B reconnects and catches up.
        b.evaluate("window.realtime.pause()")
        b.wait_for_function("document.documentElement.dataset.realtime === 'closed'")
        second = row_ids(a)[1]
        cell2 = f'#grid tr.grid-row[data-id="{second}"] td[data-f="{fid}"]'
        a.click(cell2)
        a.keyboard.type("While B was away")
        a.keyboard.press("Enter")
        a.wait_for_function(
            "s => { const el = document.querySelector(s); return el && !el.classList.contains('editing')"
            " && el.innerText.includes('While B was away'); }",
            arg=cell2,
        )
        b.wait_for_timeout(500)
        assert "While B was away" not in b.inner_text(cell2)
        b.evaluate("window.realtime.resume()")
        b.wait_for_function(
            "s => { const el = document.querySelector(s); return el && el.innerText.includes('While B was away'); }",
            arg=cell2,
            timeout=3000,
        )

        # B leaves: A's avatar goes.
        b.close()
        a.wait_for_function(
            "!document.querySelector('#presence .avatar')", timeout=3000
        )
    finally:
        ctx_a.close()
        ctx_b.close()


CROWD = """
import json
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from bases.models import Base
from permissions.models import Membership
from permissions.services import membership_create
User = get_user_model()
base = Base.objects.get(title="Realtime")
sessions = []
for i in range(30):
    email = f"crowd{i}.rt@example.com"
    user = User.objects.filter(email=email).first() or User.objects.create_user(
        username=email, email=email, password="crowd-pass-12345",
        first_name=f"Crowd{i}", last_name="Person")
    if not Membership.objects.filter(base=base, user=user).exists():
        membership_create(base=base, user=user, role="viewer")
    s = SessionStore()
    s["_auth_user_id"] = str(user.pk)
    s["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    s["_auth_user_hash"] = user.get_session_auth_hash()
    s.create()
    sessions.append(s.session_key)
print(json.dumps(sessions))
"""


def test_a_crowd_shows_eight_avatars_and_a_count(browser, live_server_url, ids):
    """30 other people on the table: 8 avatars and "+22" (the server names the first 25 and
    counts everyone; the page shows 8 of those it knows by name)."""
    from websockets.sync.client import connect

    url = live_server_url
    sessions = json.loads(live_server_url.manage("shell", "-c", CROWD).splitlines()[-1])
    ctx = browser.new_context(viewport={"width": 1200, "height": 700})
    page = ctx.new_page()
    host = url.split("://", 1)[1]
    sockets = []
    try:
        login(page, url, "admin@example.com", "browser-pass-123")
        open_table(page, url, ids)
        for i, key in enumerate(sessions):
            ws = connect(
                f"ws://{host}/ws/tables/{ids['table']}/?client=crowd{i}",
                additional_headers={"Cookie": f"sessionid={key}", "Origin": url},
                open_timeout=10,
                max_queue=None,  # unread presence messages must not stop its reads
            )
            assert json.loads(ws.recv(timeout=10))["type"] == "hello"
            sockets.append(ws)
        page.wait_for_selector("#presence .avatar-more:has-text('+22')", timeout=5000)
        assert page.locator("#presence .avatar:not(.avatar-more)").count() == 8
        shot(page, "realtime-crowd")
        for ws in sockets[:10]:
            ws.close()
        page.wait_for_selector("#presence .avatar-more:has-text('+12')", timeout=5000)
        assert page.locator("#presence .avatar:not(.avatar-more)").count() == 8
    finally:
        for ws in sockets:
            ws.close()
        ctx.close()


def test_an_open_editor_survives_a_row_added_by_someone_else(
    browser, live_server_url, ids
):
    """B is typing in a cell when A adds a row: B's page re-fetches its rows (the new one lands
    where the sort puts it) but keeps the row being edited, editor and typed text included."""
    url = live_server_url
    ctx_a = browser.new_context(viewport={"width": 1200, "height": 700})
    ctx_b = browser.new_context(viewport={"width": 1200, "height": 700})
    a, b = ctx_a.new_page(), ctx_b.new_page()
    try:
        login(a, url, "admin@example.com", "browser-pass-123")
        login(b, url, "bob.rt@example.com", "bob-pass-12345")
        open_table(a, url, ids)
        open_table(b, url, ids)
        fid = name_field(b)
        target = row_ids(b)[1]
        cell = f'#grid tr.grid-row[data-id="{target}"] td[data-f="{fid}"]'
        b.click(cell)
        b.keyboard.press("Enter")
        b.wait_for_selector(f"{cell}.editing")
        b.keyboard.type(" still typing")
        before = len(row_ids(b))
        a.click("button.grid-add")
        b.wait_for_function(
            "n => document.querySelectorAll('#grid tr.grid-row[data-id]').length === n",
            arg=before + 1,
            timeout=3000,
        )
        assert b.locator(f"{cell}.editing").count() == 1
        b.keyboard.press("Enter")
        a.wait_for_function(
            "s => { const el = document.querySelector(s); return el && el.innerText.includes('still typing'); }",
            arg=cell,
            timeout=3000,
        )
        shot(b, "realtime-editor-kept")
    finally:
        ctx_a.close()
        ctx_b.close()
