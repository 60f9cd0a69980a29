"""Public links in the browser: an anonymous visitor fills a public form and opens a
password-protected shared view."""

import uuid

import pytest

from tests.browser.conftest import shot
from tests.browser.test_roles import login_owner

pytestmark = pytest.mark.browser

SETUP = """
from bases.models import Base
from django.contrib.auth import get_user_model
from permissions.checks import Actor
from views import form_view, services, shares
user = get_user_model().objects.get(email="admin@example.com")
actor = Actor(user=user)
clients = Base.objects.get(title="Demo CRM", memberships__user=user).tables.get(title="clients")
f = {{x.title: x.pk for x in clients.fields.all()}}
"""

FORM = (
    SETUP
    + """
view = services.view_create(actor=actor, table=clients, title="Form {n}", type="form")
form_view.form_config_save(actor=actor, view=view, data={{
    "title": "Become a client", "description": "We answer within **one day**.",
    "after": "another", "message": "Thank you, we got it.",
    "fields": [
        {{"id": f["name"], "label": "Company name", "required": True}},
        {{"id": f["email"], "label": "Work email", "required": True, "help": "We never share it."}},
        {{"id": f["city"], "default": "Lisbon"}},
        {{"id": f["notes"], "label": "Anything else?"}},
    ]}})
print(shares.share_enable(actor=actor, view=view).token)
"""
)

SHARED = (
    SETUP
    + """
view = services.view_create(actor=actor, table=clients, title="Shared {n}", data={{
    "where": "(" + f["city"] + ",eq,Lisbon)", "hidden_fields": [f["email"], f["notes"], f["phone"]]}})
share = shares.share_enable(actor=actor, view=view)
shares.share_update(actor=actor, share=share, password="open-sesame-1", allow_csv=True)
print(share.token)
"""
)

COUNT = (
    SETUP
    + """
from bases import records
print(records.count_records(clients, {{"where": "(name,eq,{name})"}}, actor=actor))
"""
)


def anonymous(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    return context, context.new_page()


def test_anonymous_fills_a_public_form(browser, live_server_url):
    n = uuid.uuid4().hex[:6]
    token = live_server_url.manage("shell", "-c", FORM.format(n=n)).splitlines()[-1]
    context, page = anonymous(browser)
    page.goto(f"{live_server_url}/f/{token}/")
    page.wait_for_selector("h1:has-text('Become a client')")
    assert page.locator("strong:has-text('one day')").count() == 1
    shot(page, "public-form-empty")

    # A bad email and a missing required field: both explained, typed values kept.
    page.fill("label:has-text('Work email') ~ input", "not-an-email")
    page.fill("textarea", "Call me after 5pm")
    page.click("button:has-text('Submit')")
    page.wait_for_selector(".field-error")
    errors = page.locator(".field-error").all_inner_texts()
    assert "This field is required." in errors
    assert any("not a valid email" in e for e in errors)
    assert page.input_value("label:has-text('Work email') ~ input") == "not-an-email"
    assert page.input_value("textarea") == "Call me after 5pm"
    shot(page, "public-form-errors")

    # Fixed: the row is created.
    name = f"Browser Co {n}"
    page.fill("label:has-text('Company name') ~ input", name)
    page.fill("label:has-text('Work email') ~ input", "hello@browser.example")
    page.click("button:has-text('Submit')")
    page.wait_for_selector(".form-done")
    assert "Thank you, we got it." in page.inner_text(".form-done")
    assert page.locator("text=Submit another response").count() == 1
    shot(page, "public-form-done")
    count = live_server_url.manage("shell", "-c", COUNT.format(name=name))
    assert count.splitlines()[-1] == "1"
    context.close()


def test_shared_view_with_password_shows_only_its_fields(browser, live_server_url):
    n = uuid.uuid4().hex[:6]
    token = live_server_url.manage("shell", "-c", SHARED.format(n=n)).splitlines()[-1]
    context, page = anonymous(browser)
    page.goto(f"{live_server_url}/s/{token}/")
    page.wait_for_selector("text=This shared view is protected")
    page.fill("input[name=password]", "wrong")
    page.click("button:has-text('Open')")
    page.wait_for_selector(".error")
    assert "Wrong password" in page.inner_text(".error")
    assert page.locator("table.share-grid").count() == 0
    shot(page, "shared-view-wrong-password")

    page.fill("input[name=password]", "open-sesame-1")
    page.click("button:has-text('Open')")
    page.wait_for_selector("table.share-grid")
    headers = page.locator("table.share-grid th").all_inner_texts()
    assert "name" in headers and "city" in headers
    assert not {"email", "notes", "phone"} & set(headers)
    column = headers.index("city") + 1
    cities = page.locator(f"table.share-grid td:nth-child({column})").all_inner_texts()
    assert cities and set(cities) == {"Lisbon"}, cities
    shot(page, "shared-view")

    # The visitor's own search narrows the rows; a reload keeps the signed-in cookie.
    page.fill("#sv-q", "zzz-nothing")
    page.click("button:has-text('Apply')")
    page.wait_for_selector("text=No rows.")
    page.goto(f"{live_server_url}/s/{token}/")
    page.wait_for_selector("table.share-grid")
    context.close()


def test_owner_shares_from_the_table_page(browser, live_server_url):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    login_owner(page, live_server_url)
    page.click("text=Demo CRM")
    page.click("aside >> text=projects")
    page.click("a:has-text('Share')")
    page.wait_for_selector("h1:has-text('Share')")
    if page.locator("button:has-text('Share by a public link')").count():
        page.click("button:has-text('Share by a public link')")
    page.wait_for_selector("#share-url")
    link = page.input_value("#share-url")
    assert "/s/" in link
    shot(page, "share-settings")
    context.close()
