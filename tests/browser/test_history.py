"""The expanded row's History panel in a real browser: an edit made in the form shows up in it
with who, when and old → new; "Show older" pages back."""

import json

import pytest

from tests.browser.conftest import shot
from tests.browser.test_first_visit import login
from tests.browser.test_grid import column, select, wait_grid

pytestmark = pytest.mark.browser

SETUP = """
import json
from django.contrib.auth import get_user_model
from bases import records, schema_services, services
from records.writes import update_rows
from bases.models import Base
from permissions.checks import Actor
actor = Actor(user=get_user_model().objects.get(email="admin@example.com"))
base = Base.objects.filter(title="History").first()
if base is None:
    base = services.base_create(actor=actor, title="History")
    t = schema_services.table_create(actor=actor, base=base, title="deals", columns=[
        {"title": "name", "uidt": "SingleLineText"},
        {"title": "stage", "uidt": "SingleSelect", "choices": ["lead", "won", "lost"]},
        {"title": "amount", "uidt": "Currency"},
    ])
    records.insert_many(t, [{"name": f"Deal {i}", "stage": "lead", "amount": "100"}
                            for i in range(1, 4)])
    for i in range(24):  # enough entries for a second page
        update_rows(t, {"Id": 1, "amount": str(200 + i)}, actor=actor)
t = base.tables.get(title="deals")
print(json.dumps({"base": base.pk, "deals": t.pk}))
"""


@pytest.fixture(scope="module")
def ids(live_server_url):
    return json.loads(live_server_url.manage("shell", "-c", SETUP).splitlines()[-1])


def test_history_panel_shows_an_edit_and_pages_back(page, live_server_url, ids):
    login(page, live_server_url)
    page.goto(f"{live_server_url}/bases/{ids['base']}/tables/{ids['deals']}/")
    wait_grid(page)
    select(page, 1, "name")
    page.keyboard.press("Space")
    modal = page.locator("#grid-modal")
    modal.locator(".expand-form").wait_for()
    modal.locator(".history-entry").first.wait_for()
    assert modal.locator(".history-entry").count() == 20
    _, name_id = column(page, "name")
    modal.locator(f'input[name="f_{name_id}"]').fill("Deal one, renamed")
    modal.locator(".expand-form button[type=submit]").click()
    page.wait_for_selector("#grid-modal .ok >> text=Saved")
    newest = modal.locator(".history-entry").first
    newest.locator(".history-new >> text=Deal one, renamed").wait_for()
    text = newest.inner_text()
    assert "admin@example.com" in text and "edited" in text
    assert "name" in text and "Deal 1" in text
    newest.scroll_into_view_if_needed()
    shot(page, "history-panel")
    # Older entries: the amounts written first, and the row's creation at the very end.
    modal.locator(".history-more button").click()
    page.wait_for_function(
        "() => document.querySelectorAll('#grid-modal .history-entry').length === 26"
    )
    last = modal.locator(".history-entry").last
    assert last.get_attribute("data-kind") == "insert"
    assert "created the row" in last.inner_text()
    assert modal.locator(".history-more").count() == 0
