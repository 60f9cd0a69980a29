"""A newcomer's first minutes: log in, open the demo base, look at a table, add a base."""

import pytest

from tests.browser.conftest import shot

pytestmark = pytest.mark.browser


def login(page, url):
    page.goto(url + "/")
    page.fill("input[name=username]", "admin@example.com")
    page.fill("input[name=password]", "browser-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")


def test_login_demo_base_and_table(page, live_server_url):
    page.goto(live_server_url + "/")
    assert page.locator("h1").inner_text() == "Log in"
    shot(page, "login")
    login(page, live_server_url)
    page.click("text=Demo CRM")
    page.wait_for_selector("text=projects")
    shot(page, "demo-base")
    page.click("aside >> text=projects")
    page.wait_for_selector("table.data tbody tr.grid-row")
    page.wait_for_function("window.grid && window.grid.store")
    # The grid keeps only the rows near the viewport in the page; it knows them all.
    assert page.evaluate("window.grid.store.total") == 120
    assert page.locator("table.data tbody tr.grid-row").count() >= 15
    headers = page.locator("table.data th").all_inner_texts()
    assert "status" in headers and "budget" in headers
    shot(page, "demo-projects")


def test_connection_test_button_reports_error(page, live_server_url):
    login(page, live_server_url)
    page.goto(live_server_url + "/bases/new/")
    page.fill("input[name=title]", "Warehouse")
    page.check("input[name=mode][value=url]")
    page.fill("input[name=url]", "postgresql://app:secret@127.0.0.1:1/warehouse")
    page.click("text=Test connection")
    result = page.locator("#connection-result")
    result.locator(".error").wait_for()
    assert "CONNECTION_REFUSED" in result.inner_text()
    assert "secret" not in result.inner_text()
    shot(page, "connection-test")


def test_swagger_page_renders_the_base_document(page, live_server_url):
    login(page, live_server_url)
    page.click("text=Demo CRM")
    page.click("text=REST API (Swagger)")
    page.wait_for_selector(".swagger-ui .opblock-tag", timeout=15000)
    tags = [
        t.lower() for t in page.locator(".swagger-ui .opblock-tag").all_inner_texts()
    ]
    assert any("projects" in t for t in tags) and any("clients" in t for t in tags)
    assert (
        page.locator(".swagger-ui .opblock").count() >= 15
    )  # list/create/update/delete/count/read/links…
    shot(page, "swagger")


def test_schema_sync_diff_shows_and_applies(page, live_server_url):
    login(page, live_server_url)
    page.click("text=Demo CRM")
    page.click("text=Data source & sync")
    page.click("text=Check for changes")
    page.locator("#sync-diff .ok").wait_for()
    assert "matches the database" in page.locator("#sync-diff").inner_text()
    shot(page, "sync")


def grid_cell(page, n: int, c: int):
    """Row n (1-based), data column c (0-based) of the grid."""
    page.wait_for_function("window.grid && window.grid.store")  # its script has run
    return page.locator(f'#grid tr.grid-row[data-n="{n}"] td.cell').nth(c)


def wait_cell(page, n: int, c: int, text: str):
    page.wait_for_function(
        "([n, c, text]) => { const td = document.querySelectorAll("
        "`#grid tr.grid-row[data-n='${n}'] td.cell`)[c];"
        " return td && !td.classList.contains('editing') && td.innerText.includes(text); }",
        arg=[n, c, text],
    )


def test_edit_cells_in_the_browser(page, live_server_url):
    login(page, live_server_url)
    page.click("text=Demo CRM")
    page.click("aside >> text=clients")
    cell = grid_cell(page, 3, 1)  # name
    cell.dblclick()
    editor = page.locator("#grid td.editing input")
    editor.fill("Zoë & Co")
    editor.press("Enter")
    wait_cell(page, 3, 1, "Zoë & Co")
    grid_cell(page, 3, 2).dblclick()  # email
    box = page.locator("#grid td.editing input")
    box.fill("not-an-email")
    box.press("Enter")
    error = page.locator("#grid td.invalid .cell-error")
    error.wait_for()
    assert "not a valid email" in error.inner_text()
    assert page.locator("#grid td.invalid input").input_value() == "not-an-email"
    shot(page, "cell-edit-error")
    page.reload()
    page.wait_for_selector("#grid tr.grid-row")
    page.wait_for_function("window.grid && window.grid.store")
    assert "Zoë & Co" in page.locator('#grid tr.grid-row[data-n="3"]').inner_text()


def test_escape_cancels_a_cell_edit(page, live_server_url):
    login(page, live_server_url)
    page.click("text=Demo CRM")
    page.click("aside >> text=tasks")
    cell = grid_cell(page, 1, 1)
    before = cell.inner_text()
    cell.dblclick()
    box = page.locator("#grid td.editing input")
    box.fill("never saved")
    box.press("Escape")
    page.wait_for_selector("#grid td.editing", state="detached")
    assert grid_cell(page, 1, 1).inner_text() == before
    page.reload()
    page.wait_for_selector("#grid tr.grid-row")
    page.wait_for_function("window.grid && window.grid.store")
    assert grid_cell(page, 1, 1).inner_text() == before


def test_arrow_keys_and_enter_edit_like_a_spreadsheet(page, live_server_url):
    login(page, live_server_url)
    page.click("text=Demo CRM")
    page.click("aside >> text=projects")
    grid_cell(page, 1, 1).click()  # row 1, name
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")  # row 2, status
    assert page.evaluate("[window.grid.active.r, window.grid.active.c]") == [1, 2]
    page.keyboard.press("ArrowLeft")  # row 2, name
    page.keyboard.press("Enter")
    box = page.locator('#grid tr.grid-row[data-n="2"] td.editing input')
    box.fill("Typed with the keyboard")
    box.press("Enter")
    wait_cell(page, 2, 1, "Typed with the keyboard")
    # Enter saved and moved down; the grid has the keyboard again.
    assert page.evaluate("[window.grid.active.r, window.grid.active.c]") == [2, 1]
    assert page.evaluate("document.activeElement.id") == "grid"


def test_add_and_delete_a_row(page, live_server_url):
    login(page, live_server_url)
    page.click("text=Demo CRM")
    page.click("aside >> text=tasks")
    page.wait_for_selector("#grid tr.grid-row")
    page.wait_for_function("window.grid && window.grid.store")
    before = page.evaluate("window.grid.store.total")
    first_id = page.locator('#grid tr.grid-row[data-n="1"]').get_attribute("data-id")
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator('#grid tr.grid-row[data-n="1"] td.rownum').click()
    page.click(".grid-delete")
    page.wait_for_function(f"window.grid.store.total === {before - 1}")
    page.reload()
    page.wait_for_selector("#grid tr.grid-row")
    page.wait_for_function("window.grid && window.grid.store")
    assert (
        page.locator('#grid tr.grid-row[data-n="1"]').get_attribute("data-id")
        != first_id
    )
    page.click("text=+ Add row")
    page.wait_for_function(f"window.grid.store.total === {before}")
    # A client that projects still point to cannot go: the reason shows, the row stays.
    page.click("aside >> text=clients")
    page.wait_for_selector("#grid tr.grid-row")
    page.wait_for_function("window.grid && window.grid.store")
    page.locator('#grid tr.grid-row[data-n="1"] td.rownum').click()
    page.click(".grid-delete")
    page.locator("#row-error .error").wait_for()
    assert "refused" in page.locator("#row-error").inner_text()
    assert page.evaluate("window.grid.store.total") == 40
    shot(page, "rows")
