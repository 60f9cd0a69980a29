"""The ERD page in a real browser: 50 tables laid out without overlapping, readable text,
links drawn, names shown as text (never markup), a click opens the table."""

import uuid

import pytest

from tests.browser.conftest import shot
from tests.browser.test_roles import login_owner

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=alert(1)>"

SETUP = """
from django.contrib.auth import get_user_model
from bases.services import base_create
from bases.schema_services import link_create, table_create
from permissions.checks import Actor
actor = Actor(user=get_user_model().objects.get(email="admin@example.com"))
base = base_create(actor=actor, title="ERD {n}")
tables = []
for i in range(50):
    title = {hostile!r} if i == 7 else f"table {{i:02d}} with a longer name"
    tables.append(table_create(actor=actor, base=base, title=title, columns=[
        {{"title": "name", "uidt": "SingleLineText"}},
        {{"title": "amount", "uidt": "Decimal"}},
        {{"title": "when", "uidt": "Date"}},
    ]))
for i in range(0, 48, 3):  # 16 chains of parent -> child
    link_create(actor=actor, table=tables[i], data={{
        "title": f"children {{i}}", "relation": "hm", "related_table_id": tables[i + 1].pk}})
link_create(actor=actor, table=tables[0], data={{
    "title": "peers", "relation": "mm", "related_table_id": tables[2].pk}})
print(base.pk)
"""

OVERLAPS = """() => {
  const boxes = [...document.querySelectorAll('#erd .erd-box rect.frame')].map(r => r.getBBox());
  const hits = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height)
      hits.push([i, j]);
  }
  return hits;
}"""


def scale_of(page) -> float:
    return page.evaluate(
        "() => Number(/scale\\(([0-9.]+)\\)/.exec("
        "document.querySelector('#erd svg > g').getAttribute('transform'))[1])"
    )


def test_erd_of_fifty_tables(page, live_server_url):
    n = uuid.uuid4().hex[:6]
    base_id = live_server_url.manage(
        "shell", "-c", SETUP.format(hostile=HOSTILE, n=n)
    ).splitlines()[-1]
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login_owner(page, live_server_url)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{live_server_url}/bases/{base_id}/")
    page.click(".actions >> text=Diagram")
    page.wait_for_selector("#erd[data-ready='1']")
    assert page.locator("#erd .erd-box").count() == 50
    assert page.locator("#erd .erd-edge").count() == 17  # 16 has-many + 1 many-to-many
    assert page.evaluate(OVERLAPS) == []
    # Readable: the diagram starts at 90 % (scrolled), never shrunk to a smudge.
    assert scale_of(page) >= 0.9  # 12 px text shows at 11 px or more
    title = page.locator("#erd .erd-box text.title").nth(7)
    assert HOSTILE in title.text_content()
    assert page.locator("#erd img").count() == 0 and dialogs == []
    shot(page, "erd-50-tables")
    page.click("[data-erd=fit]")
    assert scale_of(page) < 0.9  # the whole of it, smaller
    shot(page, "erd-50-tables-fit")
    # A click on a table (all of them in sight after Fit) opens it.
    page.locator("#erd .erd-box").first.locator("a").click()
    page.wait_for_url(f"{live_server_url}/bases/{base_id}/tables/**")
