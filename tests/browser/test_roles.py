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
    # Sign-up leads to the login page with the address filled in, then back to the invite.
    assert page.input_value("input[name=username]") == email
    page.fill("input[name=password]", "browser-pass-456")
    page.click("button[type=submit]")
    page.click("#accept-invite")
    page.wait_for_selector("aside >> text=projects")
    return context, page


def open_projects(page):
    """The grid of the demo base's projects, once its script has taken over."""
    page.click("aside >> text=projects")
    page.wait_for_selector("#grid tr.grid-row")
    page.wait_for_function(
        "window.grid && window.grid.store && window.grid.root.isConnected"
    )


def name_cell(page, n: int):
    fid = page.evaluate("window.grid.columns.find(c => c.title === 'name').id")
    return page.locator(f'#grid tr.grid-row[data-n="{n}"] td[data-f="{fid}"]')


def expand_row(page, n: int):
    """Select the row's name cell and press Space (the expand button shows on hover)."""
    name_cell(page, n).click()
    page.keyboard.press("Space")


def no_add_or_delete(page):
    # Nor any schema action: no "+" at the end of the header row, no header menus.
    assert (
        page.locator("[data-field-action], [data-field-menu], #field-dialog").count()
        == 0
    )
    page.locator("#grid thead th[data-f]").first.click()
    assert page.locator("#field-menu").count() == 0
    assert page.locator("[data-grid-action=add]").count() == 0
    assert page.locator("text=+ Add row").count() == 0
    assert page.locator(".grid-delete").count() == 0
    assert page.evaluate("window.grid.cfg.canAdd") is False
    assert page.evaluate("window.grid.cfg.canDelete") is False


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
    assert page.locator("aside .role-badge").text_content().strip() == "viewer"
    open_projects(page)
    # No column is editable, every plain cell is marked read-only, no row or field controls.
    assert page.evaluate("window.grid.columns.filter(c => c.edit).length") == 0
    assert (
        page.locator("#grid td.cell:not(.ro):not(.t-LinkToAnotherRecord)").count() == 0
    )
    no_add_or_delete(page)
    assert page.locator("text=Add a field").count() == 0
    # Neither double-click nor typing opens an editor.
    cell = name_cell(page, 1)
    before = cell.inner_text()
    cell.dblclick()
    page.keyboard.type("nope")
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    assert page.locator("#grid .cell-input, #grid td.editing").count() == 0
    assert name_cell(page, 1).inner_text() == before
    shot(page, "roles-viewer-grid")
    # The expanded row is read-only too: no inputs, no Save.
    expand_row(page, 1)
    form = page.locator("#grid-modal .expand-form")
    form.wait_for()
    assert form.locator("input, select, textarea").count() == 0
    assert form.locator("button[type=submit]").count() == 0
    # Nor the comment box (a viewer reads comments).
    page.wait_for_selector("#grid-modal section.comments")
    assert page.locator("#grid-modal section.comments textarea").count() == 0
    shot(page, "roles-viewer-expanded")
    context.close()


def test_editor_edits_but_cannot_add_rows(browser, owner_page, live_server_url):
    email = f"editor-{uuid.uuid4().hex[:8]}@example.com"
    context, page = join(
        browser, invite(owner_page, live_server_url, email, "editor"), email
    )
    open_projects(page)
    no_add_or_delete(page)
    cell = name_cell(page, 1)
    cell.dblclick()
    editor = page.locator("#grid .cell-input")
    editor.wait_for()
    editor.fill("Edited by an editor")
    editor.press("Enter")
    fid = page.evaluate("window.grid.columns.find(c => c.title === 'name').id")
    page.wait_for_function(
        "(sel) => { const el = document.querySelector(sel); return el"
        " && !el.classList.contains('editing')"
        " && el.innerText.includes('Edited by an editor'); }",
        arg=f'#grid tr.grid-row[data-n="1"] td[data-f="{fid}"]',
    )
    shot(page, "roles-editor-grid")
    page.reload()
    page.wait_for_selector("#grid tr.grid-row")
    assert "Edited by an editor" in name_cell(page, 1).inner_text()
    context.close()


def test_commenter_comments_on_a_row(browser, owner_page, live_server_url):
    email = f"commenter-{uuid.uuid4().hex[:8]}@example.com"
    context, page = join(
        browser, invite(owner_page, live_server_url, email, "commenter"), email
    )
    open_projects(page)
    assert page.evaluate("window.grid.columns.filter(c => c.edit).length") == 0
    no_add_or_delete(page)
    # The thread is in the expanded row (loaded by htmx when the row opens).
    expand_row(page, 1)
    page.locator("#grid-modal .expand-form").wait_for()
    box = page.locator("#grid-modal section.comments textarea[name=text]")
    box.wait_for()
    box.fill("Looks good <b>to me</b>")
    page.click("#grid-modal section.comments button[type=submit]")
    page.wait_for_selector(
        "#grid-modal section.comments .comment-text:has-text('Looks good <b>to me</b>')"
    )
    assert page.locator("#grid-modal section.comments .comment-text b").count() == 0
    assert email in page.locator("#grid-modal section.comments").inner_text()
    shot(page, "roles-commenter-thread")
    page.reload()
    page.wait_for_selector("#grid tr.grid-row")
    badge = page.locator("#grid tr.grid-row[data-n='1'] .comment-count")
    assert int(badge.inner_text()) >= 1
    context.close()
