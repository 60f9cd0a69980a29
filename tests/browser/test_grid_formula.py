"""A formula added from the table page's add-field form in a real browser: a wrong formula is
refused with the typed text kept, a right one shows its values in the grid, and its cells say
why they cannot be typed into."""

import json

import pytest

from tests.browser.conftest import shot
from tests.browser.test_first_visit import login
from tests.browser.test_grid import td, wait_grid

pytestmark = pytest.mark.browser

SETUP = """
import json
from django.contrib.auth import get_user_model
from bases import records, schema_services, services
from bases.models import Base
from permissions.checks import Actor
actor = Actor(user=get_user_model().objects.get(email="admin@example.com"))
base = Base.objects.filter(title="Formula grid").first()
if base is None:
    base = services.base_create(actor=actor, title="Formula grid")
    items = schema_services.table_create(actor=actor, base=base, title="items", columns=[
        {"title": "name", "uidt": "SingleLineText"},
        {"title": "price", "uidt": "Decimal"},
        {"title": "qty", "uidt": "Number"},
    ])
    records.insert_many(items, [{"name": "pen", "price": "1.50", "qty": 4},
                                {"name": "ink", "price": "7.25", "qty": 1}])
print(json.dumps({"base": base.pk, "items": base.tables.get(title="items").pk}))
"""


@pytest.fixture(scope="module")
def ids(live_server_url):
    return json.loads(live_server_url.manage("shell", "-c", SETUP).splitlines()[-1])


def add_field(page, title, formula):
    page.locator("details.fields-panel").evaluate("d => d.open = true")
    page.fill("#id_title", title)
    page.select_option("#id_uidt", "Formula")
    page.fill("#id_formula_raw", formula)
    page.click("details.fields-panel button.primary")
    page.wait_for_load_state("domcontentloaded")


def test_add_a_formula_from_the_table_page(page, live_server_url, ids):
    login(page, live_server_url)
    url = f"{live_server_url}/bases/{ids['base']}/tables/{ids['items']}/"
    page.goto(url)
    wait_grid(page)

    add_field(page, "Total", "{price} * {qty")
    error = page.locator("details.fields-panel .error").inner_text()
    assert "not closed" in error and "character" in error
    assert page.input_value("#id_formula_raw") == "{price} * {qty"
    shot(page, "formula-error")

    add_field(page, "Total", "{price} * {qty}")
    wait_grid(page)
    add_field(page, "Many", "{qty} > 2")
    wait_grid(page)
    assert td(page, 1, "Total").inner_text().strip() == "6"
    assert td(page, 2, "Total").inner_text().strip() == "7.25"
    assert td(page, 1, "Many").locator(".cb.on").count() == 1
    assert td(page, 2, "Many").locator(".cb.on").count() == 0

    td(page, 1, "Total").click()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.body.innerText.includes(\"'Total' is a formula\")"
    )
    shot(page, "formula-grid")
