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
print(shares.share_enable(actor=actor, view=view).token, view.pk, clients.base_id)
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
    out = live_server_url.manage("shell", "-c", FORM.format(n=n)).splitlines()[-1]
    token, view_id, base_id = out.split()
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

    # The owner's builder shows the form's settings.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login_owner(page, live_server_url)
    page.goto(f"{live_server_url}/bases/{base_id}/views/{view_id}/form")
    page.wait_for_selector("h1:has-text('Form')")
    assert page.input_value("#fb-title") == "Become a client"
    shot(page, "form-builder")
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


ATTACH = """
from bases import records, schema_services, services
from django.contrib.auth import get_user_model
from permissions.checks import Actor, SYSTEM
user = get_user_model().objects.get(email="admin@example.com")
actor = Actor(user=user)
base = services.base_create(actor=actor, title="Files {n}")
t = schema_services.table_create(actor=actor, base=base, title="docs", columns=[
    {{"title": "title", "uidt": "SingleLineText"}}, {{"title": "files", "uidt": "Attachment"}}])
records.insert_many(t, [{{"title": "First"}}])
print(base.pk, t.pk, t.fields.get(title="files").pk)
"""


def png(width: int = 2, height: int = 2) -> bytes:
    """A valid red PNG, built by hand (no imaging library needed)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_attachments_upload_from_the_expanded_row(browser, live_server_url, tmp_path):
    n = uuid.uuid4().hex[:6]
    out = live_server_url.manage("shell", "-c", ATTACH.format(n=n)).splitlines()[-1]
    base_id, table_id, field_id = out.split()
    image = tmp_path / "red.png"
    image.write_bytes(png())
    spoof = tmp_path / "page.png"
    spoof.write_bytes(b"<!doctype html><script>alert(1)</script>")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    login_owner(page, live_server_url)
    page.goto(f"{live_server_url}/bases/{base_id}/tables/{table_id}/")
    page.wait_for_selector("tr.grid-row")
    page.locator("tr.grid-row").first.hover()
    page.locator("tr.grid-row button.expand").first.click()
    page.wait_for_selector(".expand-attachments input[type=file]")
    page.set_input_files(
        ".expand-attachments input[type=file]", [str(image), str(spoof)]
    )
    page.click(".expand-attachments button:has-text('Upload')")
    page.wait_for_selector(".expand-attachments img.att-thumb")
    items = page.locator(".expand-attachments .att-item").all_inner_texts()
    assert any("red.png" in i and "image/png" in i for i in items)
    assert any("page.png" in i and "text/html" in i for i in items)
    # The thumbnail really loads (served inline as an image).
    page.wait_for_function(
        "document.querySelector('.expand-attachments img.att-thumb').naturalWidth === 2",
        timeout=5000,
    )
    shot(page, "attachments-expanded-row")
    # The grid behind reloaded: its cell lists the files.
    page.click(".grid-modal [data-expand=close]")
    page.wait_for_selector("tr.grid-row td:has-text('red.png')")
    shot(page, "attachments-grid-cell")
    context.close()


def test_attachments_drop_files_on_the_panel(browser, live_server_url):
    n = uuid.uuid4().hex[:6]
    out = live_server_url.manage("shell", "-c", ATTACH.format(n=n)).splitlines()[-1]
    base_id, table_id, field_id = out.split()
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    page = context.new_page()
    login_owner(page, live_server_url)
    page.goto(
        f"{live_server_url}/bases/{base_id}/tables/{table_id}/attachments/1/{field_id}"
    )
    page.wait_for_selector(".att-upload")
    page.evaluate(
        """() => {
        const dt = new DataTransfer();
        dt.items.add(new File(["dropped text"], "dropped.txt", {type: "image/png"}));
        const panel = document.querySelector('.attachments');
        panel.dispatchEvent(new DragEvent('dragover', {bubbles: true, dataTransfer: dt}));
        panel.dispatchEvent(new DragEvent('drop', {bubbles: true, dataTransfer: dt}));
    }"""
    )
    page.wait_for_selector(".att-item:has-text('dropped.txt')")
    assert "text/plain" in page.inner_text(".att-item:has-text('dropped.txt')")
    shot(page, "attachments-dropped")
    context.close()
