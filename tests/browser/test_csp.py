"""The Content-Security-Policy in a real browser: the main pages need nothing it forbids, and
what an attacker could inject (a script element, a handler attribute, a style element) is
not run. Every other browser test checks the first part too (conftest.page fails a test whose
pages broke the policy); this one walks every kind of page on purpose.
"""

import json
import uuid

import pytest

from tests.browser.conftest import csp_violations, shot
from tests.browser.test_roles import login_owner

pytestmark = pytest.mark.browser

SETUP = """
import json
from django.contrib.auth import get_user_model
from bases.demo import create_demo_base
from permissions.checks import Actor
from views import form_view, shares
from views.services import view_create
from webhooks import signing
from webhooks.models import Webhook
user = get_user_model().objects.get(email="admin@example.com")
actor = Actor(user=user)
# Its own copy of the demo base: the walk adds views, rows and shares, which the other
# browser tests sharing this server must not see.
n = "{n}"
base = create_demo_base(user, title="CSP walk " + n)
projects, clients, tasks = (base.tables.get(title=t) for t in ("projects", "clients", "tasks"))
views = {{kind: view_create(actor=actor, table=projects, title=kind + " " + n, type=kind).pk
          for kind in ("gallery", "kanban", "calendar")}}
grid = view_create(actor=actor, table=clients, title="Shared " + n, type="grid")
form = view_create(actor=actor, table=clients, title="Form " + n, type="form")
f = {{x.title: x.pk for x in clients.fields.all()}}
form_view.form_config_save(actor=actor, view=form, data={{
    "title": "Tell us", "description": "We answer within **one day**.",
    "fields": [{{"id": f["name"], "label": "Company", "required": True}},
               {{"id": f["city"]}}, {{"id": f["notes"]}}]}})
# Never delivered: inactive, and nothing writes to tasks here.
hook = Webhook.objects.create(
    table=tasks, title="Hook " + n, events=["insert"], url="http://127.0.0.1:9/hook",
    secret_encrypted=signing.seal(signing.new_secret()), created_by=user, active=False)
print(json.dumps({{
    "base": base.pk, "projects": projects.pk, "clients": clients.pk, "tasks": tasks.pk,
    "grid": grid.pk, "form": form.pk, "hook": hook.pk, **views,
    "share": shares.share_enable(actor=actor, view=grid).token,
    "form_share": shares.share_enable(actor=actor, view=form).token,
}}))
"""


@pytest.fixture(scope="module")
def ids(live_server_url):
    out = live_server_url.manage("shell", "-c", SETUP.format(n=uuid.uuid4().hex[:6]))
    return json.loads(out.splitlines()[-1])


@pytest.fixture
def watched(browser):
    """A page whose policy violations are returned to the test (not failed at teardown)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    seen = csp_violations(context)
    yield context.new_page(), seen
    context.close()


def visit(page, url: str, ready: str = "main"):
    page.goto(url)
    page.wait_for_selector(ready)
    page.wait_for_load_state("networkidle")


def test_policy_header_and_htmx_without_eval(watched, live_server_url):
    page, _ = watched
    response = page.goto(live_server_url + "/login/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe" not in policy
    page.wait_for_function("window.htmx && htmx.config")
    assert page.evaluate(
        "[htmx.config.allowEval, htmx.config.includeIndicatorStyles]"
    ) == [
        False,
        False,
    ]


def test_injected_markup_does_not_run(watched, live_server_url):
    page, seen = watched
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    visit(page, live_server_url + "/login/")
    # What an HTML injection would bring: a script element, handler attributes, a javascript:
    # link, a <style> element and a style attribute.
    page.evaluate(
        """() => {
        const s = document.createElement('script');
        s.textContent = 'window.__ran = (window.__ran || []).concat("script"); alert(1)';
        document.body.append(s);
        const box = document.createElement('div');
        box.innerHTML = '<img id="pwn-img" src="data:,x" '
          + 'onerror="window.__ran = (window.__ran || []).concat(\\'onerror\\')">'
          + '<a id="pwn-a" href="javascript:window.__ran = (window.__ran || []).concat(\\'href\\')">a</a>'
          + '<p id="pwn-p" style="color: rgb(255, 0, 0)">styled</p>'
          + '<style>body { background: rgb(255, 0, 0) !important; }</style>';
        document.body.append(box);
    }"""
    )
    page.click("#pwn-a")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__ran || []") == []
    assert dialogs == []
    assert (
        page.evaluate("getComputedStyle(document.body).backgroundColor")
        != "rgb(255, 0, 0)"
    )
    assert (
        page.evaluate("getComputedStyle(document.getElementById('pwn-p')).color")
        != "rgb(255, 0, 0)"
    )
    blocked = {v["directive"] for v in seen}
    assert {
        "script-src-elem",
        "script-src-attr",
        "style-src-elem",
        "style-src-attr",
    } <= (blocked), seen


def test_main_pages_need_nothing_the_policy_forbids(watched, live_server_url, ids):
    page, seen = watched
    url = live_server_url
    b = ids["base"]
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    # Anonymous: sign-in pages, a shared view, a public form (sent).
    visit(page, url + "/login/")
    visit(page, url + "/signup/")
    visit(page, f"{url}/s/{ids['share']}/", "table")
    shot(page, "csp-shared-view")
    visit(page, f"{url}/f/{ids['form_share']}/", "form")
    page.fill("label:has-text('Company') ~ input", "CSP Walk Ltd")
    page.click("button:has-text('Submit')")
    page.wait_for_selector(".form-done")

    login_owner(page, url)
    visit(page, url + "/")
    visit(page, f"{url}/bases/{b}/")
    shot(page, "csp-base")
    visit(page, url + "/bases/new/")
    page.locator("#f-mode label", has_text="connection details").click()
    page.wait_for_selector("#f-host", state="visible")
    visit(page, url + "/account/tokens/")
    page.fill("input[name=name]", "csp walk")
    page.click("button:has-text('Create token')")
    page.wait_for_selector("#new-token")
    # Revoke asks first (data-confirm); dismissed, nothing is sent.
    page.locator("table.list tr", has_text="csp walk").locator(
        "button:has-text('Revoke')"
    ).click()
    page.wait_for_timeout(300)
    assert dialogs[-1] == "Revoke csp walk?"
    assert page.locator("table.list tr", has_text="csp walk").count() == 1
    visit(page, url + "/account/password/")
    visit(page, f"{url}/bases/{b}/members/")
    visit(page, f"{url}/bases/{b}/settings/")
    visit(page, f"{url}/bases/{b}/api/", "#swagger .opblock")
    page.locator("#swagger .opblock-summary").first.click()
    page.wait_for_selector("#swagger .opblock-body")
    shot(page, "csp-swagger")
    # GraphiQL (React, CodeMirror) from the npm packages: a query typed and run, under the
    # same policy (the session's CSRF header is sent by static/js/graphiql.js).
    visit(page, f"{url}/bases/{b}/graphql/", "#graphiql .graphiql-container")
    page.evaluate(
        "document.querySelector('#graphiql .graphiql-query-editor .CodeMirror')"
        ".CodeMirror.setValue('{ clients(limit: 2) { list { _id name } } }')"
    )
    page.locator("#graphiql .graphiql-execute-button").click()
    page.wait_for_function(
        "document.querySelector('#graphiql .result-window')"
        " && document.querySelector('#graphiql .result-window').innerText.includes('_id')"
    )
    shot(page, "csp-graphiql")
    t = ids["tasks"]
    visit(page, f"{url}/bases/{b}/tables/{t}/webhooks/")
    visit(page, f"{url}/bases/{b}/tables/{t}/webhooks/{ids['hook']}/")
    visit(page, f"{url}/bases/{b}/views/{ids['grid']}/share")
    page.click("#share-url")
    assert page.evaluate(
        "(() => { const i = document.getElementById('share-url');"
        " return i.selectionEnd - i.selectionStart === i.value.length; })()"
    )
    visit(page, f"{url}/bases/{b}/views/{ids['form']}/form")
    shot(page, "csp-form-builder")

    # The grid: colours of select chips, column widths, editing, the expanded row.
    c = ids["clients"]
    visit(page, f"{url}/bases/{b}/tables/{c}/views/{ids['grid']}/", "#grid tr.grid-row")
    page.wait_for_function("window.grid && window.grid.store")
    chip = page.locator("#grid tr.grid-row .chip").first
    assert chip.evaluate("e => getComputedStyle(e).backgroundColor") not in (
        "rgba(0, 0, 0, 0)",
        "",
    )
    widths = page.evaluate(
        "[...document.querySelectorAll('#grid col[data-f]')].map(c => c.style.width)"
    )
    assert widths and all(w.endswith("px") for w in widths)
    fid = page.evaluate("window.grid.columns.find(c => c.title === 'name').id")
    cell = page.locator(f'#grid tr.grid-row[data-n="1"] td[data-f="{fid}"]')
    cell.click()
    page.keyboard.type("Edited under the CSP")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "sel => document.querySelector(sel).innerText.includes('Edited under the CSP')",
        arg=f'#grid tr.grid-row[data-n="1"] td[data-f="{fid}"]',
    )
    cell.click()
    page.keyboard.press("Space")
    page.wait_for_selector("#grid-modal:not([hidden]) .expand-form")
    shot(page, "csp-grid-expanded")
    page.keyboard.press("Escape")
    page.click("#tb-filter > summary")
    page.wait_for_selector("#tb-filter .menu-panel")
    shot(page, "csp-grid")

    p = ids["projects"]
    # Gallery: Enter on a focused card opens it (an htmx trigger on a key, without eval).
    visit(page, f"{url}/bases/{b}/tables/{p}/views/{ids['gallery']}/", ".vcard")
    page.locator(".vcard").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#grid-modal:not([hidden]) .expand-form")
    page.keyboard.press("Escape")
    # Kanban: stack colours; a card added from a stack's form empties the form.
    visit(page, f"{url}/bases/{b}/tables/{p}/views/{ids['kanban']}/", ".stack")
    assert (
        page.locator(".stack-head")
        .first.evaluate("e => getComputedStyle(e).getPropertyValue('--stack-color')")
        .strip()
    )
    add = page.locator("form.stack-add input[name=title]").first
    add.fill("Card from the walk")
    add.press("Enter")
    page.wait_for_selector(".vcard:has-text('Card from the walk')")
    page.wait_for_function(
        "() => document.querySelector('form.stack-add input[name=title]').value === ''"
    )
    shot(page, "csp-kanban")
    visit(page, f"{url}/bases/{b}/tables/{p}/views/{ids['calendar']}/", ".calendar")
    shot(page, "csp-calendar")
    visit(page, url + "/admin/", "#content")

    assert seen == [], seen
