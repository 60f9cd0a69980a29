"""Webhooks in the browser: create one from the table page, copy the secret, send a test,
see the delivery log after editing a row."""

import pytest

from tests.browser.conftest import shot
from tests.webhooks.receiver import start_receiver
from tests.webhooks.stack import Stack

pytestmark = pytest.mark.browser


@pytest.fixture
def hooks_server(tmp_path):
    # Its own server: webhooks to the loopback receiver need NOCO_WEBHOOKS_ALLOW_PRIVATE.
    s = Stack(tmp_path / "var")
    s.var.mkdir()
    s.setup()
    s.start_server()
    yield s
    s.stop_all()


@pytest.fixture
def receiver():
    rec, server = start_receiver()
    yield rec
    server.shutdown()


def test_create_test_and_log(page, hooks_server, receiver):
    url = hooks_server.url
    page.goto(url + "/")
    page.fill("input[name=username]", "admin@example.com")
    page.fill("input[name=password]", "stack-pass-123")
    page.click("button[type=submit]")
    page.click("text=Demo CRM")
    page.click("aside >> text=clients")
    page.click("text=Webhooks")
    page.wait_for_selector("h1:has-text('Webhooks of clients')")
    shot(page, "webhooks-empty")

    # A bad condition: explained, typed values kept.
    page.fill("input[name=title]", "CRM sync")
    page.fill("input[name=url]", receiver.url)
    page.check("input[name=events][value=update]")
    page.fill("input[name=condition]", "(nope,eq,1)")
    page.click("text=Create webhook")
    page.wait_for_selector(".error")
    assert "nope" in page.locator(".error").first.inner_text()
    assert page.input_value("input[name=title]") == "CRM sync"
    page.fill("input[name=condition]", "(city,eq,Lisbon)")
    page.click("text=Create webhook")
    secret = page.locator("#new-secret").inner_text()
    assert secret.startswith("whsec_")
    shot(page, "webhook-created")

    page.click("button:has-text('Send test')")
    page.wait_for_selector("#test-result .ok")
    assert "HTTP 200" in page.locator("#test-result").inner_text()
    assert receiver.wait_for(1)[0].json["test"] is True
    page.reload()
    assert "whsec_" not in page.content()  # shown once
    assert page.locator("table.list tbody tr").first.inner_text().count("test") >= 1
    shot(page, "webhook-detail")
