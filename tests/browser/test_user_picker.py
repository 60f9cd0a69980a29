"""The User field's cell editor: a popup listing the base's members, with search, in a real
browser (docs/fields.md). Its own base, so the other grid tests' tables stay as they expect."""

import json

import pytest

from tests.browser.conftest import shot
from tests.browser.test_grid import data_v, open_grid, saved, select, td

pytestmark = pytest.mark.browser

SETUP = """
import json
from django.contrib.auth import get_user_model
from bases import records, schema_services, services
from bases.models import Base
from permissions.checks import Actor
from permissions.services import membership_create

User = get_user_model()
actor = Actor(user=User.objects.get(email="admin@example.com"))
base = Base.objects.filter(title="User picker").first()
if base is None:
    base = services.base_create(actor=actor, title="User picker")
    bea = User.objects.filter(email="bea@example.com").first() or User.objects.create_user(
        username="bea", email="bea@example.com", password="pw-bea-12345",
        first_name="Bea", last_name="Baker")
    membership_create(base=base, user=bea, role="editor")
    tasks = schema_services.table_create(actor=actor, base=base, title="tasks", columns=[
        {"title": "name", "uidt": "SingleLineText"},
        {"title": "Lead", "uidt": "User"},
        {"title": "Team", "uidt": "User", "meta": {"is_multi": True}},
        {"title": "Created", "uidt": "CreatedTime"},
    ])
    records.insert_many(tasks, [{"name": "first"}, {"name": "second"}])
print(json.dumps({"base": base.pk, "tasks": base.tables.get(title="tasks").pk}))
"""


@pytest.fixture(scope="module")
def ids(live_server_url):
    return json.loads(live_server_url.manage("shell", "-c", SETUP).splitlines()[-1])


def test_user_picker_lists_members_searches_and_saves_chips(page, live_server_url, ids):
    open_grid(page, live_server_url, ids, "tasks")
    # One user: search the members, Enter picks and saves; the cell shows the name.
    select(page, 1, "Lead")
    page.keyboard.press("Enter")
    page.wait_for_selector(".select-popup li[data-title='bea@example.com']")
    names = page.locator(".select-popup li .chip").all_inner_texts()
    assert "Bea Baker" in names and "admin" in " ".join(names)
    page.keyboard.type("bak")  # a surname finds her (her email does not say it)
    assert page.locator(".select-popup li[data-title]").count() == 1
    shot(page, "grid-user-picker")
    page.keyboard.press("Enter")
    saved(page, 1, "Lead", "Bea Baker")
    data_v(page, 1, "Lead", "bea@example.com")
    # Several users: tick two, then Done.
    select(page, 1, "Team")
    page.keyboard.press("Enter")
    page.click(".select-popup li[data-title='admin@example.com']")
    page.click(".select-popup li[data-title='bea@example.com']")
    page.click(".select-popup .select-done")
    saved(page, 1, "Team", "Bea Baker")
    data_v(page, 1, "Team", "admin@example.com,bea@example.com")
    team = td(page, 1, "Team")
    assert team.locator(".chip").count() == 2
    shot(page, "grid-user-chips")
    # The created time is the platform's: read-only in the grid.
    select(page, 1, "Created")
    page.keyboard.press("Enter")
    assert page.locator("#grid td.editing").count() == 0
