"""Live cards in real browsers against the real server (uvicorn): a kanban page in browser B
follows changes made through the API and the grid in A — a card moves to its new stack within
a second, its title changes in place, a new record appears, a deleted one goes — and an
anonymous visitor of a shared view sees its rows change and leave the view's filter.

A base made for this test (`Live cards`) keeps the other browser tests' data as they expect.
"""

import json
import time

import pytest

from tests.browser.conftest import shot
from tests.browser.test_realtime import login

pytestmark = pytest.mark.browser

SETUP = """
import datetime as dt, json
from django.contrib.auth import get_user_model
from bases import records, schema_services, services
from bases.models import Base
from permissions.checks import Actor
from permissions.models import ApiToken, Membership
from permissions.services import api_token_create, membership_create
from views import shares
from views.services import default_view, view_create, view_update
User = get_user_model()
admin = User.objects.get(email="admin@example.com")
actor = Actor(user=admin)
bob = User.objects.filter(email="bob.live@example.com").first()
if bob is None:
    bob = User.objects.create_user(username="bob.live@example.com", email="bob.live@example.com",
                                   password="bob-pass-12345", first_name="Bob", last_name="Live")
base = Base.objects.filter(title="Live cards").first()
if base is None:
    base = services.base_create(actor=actor, title="Live cards")
    t = schema_services.table_create(actor=actor, base=base, title="jobs", columns=[
        {"title": "name", "uidt": "SingleLineText"},
        {"title": "stage", "uidt": "SingleSelect", "choices": ["todo", "doing", "done"]},
        {"title": "secret", "uidt": "SingleLineText"},
        {"title": "due", "uidt": "Date"},
    ])
    first = dt.date.today().replace(day=1)
    records.insert_many(t, [{"name": f"Job {i}", "stage": ["todo", "doing", "done"][i % 3],
                             "secret": f"hush {i}", "due": (first + dt.timedelta(days=i)).isoformat()}
                            for i in range(1, 10)])
    default_view(t)
    k = view_create(actor=actor, table=t, title="Board", type="kanban")
    k.hidden_fields = [t.fields.get(title="secret").pk]
    k.save()
    g = view_create(actor=actor, table=t, title="Cards", type="gallery")
    g.hidden_fields = [t.fields.get(title="secret").pk]
    g.save()
    view_create(actor=actor, table=t, title="Days", type="calendar")
    s = view_create(actor=actor, table=t, title="Open jobs", type="grid")
    view_update(actor=actor, view=s, data={
        "where": f"({t.fields.get(title='stage').pk},neq,done)",
        "hidden_fields": [t.fields.get(title="secret").pk]})
    shares.share_enable(actor=actor, view=s)
if not Membership.objects.filter(base=base, user=bob).exists():
    membership_create(base=base, user=bob, role="editor")
t = base.tables.get(title="jobs")
ApiToken.objects.filter(user=admin, name="live cards").delete()
_, token = api_token_create(user=admin, name="live cards")
print(json.dumps({"base": base.pk, "table": t.pk, "kanban": t.views.get(type="kanban").pk,
                  "gallery": t.views.get(type="gallery").pk,
                  "calendar": t.views.get(type="calendar").pk,
                  "share": t.views.get(title="Open jobs").share.token, "token": token,
                  "stage": t.fields.get(title="stage").pk}))
"""


@pytest.fixture(scope="module")
def ids(live_server_url):
    return json.loads(live_server_url.manage("shell", "-c", SETUP).splitlines()[-1])


def api(ctx, url, ids, method, body):
    response = ctx.request.fetch(
        f"{url}/api/v2/tables/{ids['table']}/records",
        method=method,
        headers={"xc-token": ids["token"], "Content-Type": "application/json"},
        data=json.dumps(body),
    )
    assert response.ok, response.text()
    return response.json()


def card(stage: str, name: str) -> str:
    return f'.stack[data-stack="{stage}"] .vcard:has(.vcard-title:text-is("{name}"))'


def count(page, stage: str) -> str:
    return page.inner_text(f'.stack[data-stack="{stage}"] .stack-count').strip()


def test_kanban_follows_api_and_grid_changes_live(browser, live_server_url, ids):
    url = live_server_url
    ctx_a = browser.new_context(viewport={"width": 1200, "height": 700})
    ctx_b = browser.new_context(viewport={"width": 1440, "height": 800})
    a, b = ctx_a.new_page(), ctx_b.new_page()
    try:
        login(a, url, "admin@example.com", "browser-pass-123")
        login(b, url, "bob.live@example.com", "bob-pass-12345")
        b.goto(
            f"{url}/bases/{ids['base']}/tables/{ids['table']}/views/{ids['kanban']}/"
        )
        b.wait_for_selector(".kanban .vcard")
        b.wait_for_function("document.documentElement.dataset.realtime === 'open'")
        assert b.locator(card("todo", "Job 3")).count() == 1
        todo, done = int(count(b, "todo")), int(count(b, "done"))
        shot(b, "live-kanban-before")

        # A changes Job 3's stage through the API: B's card moves stack within a second.
        t0 = time.monotonic()
        api(ctx_a, url, ids, "PATCH", {"Id": 3, "stage": "done"})
        b.wait_for_selector(card("done", "Job 3"), timeout=1000)
        assert time.monotonic() - t0 < 1.0
        assert b.locator(card("todo", "Job 3")).count() == 0
        assert b.locator(f"{card('done', 'Job 3')}.rt-flash").count() == 1
        b.wait_for_function(
            "([t, d]) => document.querySelector('.stack[data-stack=\"todo\"] .stack-count')"
            ".textContent.trim() === t && document.querySelector("
            "'.stack[data-stack=\"done\"] .stack-count').textContent.trim() === d",
            arg=[str(todo - 1), str(done + 1)],
            timeout=1000,
        )
        # Where a reload puts it (the view's order: by Id).
        done_ids = b.eval_on_selector_all(
            '.stack[data-stack="done"] .vcard',
            "els => els.map(e => Number(e.dataset.id))",
        )
        assert done_ids == sorted(done_ids) and 3 in done_ids
        assert "hush" not in b.inner_text(".kanban")
        assert b.locator("#rt-notice").count() == 0  # no refresh offered: it just moved
        shot(b, "live-kanban-card-moved")

        # A renames it in the grid: B's card title changes in place.
        a.goto(f"{url}/bases/{ids['base']}/tables/{ids['table']}/")
        a.wait_for_selector("#grid tr.grid-row")
        a.wait_for_function("window.grid && window.grid.store")
        name = a.evaluate("window.grid.columns.find(c => c.title === 'name').id")
        a.click(f'#grid tr.grid-row[data-id="3"] td[data-f="{name}"]')
        a.keyboard.type("Job 3 renamed")
        a.keyboard.press("Enter")
        b.wait_for_selector(card("done", "Job 3 renamed"), timeout=2000)

        # A new record appears in its stack; a deleted one disappears.
        (new,) = api(ctx_a, url, ids, "POST", [{"name": "Job new", "stage": "doing"}])
        b.wait_for_selector(card("doing", "Job new"), timeout=2000)
        api(ctx_a, url, ids, "DELETE", {"Id": new["Id"]})
        b.wait_for_selector(card("doing", "Job new"), state="detached", timeout=2000)
        assert b.locator("#rt-notice").count() == 0
        shot(b, "live-kanban-after")
    finally:
        ctx_a.close()
        ctx_b.close()


def test_shared_view_visitor_sees_rows_change(browser, live_server_url, ids):
    url = live_server_url
    ctx_a = browser.new_context()
    ctx_v = browser.new_context(viewport={"width": 1000, "height": 700})
    visitor = ctx_v.new_page()
    try:
        visitor.goto(f"{url}/s/{ids['share']}/")
        visitor.wait_for_selector(".share-grid tbody tr[data-key]")
        visitor.wait_for_function(
            "document.documentElement.dataset.realtime === 'open'"
        )
        assert "hush" not in visitor.inner_text(".share-grid")
        rows = visitor.locator(".share-grid tbody tr[data-key]").count()

        # An edit shows in the visitor's table, highlighted; the hidden field never does.
        api(
            ctx_a,
            url,
            ids,
            "PATCH",
            {"Id": 1, "name": "Job 1 (edited)", "secret": "zz"},
        )
        visitor.wait_for_selector(
            '.share-grid tr.rt-flash:has-text("Job 1 (edited)")', timeout=1000
        )
        assert "zz" not in visitor.inner_text(".share-grid")
        shot(visitor, "live-shared-view-edit")

        # The row leaves the view's filter (stage done): it goes from the visitor's page.
        api(ctx_a, url, ids, "PATCH", {"Id": 1, "stage": "done"})
        visitor.wait_for_selector(
            '.share-grid tr:has-text("Job 1 (edited)")', state="detached", timeout=1000
        )
        assert visitor.locator(".share-grid tbody tr[data-key]").count() == rows - 1
        visitor.wait_for_selector(f"#share-total:text-is('{rows - 1} rows')")
        # And comes back, in its place (the first row: the view's order is by Id).
        api(ctx_a, url, ids, "PATCH", {"Id": 1, "stage": "todo"})
        visitor.wait_for_selector(
            '.share-grid tbody tr:first-child:has-text("Job 1 (edited)")', timeout=1000
        )
        shot(visitor, "live-shared-view-back")
    finally:
        ctx_a.close()
        ctx_v.close()


def test_gallery_and_calendar_follow_api_changes(browser, live_server_url, ids):
    url = live_server_url
    ctx_a = browser.new_context()
    ctx_b = browser.new_context(viewport={"width": 1200, "height": 800})
    b = ctx_b.new_page()
    try:
        login(b, url, "bob.live@example.com", "bob-pass-12345")
        base = f"{url}/bases/{ids['base']}/tables/{ids['table']}/views"

        # Gallery: an edit updates the card in place; a new record appears after the card
        # before it in the view's order (by Id: at the end); a deleted one goes.
        b.goto(f"{base}/{ids['gallery']}/")
        b.wait_for_selector("#gallery .vcard")
        b.wait_for_function("document.documentElement.dataset.realtime === 'open'")
        total = b.locator("#gallery .vcard").count()
        api(
            ctx_a,
            url,
            ids,
            "PATCH",
            {"Id": 5, "name": "Job 5 in place", "secret": "zz"},
        )
        b.wait_for_selector(
            '#gallery .vcard[data-id="5"].rt-flash:has-text("Job 5 in place")',
            timeout=1000,
        )
        assert "zz" not in b.inner_text("#gallery")
        (new,) = api(
            ctx_a, url, ids, "POST", [{"name": "Job gallery", "stage": "todo"}]
        )
        b.wait_for_selector(
            f'#gallery .vcard:last-of-type[data-id="{new["Id"]}"]', timeout=1000
        )
        b.wait_for_selector(f"#view-total:text-is('{total + 1} records')")
        shot(b, "live-gallery")
        api(ctx_a, url, ids, "DELETE", {"Id": new["Id"]})
        b.wait_for_selector(
            f'#gallery .vcard[data-id="{new["Id"]}"]', state="detached", timeout=1000
        )

        # Calendar: a chip moves to its new day; without a date it joins the undated list.
        b.goto(f"{base}/{ids['calendar']}/")
        b.wait_for_selector("#calendar .cal-chip")
        b.wait_for_function("document.documentElement.dataset.realtime === 'open'")
        day = b.evaluate(
            "document.querySelector('.cal-chip[data-id=\"6\"]').closest('.cal-day')"
            ".dataset.date"
        )
        target = b.evaluate(
            "d => { const days = [...document.querySelectorAll('.cal-day')]"
            ".map(e => e.dataset.date); return days[days.indexOf(d) + 2]; }",
            day,
        )
        api(ctx_a, url, ids, "PATCH", {"Id": 6, "due": target})
        b.wait_for_selector(
            f'.cal-day[data-date="{target}"] .cal-chip[data-id="6"]', timeout=1000
        )
        assert (
            b.locator(f'.cal-day[data-date="{day}"] .cal-chip[data-id="6"]').count()
            == 0
        )
        shot(b, "live-calendar-moved")
        api(ctx_a, url, ids, "PATCH", {"Id": 6, "due": None})
        b.wait_for_selector('.undated-list .cal-chip[data-id="6"]', timeout=1000)
        assert b.locator('#calendar .cal-chip[data-id="6"]').count() == 0
        b.wait_for_selector("#undated-count:text-is('1')")
        shot(b, "live-calendar-undated")
        assert b.locator("#rt-notice").count() == 0
    finally:
        ctx_a.close()
        ctx_b.close()
