"""The base's Swagger UI page in a real browser: names are text, never markup.

Swagger UI renders every `description` of the document as Markdown with HTML allowed (cleaned
by DOMPurify, which keeps `<img>`, `<button>` and `<input>`): a base, table or field named with
markup must still show as the characters typed.
"""

import uuid

import pytest

from tests.browser.conftest import shot
from tests.browser.test_roles import login_owner

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=alert(1)><button>b</button>"

SETUP = """
from django.contrib.auth import get_user_model
from bases.services import base_create
from bases.schema_services import field_create, link_create, table_create
from permissions.checks import Actor
actor = Actor(user=get_user_model().objects.get(email="admin@example.com"))
hostile = {hostile!r}
base = base_create(actor=actor, title=hostile + " {n}")
table = table_create(actor=actor, base=base, title=hostile, columns=[
    {{"title": hostile + "<input value=pwn-title>", "uidt": "SingleLineText",
      "description": "<input value=pwn-description>" + hostile + " [x](https://evil.example)"}},
    {{"title": "state", "uidt": "SingleSelect",
      "choices": [{{"title": "<button>pwn-choice</button>"}}]}},
])
other = table_create(actor=actor, base=base, title="<img src=x onerror=alert(2)>other")
link_create(actor=actor, table=table, data={{
    "title": "<button>pwn-link</button>", "relation": "hm", "related_table_id": other.pk}})
print(base.pk)
"""

# Elements the hostile names would have made: an <img src=x>, a button whose text is ours,
# an input carrying one of our values, and a link made by Markdown's `[x](...)`.
INJECTED = """() => {
  const root = document.getElementById('swagger');
  return [
    ...[...root.querySelectorAll('img')].filter(e => e.getAttribute('src') === 'x'),
    ...[...root.querySelectorAll('button')].filter(e => /^(b|pwn-.*)$/.test(e.textContent.trim())),
    ...[...root.querySelectorAll('input')].filter(e => (e.value || '').startsWith('pwn')),
    ...[...root.querySelectorAll('a')].filter(e => e.textContent.trim() === 'x'),
  ].map(e => e.outerHTML);
}"""


def test_swagger_page_shows_hostile_names_as_text(page, live_server_url):
    n = uuid.uuid4().hex[:6]
    base_id = live_server_url.manage(
        "shell", "-c", SETUP.format(hostile=HOSTILE, n=n)
    ).splitlines()[-1]
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login_owner(page, live_server_url)
    page.goto(f"{live_server_url}/bases/{base_id}/api/")
    page.wait_for_selector("#swagger .info")
    # Open every operation and model, so every description is rendered.
    page.wait_for_selector("#swagger .opblock")
    for summary in page.locator("#swagger .opblock-summary").all():
        summary.click()
    for model in page.locator("#swagger .models .model-container").all():
        model.locator(".model-title").first.click()
    closed = page.locator("#swagger .models .model-toggle.collapsed")
    for _ in range(60):  # then what is nested in them
        if not closed.count():
            break
        closed.first.click()
    page.wait_for_timeout(300)
    shot(page, "swagger-hostile")
    assert page.evaluate(INJECTED) == []
    assert dialogs == []
    # The names are there, as the characters typed.
    info = page.locator("#swagger .info").inner_text()
    assert f"{HOSTILE} {n}" in info
    body = page.locator("#swagger").inner_text()
    assert "<input value=pwn-description>" in body
    assert "<button>pwn-link</button>" in body
    assert page.locator(".heading h1").inner_text().startswith(HOSTILE)
