"""What a new user trips over (issue 22), in a real browser: a form view made from the
"+ View" menu with a conditional field, filled at phone width; the row count, paste past the
last row, the display column kept in view, the select list on a short table; a viewer's
buttons and typing; moving a kanban card without a mouse.

A base made for these tests (`New user`) keeps the demo base as other browser tests expect it.
"""

import datetime as dt
import json

import pytest

from tests.browser.conftest import csp_violations, shot
from tests.browser.test_realtime import login

pytestmark = pytest.mark.browser

ADMIN = ("admin@example.com", "browser-pass-123")
VIEWER = ("vera.nu@example.com", "vera-pass-12345")

SETUP = """
import json
from django.contrib.auth import get_user_model
from bases import records, schema_services, services
from bases.models import Base
from permissions.checks import Actor
from permissions.models import Membership
from permissions.services import membership_create
from views.models import View
from views.services import default_view, view_create
User = get_user_model()
actor = Actor(user=User.objects.get(email="admin@example.com"))
vera = User.objects.filter(email="vera.nu@example.com").first()
if vera is None:
    vera = User.objects.create_user(username="vera.nu@example.com", email="vera.nu@example.com",
                                    password="vera-pass-12345", first_name="Vera")
base = Base.objects.filter(title="New user").first()
if base is None:
    base = services.base_create(actor=actor, title="New user")
    wide = [{"title": f"extra {i}", "uidt": "SingleLineText"} for i in range(1, 13)]
    t = schema_services.table_create(actor=actor, base=base, title="tasks", columns=[
        {"title": "name", "uidt": "SingleLineText"},
        {"title": "status", "uidt": "SingleSelect", "choices": ["todo", "doing", "done"]},
        {"title": "due", "uidt": "Date"},
        {"title": "notes", "uidt": "LongText"},
        *wide,
    ])
    long = "A note with rather long text that is cut short, as the column is far narrower"
    records.insert_many(t, [{"name": "Write the plan", "status": "todo", "extra 1": "x",
                             "notes": long + " " + "and on " * 50 + "to its end"}])
    default_view(t)
    view_create(actor=actor, table=t, title="Board", type="kanban")
    view_create(actor=actor, table=t, title="Dates", type="calendar")
if not Membership.objects.filter(base=base, user=vera).exists():
    membership_create(base=base, user=vera, role="viewer")
t = base.tables.get(title="tasks")
print(json.dumps({"base": base.pk, "table": t.pk,
                  "board": t.views.get(title="Board").pk,
                  "dates": t.views.get(title="Dates").pk}))
"""


@pytest.fixture(scope="module")
def ids(live_server_url):
    return json.loads(live_server_url.manage("shell", "-c", SETUP).splitlines()[-1])


def open_grid(page, url, ids):
    page.goto(f"{url}/bases/{ids['base']}/tables/{ids['table']}/")
    page.wait_for_selector("#grid tr.grid-row")
    page.wait_for_function(
        "window.grid && window.grid.store && window.grid.root.isConnected"
    )


def footer_rows(page, n: int):
    """Wait for the footer's exact row count to say `n` rows (it reloads by itself)."""
    text = f"{n} row" + ("" if n == 1 else "s")
    page.wait_for_selector(f"#grid-footer .count-exact:text-is('{text}')")


def cell(page, n: int, title: str):
    fid = page.evaluate(f"window.grid.columns.find(c => c.title === '{title}').id")
    return page.locator(f'#grid tr.grid-row[data-n="{n}"] td[data-f="{fid}"]')


def test_grid_counts_paste_past_the_end_display_column_and_select(
    page, live_server_url, ids
):
    url = live_server_url
    login(page, url, *ADMIN)
    open_grid(page, url, ids)
    footer_rows(page, 1)
    # Adding a row counts at once, without a reload.
    page.click(".grid-bar .grid-add")
    page.wait_for_function("window.grid.store.total === 2")
    footer_rows(page, 2)
    # A block pasted from row 2 runs two rows past the end: they are added (one request).
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    cell(page, 2, "name").click()
    page.evaluate(
        "text => navigator.clipboard.writeText(text)",
        "Second\ttodo\nThird\tdoing\nFourth\tdone",
    )
    adds = []
    page.on(
        "request",
        lambda r: (
            adds.append(r) if r.method == "POST" and r.url.endswith("/rows") else None
        ),
    )
    page.keyboard.press("Control+V")
    page.wait_for_function("window.grid.store.total === 4")
    footer_rows(page, 4)
    assert len(adds) == 1 and len(json.loads(adds[0].post_data)["rows"]) == 2
    page.wait_for_selector('#grid tr.grid-row[data-n="4"]:not(.loading)')
    assert cell(page, 4, "name").inner_text() == "Fourth"
    assert cell(page, 3, "status").get_attribute("data-v") == "doing"
    assert "2 rows added" in page.locator("#row-error").inner_text()
    # Undo takes the added rows away again (and the pasted cell of row 2 back).
    page.keyboard.press("Control+Z")
    page.wait_for_function("window.grid.store.total === 2")
    footer_rows(page, 2)
    page.keyboard.press("Control+Shift+Z")
    page.wait_for_function("window.grid.store.total === 4")
    footer_rows(page, 4)
    # Scrolled right, the display column (name) stays in view beside the Id column.
    name = cell(page, 1, "name")
    before = name.bounding_box()["x"]
    page.evaluate("document.getElementById('grid').scrollLeft = 1200")
    page.wait_for_timeout(100)
    assert abs(name.bounding_box()["x"] - before) < 2
    assert cell(page, 1, "extra 12").is_visible()
    # Long text cut short shows in full on hover.
    page.evaluate("document.getElementById('grid').scrollLeft = 0")
    notes = cell(page, 1, "notes")
    notes.hover()
    page.wait_for_function(
        "s => document.querySelector(s).title.endsWith('and on to its end')",
        arg=f'#grid tr.grid-row[data-n="1"] td[data-f="{notes.get_attribute("data-f")}"]',
    )
    page.evaluate("document.getElementById('grid').scrollLeft = 1200")
    shot(page, "new-user-grid-scrolled")
    page.evaluate("document.getElementById('grid').scrollLeft = 0")
    # Delete the two pasted rows: the count follows.
    page.locator('#grid tr.grid-row[data-n="3"] td.rownum').click()
    page.locator('#grid tr.grid-row[data-n="4"] td.rownum').click(modifiers=["Shift"])
    page.on("dialog", lambda dialog: dialog.accept())
    page.click(".grid-delete")
    page.wait_for_function("window.grid.store.total === 2")
    footer_rows(page, 2)
    # The select list of a short table is not cut off by the grid's edge.
    cell(page, 2, "status").click()
    page.keyboard.press("Enter")
    popup = page.locator("#grid .select-popup")
    popup.wait_for()
    box = popup.bounding_box()
    wrap = page.locator("#grid").bounding_box()
    assert (
        box["y"] >= wrap["y"] and box["y"] + box["height"] <= wrap["y"] + wrap["height"]
    )
    assert page.locator(".select-popup li[data-title=done]").is_visible()
    shot(page, "new-user-select-short-table")
    page.keyboard.press("Escape")


def test_a_viewer_sees_only_what_they_can_use(browser, live_server_url, ids):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    violations = csp_violations(context)
    page = context.new_page()
    try:
        login(page, live_server_url, *VIEWER)
        open_grid(page, live_server_url, ids)
        heading = page.locator(".grid-heading")
        assert heading.locator("text=Share").count() == 0
        # Nothing saved on the view: no filter / sort / group / fields buttons to press.
        for tb in ("tb-filter", "tb-sort", "tb-group", "tb-fields"):
            assert not page.locator(f"#{tb}").is_visible()
        help_line = page.locator(".grid-help").inner_text()
        assert "Read-only for your role" in help_line and "Ctrl+Z" not in help_line
        # Typing (with spaces) into a read-only cell says why, and opens nothing.
        cell(page, 1, "name").click()
        page.keyboard.type("hello there you")
        page.wait_for_timeout(200)
        assert page.locator("#grid-modal").is_hidden()
        assert page.locator("#grid td.editing").count() == 0
        assert "not change it" in page.locator("#row-error").inner_text()
        shot(page, "new-user-viewer-grid")
        # Space alone (after a click ends the typing) still opens the row to read.
        cell(page, 1, "name").click()
        page.keyboard.press("Space")
        page.locator("#grid-modal .expand-form").wait_for()
    finally:
        context.close()
    assert violations == []


def test_form_from_the_menu_with_a_condition_filled_at_phone_width(
    browser, page, live_server_url, ids
):
    url = live_server_url
    login(page, url, *ADMIN)
    open_grid(page, url, ids)
    page.click("#view-tabs summary:has-text('+ View')")
    page.fill("#view-tabs input[name=title][required]", "Intake")
    page.check("#view-tabs input[name=type][value=form]")
    page.click("#view-tabs button:has-text('Create view')")
    page.wait_for_selector("h1:has-text('Form “Intake”')")
    # Every fillable field is asked; "due" only when status is "doing".
    builder = page.locator(".form-builder")
    row_of = (
        "t => [...document.querySelectorAll('.form-builder tbody tr')]"
        ".find(tr => tr.cells[2].innerText.trim().startsWith(t + ' '))"
        ".querySelector('input[name=field]').value"
    )
    fid, status = page.evaluate(row_of, "due"), page.evaluate(row_of, "status")
    page.select_option(f"select[name=show_field_{fid}]", status)
    page.select_option(f"select[name=show_op_{fid}]", "eq")
    page.fill(f"input[name=show_value_{fid}]", "doing")
    page.check("input[name=after][value=message]")
    page.fill("#fb-msg", "Thanks, **we got it**.")
    builder.locator("button:has-text('Save form')").click()
    page.wait_for_load_state()
    page.click("text=Public link…")
    page.click("button:has-text('Create a public link')")
    link = page.locator("#share-url").input_value()
    assert "/f/" in link
    # Anyone, on a phone.
    phone = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    violations = csp_violations(phone)
    form = phone.new_page()
    try:
        form.goto(link)
        due = form.locator(f'.form-field[data-id="{fid}"]')
        assert due.is_hidden()
        form.select_option(f"#ff-{status}", "doing")
        due.wait_for(state="visible")
        form.select_option(f"#ff-{status}", "todo")
        due.wait_for(state="hidden")
        form.select_option(f"#ff-{status}", "doing")
        form.fill(f"#ff-{fid}", "2026-12-24")
        name_id = form.evaluate(
            "() => [...document.querySelectorAll('.form-field')]"
            ".find(f => f.dataset.field === 'name').dataset.id"
        )
        form.fill(f"#ff-{name_id}", "From the phone")
        width = form.evaluate("document.documentElement.scrollWidth")
        assert width <= 376, f"the form is {width}px wide at 375px"
        shot(form, "new-user-form-phone")
        form.click("button.primary")
        form.wait_for_selector(".form-done:has-text('we got it')")
        assert form.locator(".form-done strong").inner_text() == "we got it"
    finally:
        phone.close()
    assert violations == []
    # The grid at phone width is readable: the page itself does not scroll sideways.
    page.set_viewport_size({"width": 375, "height": 740})
    open_grid(page, url, ids)
    page.wait_for_selector("#grid td:has-text('From the phone')")
    assert page.evaluate("document.documentElement.scrollWidth") <= 376
    shot(page, "new-user-grid-phone")


def test_kanban_and_calendar_moves_with_the_keyboard(page, live_server_url, ids):
    url = live_server_url
    login(page, url, *ADMIN)
    page.goto(f"{url}/bases/{ids['base']}/tables/{ids['table']}/views/{ids['board']}/")
    page.wait_for_selector(".kanban .vcard")
    card = page.locator('.stack[data-stack="todo"] .vcard').first
    title = card.locator(".vcard-title").inner_text().strip()
    card.focus()
    page.keyboard.press("m")
    menu = page.locator(".move-menu")
    menu.wait_for()
    shot(page, "new-user-kanban-move-menu")
    # The card's own stack is offered disabled; the first other one has the focus.
    assert menu.locator("button[disabled]").inner_text() == "todo"
    target = page.evaluate("document.activeElement.textContent")
    with page.expect_response(lambda r: r.url.endswith("/move")) as moved:
        page.keyboard.press("Enter")
    assert moved.value.ok
    page.reload()
    page.wait_for_selector(".kanban .vcard")
    stack = page.locator(".stack", has=page.locator(".stack-title", has_text=target))
    assert stack.locator(f".vcard:has-text('{title[:20]}')").count() == 1
    todo = page.locator('.stack[data-stack="todo"]')
    assert todo.locator(f".vcard:has-text('{title[:20]}')").count() == 0
    # Calendar: M on a record without a date asks for its day.
    day = dt.datetime.now(dt.UTC).date().replace(day=15).isoformat()
    page.goto(f"{url}/bases/{ids['base']}/tables/{ids['table']}/views/{ids['dates']}/")
    chip = page.locator(".undated-list .cal-chip").first
    chip_title = chip.inner_text().strip()
    chip.focus()
    page.keyboard.press("m")
    page.locator(".move-menu input[type=date]").fill(day)
    with page.expect_response(lambda r: r.url.endswith("/move")) as moved:
        page.keyboard.press("Enter")
    assert moved.value.ok
    page.wait_for_selector(
        f'.cal-day[data-date="{day}"] .cal-chip:has-text("{chip_title}")'
    )
