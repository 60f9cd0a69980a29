"""Roles in the browser: an owner invites people; each sees only the controls their role allows."""

import uuid

import pytest

from tests.browser.conftest import shot

pytestmark = pytest.mark.browser


def login_owner(page, url):
    page.goto(url + "/login/")
    page.fill("input[name=username]", "admin@example.com")
    page.fill("input[name=password]", "browser-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")


def invite(page, url, email: str, role: str) -> str:
    """As the owner: open the demo base's Members page, invite, return the shown link."""
    page.goto(url + "/")
    page.click("text=Demo CRM")
    page.click("aside >> text=Members")
    page.fill("#invite-email", email)
    page.select_option("#invite-role", role)
    page.click("#invite-form button[type=submit]")
    link = page.locator("#invite-link code").inner_text().strip()
    assert "/invites/" in link
    return link


def join(browser, link: str, email: str):
    """A new person opens the link, signs up with the invited email and joins."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(link)
    page.click("#invite-signup")
    assert page.input_value("input[name=email]") == email
    page.fill("input[name=password1]", "browser-pass-456")
    page.fill("input[name=password2]", "browser-pass-456")
    page.click("button[type=submit]")
    page.click("#accept-invite")
    page.wait_for_selector("aside >> text=projects")
    return context, page


def open_projects(page):
    page.click("aside >> text=projects")
    page.wait_for_selector("table.data tbody tr")


@pytest.fixture
def owner_page(browser, live_server_url):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    login_owner(page, live_server_url)
    yield page
    context.close()


def test_invited_viewer_sees_a_read_only_grid(browser, owner_page, live_server_url):
    email = f"viewer-{uuid.uuid4().hex[:8]}@example.com"
    link = invite(owner_page, live_server_url, email, "viewer")
    shot(owner_page, "roles-invite-link")
    context, page = join(browser, link, email)
    assert "your role: viewer" in page.locator("aside").inner_text()
    open_projects(page)
    assert page.locator("td.editable").count() == 0
    assert page.locator("text=+ Add row").count() == 0
    assert page.locator("button[aria-label^='Delete row']").count() == 0
    assert page.locator("text=Add a field").count() == 0
    first = page.locator("table.data tbody tr").first.locator("td.cell").nth(1)
    first.dblclick()
    page.wait_for_timeout(300)
    assert page.locator("table.data input[name=value]").count() == 0
    shot(page, "roles-viewer-grid")
    context.close()


def test_editor_edits_but_cannot_add_rows(browser, owner_page, live_server_url):
    email = f"editor-{uuid.uuid4().hex[:8]}@example.com"
    context, page = join(
        browser, invite(owner_page, live_server_url, email, "editor"), email
    )
    open_projects(page)
    assert page.locator("text=+ Add row").count() == 0
    assert page.locator("button[aria-label^='Delete row']").count() == 0
    cell = page.locator("table.data tbody tr").first.locator("td.editable").first
    cell.dblclick()
    editor = page.locator("table.data input[name=value]")
    editor.wait_for()
    editor.fill("Edited by an editor")
    editor.press("Enter")
    page.wait_for_selector("table.data td:has-text('Edited by an editor')")
    page.reload()
    page.wait_for_selector("table.data td:has-text('Edited by an editor')")
    shot(page, "roles-editor-grid")
    context.close()


def test_commenter_comments_on_a_row(browser, owner_page, live_server_url):
    email = f"commenter-{uuid.uuid4().hex[:8]}@example.com"
    context, page = join(
        browser, invite(owner_page, live_server_url, email, "commenter"), email
    )
    open_projects(page)
    assert page.locator("td.editable").count() == 0
    page.click("button[aria-label='Comments on row 1']")
    box = page.locator("#comments-panel textarea[name=text]")
    box.wait_for()
    box.fill("Looks good <b>to me</b>")
    page.click("#comments-panel button[type=submit]")
    page.wait_for_selector(
        "#comments-panel .comment-text:has-text('Looks good <b>to me</b>')"
    )
    assert email in page.locator("#comments-panel").inner_text()
    shot(page, "roles-commenter-thread")
    page.reload()
    badge = page.locator("button[aria-label='Comments on row 1'] .comment-count")
    assert int(badge.inner_text()) >= 1
    context.close()
