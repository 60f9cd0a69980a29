"""A kanban stacked by a formula and a calendar dated by a formula, in a real browser: the
stacks are the formula's values, the chips sit a week after their day, and nothing offers to
drag (a computed value moves when what it is computed from changes, in the grid)."""

import datetime as dt
import json

import pytest

from tests.browser.conftest import shot
from tests.browser.test_first_visit import login

pytestmark = pytest.mark.browser

SETUP = """
import datetime as dt, json
from django.contrib.auth import get_user_model
from bases import records, schema_services, services
from bases.models import Base
from permissions.checks import Actor
from views.services import default_view, view_create, view_options_update
actor = Actor(user=get_user_model().objects.get(email="admin@example.com"))
base = Base.objects.filter(title="Computed views").first()
if base is None:
    base = services.base_create(actor=actor, title="Computed views")
    t = schema_services.table_create(actor=actor, base=base, title="jobs", columns=[
        {"title": "name", "uidt": "SingleLineText"},
        {"title": "hours", "uidt": "Number"},
        {"title": "start", "uidt": "Date"},
    ])
    first = dt.date.today().replace(day=1)
    records.insert_many(t, [
        {"name": f"Job {i}", "hours": None if i == 9 else i * 5,
         "start": (first + dt.timedelta(days=i)).isoformat() if i != 8 else None}
        for i in range(1, 10)
    ])
    for title, formula in (
        ("Size", 'IF({hours} >= 30, "Large", IF({hours} >= 15, "Medium", "Small"))'),
        ("Follow-up", 'DATEADD({start}, 7, "day")'),
        ("Initial", "UPPER(LEFT({name}, 1))"),
    ):
        schema_services.field_create(actor=actor, table=t, data={
            "title": title, "uidt": "Formula", "formula_raw": formula})
    default_view(t)
    k = view_create(actor=actor, table=t, title="By size", type="kanban")
    view_options_update(actor=actor, view=k, options={
        "stack_field": t.fields.get(title="Size").pk})
    i = view_create(actor=actor, table=t, title="By initial", type="kanban")
    view_options_update(actor=actor, view=i, options={
        "stack_field": t.fields.get(title="Initial").pk})
    c = view_create(actor=actor, table=t, title="Follow-ups", type="calendar")
    view_options_update(actor=actor, view=c, options={
        "date_field": t.fields.get(title="Follow-up").pk})
t = base.tables.get(title="jobs")
from permissions.models import ApiToken
from permissions.services import api_token_create
ApiToken.objects.filter(user=actor.user, name="computed views").delete()
_, token = api_token_create(user=actor.user, name="computed views")
print(json.dumps({"base": base.pk, "table": t.pk, "token": token,
                  "kanban": t.views.get(title="By size").pk,
                  "initials": t.views.get(title="By initial").pk,
                  "calendar": t.views.get(type="calendar").pk}))
"""


@pytest.fixture(scope="module")
def ids(live_server_url):
    out = live_server_url.manage("shell", "-c", SETUP)
    return json.loads(out.splitlines()[-1])


def open_view(page, url, ids, kind, query=""):
    login(page, url)
    page.goto(
        f"{url}/bases/{ids['base']}/tables/{ids['table']}/views/{ids[kind]}/{query}"
    )


def titles(page, selector):
    return sorted(t.strip() for t in page.locator(selector).all_inner_texts())


def test_kanban_stacked_by_a_formula(page, live_server_url, ids):
    open_view(page, live_server_url, ids, "kanban")
    page.wait_for_selector(".kanban .vcard")
    stacks = page.locator(".kanban .stack").evaluate_all(
        "ss => ss.map(s => s.dataset.stack)"
    )
    assert stacks == ["", "Large", "Medium", "Small"]
    assert titles(page, '.stack[data-stack="Large"] .vcard-title') == [
        "Job 6",
        "Job 7",
        "Job 8",
    ]
    assert titles(page, '.stack[data-stack="Medium"] .vcard-title') == [
        "Job 3",
        "Job 4",
        "Job 5",
    ]
    assert titles(page, '.stack[data-stack="Small"] .vcard-title') == [
        "Job 1",
        "Job 2",
        "Job 9",  # no hours: IF's condition is not true, so "Small"
    ]
    assert page.locator('.stack[data-stack="Large"] .stack-count').inner_text() == "3"
    # Nothing to drag, nothing to add; the bar says why.
    assert page.locator(".vcard[draggable=true]").count() == 0
    assert page.locator(".stack-add").count() == 0
    assert page.locator(".kb-hint").count() == 0
    assert "computed" in page.locator(".computed-stacks").inner_text()
    shot(page, "view-kanban-by-formula")
    # A drag attempt sends nothing and changes nothing.
    sent = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/move") else 0)
    page.locator(".vcard", has_text="Job 3").first.drag_to(
        page.locator('.stack[data-stack="Large"] .stack-cards')
    )
    page.locator(".vcard", has_text="Job 3").first.focus()
    page.keyboard.press("m")
    page.wait_for_timeout(300)
    assert sent == []
    assert page.locator(".move-menu:visible").count() == 0
    page.reload()
    page.wait_for_selector(".kanban .vcard")
    assert (
        page.locator('.stack[data-stack="Medium"] .vcard', has_text="Job 3").count()
        == 1
    )


def test_calendar_dated_by_a_formula(page, live_server_url, ids):
    first = dt.date.today().replace(day=1)
    open_view(page, live_server_url, ids, "calendar", f"?date={first.isoformat()}")
    page.wait_for_selector(".calendar .cal-chip")
    for i in (1, 4, 7):
        day = (first + dt.timedelta(days=i + 7)).isoformat()
        chip = page.locator(
            f'.cal-day[data-date="{day}"] .cal-chip', has_text=f"Job {i}"
        )
        assert chip.count() == 1, (i, day)
    assert (
        "Job 8" in page.locator(".cal-undated").inner_text()
    )  # no start: no follow-up
    assert page.locator(".cal-chip[draggable=true]").count() == 0
    assert page.locator(".cal-add").count() == 0
    assert "computed" in page.locator(".computed-date").inner_text()
    shot(page, "view-calendar-by-formula")


def test_formula_stacks_follow_changes_live(browser, live_server_url, ids):
    """Another tab changes what a formula reads: the card moves to its new value's stack;
    a value the page has no stack for yet offers a refresh, which shows that stack."""
    from tests.browser.test_realtime import login as login_as

    url = live_server_url
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    page = ctx.new_page()
    try:
        login_as(page, url, "admin@example.com", "browser-pass-123")
        page.goto(
            f"{url}/bases/{ids['base']}/tables/{ids['table']}/views/{ids['kanban']}/"
        )
        page.wait_for_selector(".kanban .vcard")
        page.wait_for_function("document.documentElement.dataset.realtime === 'open'")

        def patch(body):
            r = ctx.request.fetch(
                f"{url}/api/v2/tables/{ids['table']}/records",
                method="PATCH",
                headers={"xc-token": ids["token"], "Content-Type": "application/json"},
                data=json.dumps(body),
            )
            assert r.ok, r.text()

        large = '.stack[data-stack="Large"] .vcard:has-text("Job 1")'
        patch({"Id": 1, "hours": 50})  # Small -> Large
        page.wait_for_selector(large, timeout=2000)
        assert (
            page.locator('.stack[data-stack="Small"] .vcard:has-text("Job 1")').count()
            == 0
        )
        assert page.locator(f"{large}[draggable=true]").count() == 0
        assert page.locator("#rt-notice").count() == 0
        shot(page, "view-kanban-by-formula-live")
        patch({"Id": 1, "hours": 5})

        page.goto(
            f"{url}/bases/{ids['base']}/tables/{ids['table']}/views/{ids['initials']}/"
        )
        page.wait_for_selector(".kanban .vcard")
        page.wait_for_function("document.documentElement.dataset.realtime === 'open'")
        assert page.locator('.stack[data-stack="Z"]').count() == 0
        patch({"Id": 2, "name": "Zed 2"})  # "J" -> "Z": a stack this page lacks
        page.wait_for_selector("#rt-notice", timeout=2000)
        shot(page, "view-kanban-by-formula-new-value")
        page.reload()
        page.wait_for_selector('.stack[data-stack="Z"] .vcard:has-text("Zed 2")')
    finally:
        ctx.close()
