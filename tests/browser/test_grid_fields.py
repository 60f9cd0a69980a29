"""Fields from the grid in a real browser: the "+" at the end of the header row adds a text
field and a link field, the header menu renames and deletes, a refused name stays in the panel,
and a link cell shows the linked record's display value.

It works in a base of its own (`Field UI`: orders and customers), so the other browser tests'
tables keep their columns.
"""

import json

import pytest

from tests.browser.conftest import ARTIFACTS, shot
from tests.browser.test_first_visit import login
from tests.browser.test_grid import wait_grid

pytestmark = pytest.mark.browser

SETUP = """
import json
from django.contrib.auth import get_user_model
from bases import records, schema_services, services
from bases.models import Base
from permissions.checks import Actor
actor = Actor(user=get_user_model().objects.get(email="admin@example.com"))
base = Base.objects.filter(title="Field UI").first()
if base is None:
    base = services.base_create(actor=actor, title="Field UI")
    customers = schema_services.table_create(actor=actor, base=base, title="customers",
        columns=[{"title": "name", "uidt": "SingleLineText"}])
    records.insert_many(customers, [{"name": n} for n in ("Acme Tools", "Birch & Co")])
    orders = schema_services.table_create(actor=actor, base=base, title="orders",
        columns=[{"title": "name", "uidt": "SingleLineText"}])
    records.insert_many(orders, [{"name": f"Order {i}"} for i in range(1, 4)])
print(json.dumps({"base": base.pk, "orders": base.tables.get(title="orders").pk}))
"""


@pytest.fixture(scope="module")
def ids(live_server_url):
    return json.loads(live_server_url.manage("shell", "-c", SETUP).splitlines()[-1])


def titles(page) -> list[str]:
    return page.evaluate("window.grid.columns.map(c => c.title)")


def add_field(page, name: str, type_label: str, settings=None):
    page.click("th.th-add button[data-field-action=add]")
    page.wait_for_selector("#field-dialog[open] [data-field-panel]")
    page.fill("#fp-title", name)
    page.click(f"#field-dialog label.fp-type:has-text('{type_label}')")
    if settings:
        settings()
    with page.expect_navigation():
        page.click("#field-dialog button[type=submit]")
    wait_grid(page)


def open_menu(page, title: str):
    fid = page.evaluate(f"window.grid.columns.find(c => c.title === {title!r}).id")
    page.click(f'#grid thead button[data-field-menu="{fid}"]')
    page.wait_for_selector("#field-menu:not([hidden])")


def test_fields_from_the_header_row(page, live_server_url, ids):
    login(page, live_server_url)
    page.goto(f"{live_server_url}/bases/{ids['base']}/tables/{ids['orders']}/")
    wait_grid(page)
    assert page.locator(".fields-panel").count() == 0  # the old box below the grid
    # A text field from the "+": the new column is in the grid after the page reloads.
    add_field(page, "Notes", "Long text")
    assert "Notes" in titles(page)

    # A link field: its part of the panel asks for the table and the kind of link.
    def link_settings():
        assert page.locator("[data-opts=link]").is_visible()
        assert not page.locator("[data-opts=choices]").is_visible()
        page.select_option("#fp-related", label="customers")
        page.check("#field-dialog input[name=relation][value=bt]")
        shot(page, "grid-fields-link-panel")

    add_field(page, "Customer", "Link to another record", link_settings)
    assert "Customer" in titles(page)

    # The link cell shows the linked record's display value, not its key.
    fid = page.evaluate("window.grid.columns.find(c => c.title === 'Customer').id")
    cell_sel = f'#grid tr.grid-row[data-n="1"] td[data-f="{fid}"]'
    page.click(cell_sel)
    page.keyboard.press("Enter")
    page.wait_for_selector(".link-popup .lp-search")
    page.keyboard.type("Birch")
    # The search has answered (a click on the first list could race its reload).
    page.wait_for_function(
        "() => document.querySelectorAll('.link-popup .lp-item').length === 1"
    )
    page.click(".link-popup .lp-item[data-link=link] >> text=Birch & Co")
    # The row changed (its foreign key): its live update may redraw it, closing the picker.
    page.wait_for_function(
        "() => !document.querySelector('.link-popup')"
        " || document.querySelector('.link-popup .lp-chips .chip')"
    )
    if page.locator(".link-popup").count():
        page.keyboard.press("Escape")
    page.wait_for_function(
        "(sel) => { const el = document.querySelector(sel);"
        " return el && !el.classList.contains('editing')"
        " && el.innerText.includes('Birch & Co'); }",
        arg=cell_sel,
    )
    assert page.locator(f"{cell_sel} .chip").inner_text() == "Birch & Co"
    shot(page, "grid-fields-link-cell")

    # A refused name comes back in the panel with the message, the typed text kept.
    page.click("th.th-add button[data-field-action=add]")
    page.wait_for_selector("#field-dialog[open] [data-field-panel]")
    page.fill("#fp-title", "name")
    page.click("#field-dialog button[type=submit]")
    page.wait_for_selector("#field-dialog .fp-error >> text=exists already")
    assert page.input_value("#fp-title") == "name"
    shot(page, "grid-fields-refused")
    page.keyboard.press("Escape")

    # Rename from the header menu.
    open_menu(page, "Notes")
    assert "Long text" in page.inner_text("#field-menu .fm-info")
    # Not a full-page shot: resizing the window closes the menu.
    page.screenshot(path=str(ARTIFACTS / "grid-fields-header-menu.png"))
    page.click("#field-menu [data-fm=rename]")
    page.fill("#fm-title", "Remarks")
    with page.expect_navigation():
        page.press("#fm-title", "Enter")
    wait_grid(page)
    assert "Remarks" in titles(page) and "Notes" not in titles(page)

    # Delete from the header menu, after a confirmation (Cancel first: nothing happens).
    open_menu(page, "Remarks")
    page.once("dialog", lambda d: d.dismiss())
    page.click("#field-menu [data-fm=delete]")
    page.wait_for_timeout(200)
    assert "Remarks" in titles(page)
    open_menu(page, "Remarks")
    page.once("dialog", lambda d: d.accept())
    with page.expect_navigation():
        page.click("#field-menu [data-fm=delete]")
    wait_grid(page)
    assert "Remarks" not in titles(page) and "Customer" in titles(page)
    shot(page, "grid-fields-after-delete")
