"""A "Created by" field added from the grid shows, at once, who created the rows written
through the platform (filled from the record history: history/backfill.py), and nothing for
a row written directly in the database.

It works in a base of its own (`Kept UI`), so the other browser tests' tables keep their
columns.
"""

import json

import pytest

from tests.browser.conftest import shot
from tests.browser.test_first_visit import login
from tests.browser.test_grid import wait_grid
from tests.browser.test_grid_fields import add_field, titles

pytestmark = pytest.mark.browser

SETUP = """
import json
from django.contrib.auth import get_user_model
from django.db import connections
from bases import schema_services, services
from bases.models import Base
from bases.sources import source_alias
from permissions.checks import Actor
from records.writes import insert_rows
actor = Actor(user=get_user_model().objects.get(email="admin@example.com"))
base = Base.objects.filter(title="Kept UI").first()
if base is None:
    base = services.base_create(actor=actor, title="Kept UI")
    tasks = schema_services.table_create(actor=actor, base=base, title="tasks",
        columns=[{"title": "name", "uidt": "SingleLineText"}])
    insert_rows(tasks, [{"name": "Written here 1"}, {"name": "Written here 2"}], actor=actor)
    conn = connections[source_alias(tasks.source)]
    q = conn.ops.quote_name
    column = tasks.fields.get(title="name").column_name
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO {q(tasks.table_name)} ({q(column)}) VALUES (%s)",
                    ["Written in the database"])
print(json.dumps({"base": base.pk, "tasks": base.tables.get(title="tasks").pk}))
"""


@pytest.fixture(scope="module")
def ids(live_server_url):
    return json.loads(live_server_url.manage("shell", "-c", SETUP).splitlines()[-1])


def test_a_new_created_by_field_shows_who_created_the_rows(page, live_server_url, ids):
    login(page, live_server_url)
    page.goto(f"{live_server_url}/bases/{ids['base']}/tables/{ids['tasks']}/")
    wait_grid(page)
    add_field(page, "Creator", "Created by")
    assert "Creator" in titles(page)
    fid = page.evaluate("window.grid.columns.find(c => c.title === 'Creator').id")
    nid = page.evaluate("window.grid.columns.find(c => c.title === 'name').id")
    cells = {}
    for n in (1, 2, 3):
        row = f'#grid tr.grid-row[data-n="{n}"]'
        name = page.inner_text(f'{row} td[data-f="{nid}"]').strip()
        cells[name] = page.inner_text(f'{row} td[data-f="{fid}"]').strip()
    assert cells == {
        "Written here 1": "admin@example.com",
        "Written here 2": "admin@example.com",
        "Written in the database": "",
    }
    shot(page, "grid-kept-field-filled")
