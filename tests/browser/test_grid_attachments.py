"""Attachment cells in the browser: drop files on a grid cell (progress, then thumbnails),
add and remove files from the cell's popup, refusals shown on the cell, and readers who
cannot drop."""

import base64
import uuid

import pytest

from tests.browser.conftest import shot
from tests.browser.test_roles import login_owner
from tests.images import image_bytes, photo_png

pytestmark = pytest.mark.browser

SETUP = """
from bases import records, schema_services, services
from django.contrib.auth import get_user_model
from permissions.checks import Actor
from permissions.services import membership_create
User = get_user_model()
user = User.objects.get(email="admin@example.com")
actor = Actor(user=user)
base = services.base_create(actor=actor, title="Photos {n}")
t = schema_services.table_create(actor=actor, base=base, title="shots", columns=[
    {{"title": "title", "uidt": "SingleLineText"}}, {{"title": "files", "uidt": "Attachment"}}])
records.insert_many(t, [{{"title": "First"}}, {{"title": "Second"}}])
viewer = User.objects.create_user(username="v{n}@example.com", email="v{n}@example.com",
                                  password="viewer-pass-123")
membership_create(base=base, user=viewer, role="viewer")
print(base.pk, t.pk, t.fields.get(title="files").pk)
"""

# Drop files (name, base64 bytes, type) on the cell: what a user's drag from the desktop does.
DROP = """([selector, files]) => {
    const dt = new DataTransfer();
    for (const [name, b64, type] of files) {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        dt.items.add(new File([bytes], name, {type}));
    }
    const td = document.querySelector(selector);
    td.dispatchEvent(new DragEvent('dragenter', {bubbles: true, dataTransfer: dt}));
    td.dispatchEvent(new DragEvent('dragover', {bubbles: true, cancelable: true, dataTransfer: dt}));
    const over = td.classList.contains('drop-target') ? 'ok' : td.classList.contains('drop-refused') ? 'refused' : 'none';
    td.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: dt}));
    return over;
}"""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def cell(field_id: str, row: int = 1) -> str:
    return f'tr.grid-row[data-n="{row}"] td[data-f="{field_id}"]'


@pytest.fixture
def table(live_server_url):
    n = uuid.uuid4().hex[:6]
    out = live_server_url.manage("shell", "-c", SETUP.format(n=n)).splitlines()[-1]
    base_id, table_id, field_id = out.split()
    return {
        "url": f"{live_server_url}/bases/{base_id}/tables/{table_id}/",
        "n": n,
        "field": field_id,
    }


def open_grid(browser, live_server_url, table, *, viewer=False):
    context = browser.new_context(viewport={"width": 1280, "height": 760})
    page = context.new_page()
    if viewer:
        page.goto(live_server_url + "/login/")
        page.fill("input[name=username]", f"v{table['n']}@example.com")
        page.fill("input[name=password]", "viewer-pass-123")
        page.click("button[type=submit]")
        page.wait_for_url(live_server_url + "/")
    else:
        login_owner(page, live_server_url)
    page.goto(table["url"])
    page.wait_for_selector("tr.grid-row")
    return context, page


def test_drop_files_on_a_grid_cell_shows_progress_then_thumbnails(
    browser, live_server_url, table
):
    context, page = open_grid(browser, live_server_url, table)
    target = cell(table["field"])
    # A slow upload, so the progress bar can be seen.
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 20,
            "downloadThroughput": -1,
            "uploadThroughput": 150_000,
        },
    )
    photo = photo_png(480, 360)  # ~200 KB: a second or two at that speed
    over = page.evaluate(
        DROP,
        [
            target,
            [
                ["sunset.png", b64(photo), "image/png"],
                ["notes.txt", b64(b"hello"), "text/plain"],
            ],
        ],
    )
    assert over == "ok"  # the cell showed itself as a drop target
    page.wait_for_selector(f"{target}.uploading .att-progress")
    assert "Uploading 2 files" in page.inner_text(f"{target} .att-progress")
    shot(page, "grid-attachments-uploading")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": -1,
        },
    )
    page.wait_for_selector(f"{target} img.att-mini", timeout=20_000)
    assert page.locator(f"{target}.uploading").count() == 0
    # The thumbnail is the server's (a 256 px WebP), and it really loaded.
    src = page.get_attribute(f"{target} img.att-mini", "src")
    assert src.endswith("?thumb=1")
    page.wait_for_function(
        f"document.querySelector('{target} img.att-mini').naturalWidth === 256"
    )
    assert "notes.txt" in page.inner_text(target)
    assert "Added 2 files" in page.inner_text("#row-error")
    shot(page, "grid-attachments-dropped")
    # The rows survive a reload (saved, not just drawn); taller rows, bigger thumbnails.
    page.reload()
    page.wait_for_selector(f"{target} img.att-mini")
    page.click("button[data-row-height=medium]")
    page.wait_for_function(
        f"document.querySelector('{target} img.att-mini').getBoundingClientRect().height > 40"
    )
    shot(page, "grid-attachments-medium")
    context.close()


def test_the_cell_popup_adds_and_removes_files(
    browser, live_server_url, table, tmp_path
):
    context, page = open_grid(browser, live_server_url, table)
    target = cell(table["field"], 2)
    page.click(target)
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{target} .files-popup .att-upload")
    assert "No files." in page.inner_text(f"{target} .files-popup")
    image = tmp_path / "portrait.jpg"
    image.write_bytes(image_bytes(300, 600, "JPEG", (20, 90, 200)))
    page.set_input_files(f"{target} .files-popup input[type=file]", [str(image)])
    page.wait_for_selector(f"{target} .files-popup img.att-thumb")
    # The cell behind the popup shows the new thumbnail too.
    page.wait_for_selector(f"{target} > .c img.att-mini")
    page.wait_for_function(
        f"document.querySelector('{target} .files-popup img.att-thumb').naturalHeight === 256"
    )
    shot(page, "grid-attachments-popup")
    # A slow answer: the clicked button leaves the page while the popup waits, and that
    # focus loss must not close it.
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 600,
            "downloadThroughput": -1,
            "uploadThroughput": -1,
        },
    )
    page.click(f"{target} .files-popup button:has-text('Remove')")
    page.wait_for_selector(f"{target} .files-popup >> text=No files.")
    page.wait_for_selector(f"{target} > .c img.att-mini", state="detached")
    page.keyboard.press("Escape")
    page.wait_for_selector(f"{target} .files-popup", state="detached")
    context.close()


def test_refusals_show_on_the_cell_and_nothing_is_lost(browser, live_server_url, table):
    context, page = open_grid(browser, live_server_url, table)
    target = cell(table["field"])
    page.evaluate(DROP, [target, [["keep.txt", b64(b"keep me"), "text/plain"]]])
    page.wait_for_selector(f"{target} >> text=keep.txt")
    # Too many files for one cell (NOCO_ATTACHMENT_MAX_FILES is 10): the server refuses.
    many = [[f"f{i}.txt", b64(b"x"), "text/plain"] for i in range(10)]
    page.evaluate(DROP, [target, many])
    page.wait_for_selector(f"{target}.invalid .cell-error")
    assert "at most 10 files" in page.inner_text(f"{target} .cell-error")
    assert "at most 10 files" in page.inner_text("#row-error")
    assert "keep.txt" in page.inner_text(target)  # the cell's files are still there
    shot(page, "grid-attachments-refused")
    # Too big (over NOCO_ATTACHMENT_MAX_SIZE, 10 MiB): refused before it is sent.
    page.evaluate(
        """([selector]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(10 * 1024 * 1024 + 1)], "huge.bin"));
        const td = document.querySelector(selector);
        td.dispatchEvent(new DragEvent('dragover', {bubbles: true, cancelable: true, dataTransfer: dt}));
        td.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: dt}));
    }""",
        [target],
    )
    page.wait_for_function(
        f"document.querySelector('{target} .cell-error').textContent.includes('huge.bin')"
    )
    assert "is larger than 10240 KiB" in page.inner_text(f"{target} .cell-error")
    # A drop on a cell of another field is no upload, and the page stays.
    title = 'tr.grid-row[data-n="1"] td.t-SingleLineText'
    over = page.evaluate(DROP, [title, [["x.txt", b64(b"x"), "text/plain"]]])
    assert over == "none"
    assert "Drop files on a cell of an attachment field" in page.inner_text(
        "#row-error"
    )
    assert page.url == table["url"]
    context.close()


def test_a_viewer_cannot_drop_files(browser, live_server_url, table):
    context, page = open_grid(browser, live_server_url, table, viewer=True)
    target = cell(table["field"])
    over = page.evaluate(DROP, [target, [["x.txt", b64(b"x"), "text/plain"]]])
    assert over == "refused"
    page.wait_for_selector("#row-error >> text=read-only for you")
    assert "Files not added: 'files' is read-only for you." in page.inner_text(
        "#row-error"
    )
    assert page.locator(f"{target} .att-progress").count() == 0
    # The popup lists the files but offers no upload.
    page.click(target)
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{target} .files-popup .attachments")
    assert page.locator(f"{target} .files-popup input[type=file]").count() == 0
    shot(page, "grid-attachments-viewer")
    context.close()


SHARE = """
from bases.models import Table
from django.contrib.auth import get_user_model
from permissions.checks import Actor
from views import services, shares
user = get_user_model().objects.get(email="admin@example.com")
t = Table.objects.get(pk="{table_id}")
print(shares.share_enable(actor=Actor(user=user), view=services.default_view(t)).token)
"""


def test_thumbnails_in_a_shared_view(browser, live_server_url, table):
    context, page = open_grid(browser, live_server_url, table)
    target = cell(table["field"])
    page.evaluate(DROP, [target, [["sunset.png", b64(photo_png()), "image/png"]]])
    page.wait_for_selector(f"{target} img.att-mini")
    context.close()
    table_id = table["url"].rstrip("/").split("/")[-1]
    token = live_server_url.manage(
        "shell", "-c", SHARE.format(table_id=table_id)
    ).splitlines()[-1]
    anonymous = browser.new_context(viewport={"width": 1000, "height": 500})
    visitor = anonymous.new_page()
    visitor.goto(f"{live_server_url}/s/{token}/")
    visitor.wait_for_selector(".share-grid img.att-mini")
    visitor.wait_for_function(
        "document.querySelector('.share-grid img.att-mini').naturalWidth === 256"
    )
    shot(visitor, "grid-attachments-shared-view")
    anonymous.close()
