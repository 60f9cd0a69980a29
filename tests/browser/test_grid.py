"""The grid in a real browser: every field type's editor, the keyboard, ranges, undo, rows,
layout, the expanded row, and a 60,000-row table scrolled to row 50,000.

Edits happen in a base made for these tests (`Grid types`: a table with every field type, a
`grid layout` view) and a connected SQLite file, so the demo base stays as the other browser
tests expect it (its pages are only read here, and one refused delete is tried).
"""

import json
import sqlite3

import pytest

from tests.browser.conftest import shot
from tests.browser.test_first_visit import login

pytestmark = pytest.mark.browser

SETUP = """
import json
from django.contrib.auth import get_user_model
from bases import records, schema_services, services
from bases.models import Base
from permissions.checks import Actor
from views.models import View
from views.services import default_view
actor = Actor(user=get_user_model().objects.get(email="admin@example.com"))
demo = Base.objects.get(title="Demo CRM")
base = Base.objects.filter(title="Grid types").first()
if base is None:
    base = services.base_create(actor=actor, title="Grid types")
    people = schema_services.table_create(actor=actor, base=base, title="people", columns=[
        {"title": "name", "uidt": "SingleLineText"}])
    records.insert_many(people, [{"name": f"Person {i} Labs"} for i in range(1, 9)])
    types = schema_services.table_create(actor=actor, base=base, title="types", columns=[
        {"title": "name", "uidt": "SingleLineText"},
        {"title": "notes", "uidt": "LongText"},
        {"title": "count", "uidt": "Number"},
        {"title": "price", "uidt": "Currency", "options": {"precision": 2, "currency": "EUR"}},
        {"title": "share", "uidt": "Percent"},
        {"title": "ok", "uidt": "Checkbox"},
        {"title": "colour", "uidt": "SingleSelect", "choices": ["red", "green", "blue"]},
        {"title": "tags", "uidt": "MultiSelect", "choices": ["a", "b", "c"]},
        {"title": "day", "uidt": "Date"},
        {"title": "at", "uidt": "DateTime"},
        {"title": "mail", "uidt": "Email"},
        {"title": "site", "uidt": "URL"},
        {"title": "phone", "uidt": "PhoneNumber"},
        {"title": "data", "uidt": "JSON"},
    ])
    schema_services.link_create(actor=actor, table=types, data={
        "title": "people", "relation": "mm", "related_table_id": people.pk})
    records.insert_many(types, [{"name": f"row {i}", "site": "https://example.com/x"}
                                for i in range(1, 7)])
types = base.tables.get(title="types")
default_view(types)  # made first, so it stays the table's first view
view = types.views.filter(title="grid layout").first() or View.objects.create(
    table=types, title="grid layout", order=90)
print(json.dumps({"base": base.pk, "types": types.pk, "layout_view": view.pk,
                  "demo": demo.pk, "projects": demo.tables.get(title="projects").pk,
                  "clients": demo.tables.get(title="clients").pk}))
"""


@pytest.fixture(scope="module")
def ids(live_server_url):
    return json.loads(live_server_url.manage("shell", "-c", SETUP).splitlines()[-1])


def wait_grid(page):
    """The grid's rows are in the HTML before its script has run: wait for both."""
    page.wait_for_selector("#grid tr.grid-row")
    page.wait_for_function(
        "window.grid && window.grid.store && window.grid.root.isConnected"
    )


def open_grid(page, url, ids, table, tail=""):
    login(page, url)
    page.goto(f"{url}/bases/{ids['base']}/tables/{ids[table]}/{tail}")
    wait_grid(page)


def column(page, title) -> tuple[int, str]:
    columns = page.evaluate("window.grid.columns.map(c => [c.title, c.id])")
    index = [t for t, _ in columns].index(title)
    return index, columns[index][1]


def td(page, n, title):
    _, fid = column(page, title)
    return page.locator(f'#grid tr.grid-row[data-n="{n}"] td[data-f="{fid}"]')


def select(page, n, title):
    """Click a cell (selects it, the grid takes the keyboard)."""
    cell = td(page, n, title)
    cell.click()
    page.wait_for_function(
        "([n, c]) => window.grid.active.r === n - 1 && window.grid.active.c === c",
        arg=[n, column(page, title)[0]],
    )
    return cell


def cell_selector(page, n, title) -> str:
    return f'#grid tr.grid-row[data-n="{n}"] td[data-f="{column(page, title)[1]}"]'


def saved(page, n, title, text):
    """Wait until the cell (re-rendered by the server after a save) shows `text`."""
    page.wait_for_function(
        "([sel, text]) => { const el = document.querySelector(sel);"
        " return el && !el.classList.contains('editing') && el.innerText.includes(text); }",
        arg=[cell_selector(page, n, title), text],
    )


def data_v(page, n, title, value):
    page.wait_for_function(
        "([sel, v]) => { const el = document.querySelector(sel);"
        " return el && el.dataset.v === v; }",
        arg=[cell_selector(page, n, title), value],
    )


def test_edit_every_field_type(page, live_server_url, ids):
    open_grid(page, live_server_url, ids, "types")
    # Text: typing starts editing, Enter saves and moves down.
    select(page, 1, "name")
    page.keyboard.type("Zoë & Co")
    page.keyboard.press("Enter")
    saved(page, 1, "name", "Zoë & Co")
    assert page.evaluate("window.grid.active.r") == 1
    # Long text: a multi-line editor (Shift+Enter is a new line).
    select(page, 1, "notes")
    page.keyboard.press("Enter")
    page.keyboard.type("line one")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("line two")
    page.keyboard.press("Enter")
    saved(page, 1, "notes", "line two")
    assert "line one\nline two" == td(page, 1, "notes").get_attribute("data-v")
    # Numbers: formatted display, locale-friendly input.
    select(page, 1, "price")
    page.keyboard.type("1,234.5")
    page.keyboard.press("Enter")
    saved(page, 1, "price", "€ 1,234.50")
    select(page, 1, "share")
    page.keyboard.type("12.5%")
    page.keyboard.press("Tab")
    saved(page, 1, "share", "12.5 %")
    select(page, 1, "count")
    page.keyboard.type("42")
    page.keyboard.press("Enter")
    saved(page, 1, "count", "42")
    # Checkbox: one click.
    td(page, 1, "ok").locator(".cb").click()
    data_v(page, 1, "ok", "true")
    # Single select: dropdown with colours, filter and pick.
    select(page, 1, "colour")
    page.keyboard.press("Enter")
    page.wait_for_selector(".select-popup li .chip")
    shot(page, "grid-select-editor")
    page.keyboard.type("gre")
    page.keyboard.press("Enter")
    saved(page, 1, "colour", "green")
    assert "background" in td(page, 1, "colour").locator(".chip").get_attribute("style")
    # A creator adds an option inline.
    select(page, 2, "colour")
    page.keyboard.type("purple")
    page.wait_for_selector(".select-popup li.add-option")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    saved(page, 2, "colour", "purple")
    # Multi select: toggle two options, then Done.
    select(page, 1, "tags")
    page.keyboard.press("Enter")
    page.click(".select-popup li[data-title=a]")
    page.click(".select-popup li[data-title=c]")
    page.click(".select-popup .select-done")
    saved(page, 1, "tags", "c")
    assert td(page, 1, "tags").get_attribute("data-v") == "a,c"
    # Dates are typed as in a spreadsheet: ISO, or the locale's order (this browser is
    # en-US: month first), "2026-12-24" once became year 61224 in a native date input.
    select(page, 1, "day")
    page.keyboard.type("2026-12-24")
    page.keyboard.press("Enter")
    saved(page, 1, "day", "2026-12-24")
    select(page, 1, "day")
    page.keyboard.type("2/3/2027")
    page.keyboard.press("Enter")
    saved(page, 1, "day", "2027-02-03")
    select(page, 1, "at")
    page.keyboard.type("2027-02-03 14:30")
    page.keyboard.press("Enter")
    saved(page, 1, "at", "2027-02-03 14:30")
    # The picker is a help beside the typed text: what it picks fills the text in.
    select(page, 2, "day")
    page.keyboard.press("Enter")
    editor = page.locator("#grid td.editing input.cell-input")
    assert editor.get_attribute("type") == "text"
    assert page.locator("#grid td.editing .date-pick").is_visible()
    page.evaluate(
        "() => { const n = document.querySelector('#grid td.editing .date-native');"
        " n.value = '2027-05-06'; n.dispatchEvent(new Event('change')); }"
    )
    assert editor.input_value() == "2027-05-06"
    page.keyboard.press("Enter")
    saved(page, 2, "day", "2027-05-06")
    # Email: refused with the reason, typed text kept; then fixed.
    select(page, 1, "mail")
    page.keyboard.type("not-an-email")
    page.keyboard.press("Enter")
    error = page.locator("#grid td.editing .cell-error")
    error.wait_for()
    assert "not a valid email" in error.inner_text()
    assert page.locator("#grid td.editing input").input_value() == "not-an-email"
    shot(page, "grid-invalid-cell")
    page.locator("#grid td.editing input").fill("hello@example.com")
    page.keyboard.press("Enter")
    saved(page, 1, "mail", "hello@example.com")
    # URL: clickable.
    link = td(page, 1, "site").locator("a")
    assert link.get_attribute("href") == "https://example.com/x"
    assert link.get_attribute("rel") == "noopener noreferrer"
    # Phone: validated.
    select(page, 1, "phone")
    page.keyboard.type("+351 21 123 4567")
    page.keyboard.press("Enter")
    saved(page, 1, "phone", "+351 21 123 4567")
    # JSON: checked in the browser before it is sent.
    select(page, 1, "data")
    page.keyboard.press("Enter")
    page.keyboard.type('{"a": 1')
    page.keyboard.press("Enter")
    page.wait_for_selector("#grid td.editing .cell-error >> text=invalid JSON")
    page.keyboard.type("}")
    page.keyboard.press("Enter")
    saved(page, 1, "data", '{"a": 1}')
    # Read-only key column: no editor, a message says why.
    select(page, 1, "Id")
    page.keyboard.press("Enter")
    page.wait_for_selector("#row-error >> text=read-only")
    assert page.locator("#grid td.editing").count() == 0
    shot(page, "grid-types")
    # Everything above was saved: a reload shows it.
    page.reload()
    wait_grid(page)
    row = page.locator('#grid tr.grid-row[data-n="1"]').inner_text()
    for text in ("Zoë & Co", "€ 1,234.50", "green", "2027-02-03", "hello@example.com"):
        assert text in row


def test_link_picker_links_and_shows_chips(page, live_server_url, ids):
    open_grid(page, live_server_url, ids, "types")
    select(page, 3, "people")
    page.keyboard.press("Enter")
    page.wait_for_selector(".link-popup .lp-search")
    page.keyboard.type("Person 1 Labs")
    # The search has answered: a click on the list shown before it could race its reload.
    page.wait_for_function(
        "() => document.querySelectorAll('.link-popup .lp-item').length === 1"
    )
    first = page.locator(".link-popup .lp-item[data-link=link]").first
    name = first.inner_text().lstrip("+ ").strip()
    first.click()
    page.wait_for_selector(f".link-popup .lp-chips .chip >> text={name}")
    shot(page, "grid-link-picker")
    page.keyboard.press("Escape")
    saved(page, 3, "people", name)  # the linked record's display value, as a chip


def test_keyboard_range_copy_paste_and_undo(page, live_server_url, ids):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_grid(page, live_server_url, ids, "types")
    # Arrows move, Tab moves right, Shift+arrows select a 3x3 range.
    select(page, 4, "name")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("[window.grid.active.r, window.grid.active.c]") == [
        2,
        column(page, "name")[0],
    ]
    page.keyboard.press("ArrowDown")
    assert page.evaluate("window.grid.active.r") == 3
    # Fill a 3x3 block by pasting from a spreadsheet (tab-separated, CRLF, a quoted cell).
    select(page, 4, "name")
    block = 'A1\tnote 1\t1\r\nA2\t"two\tlines"\t2\r\nA3\tnote 3\t3\r\n'
    page.evaluate("text => navigator.clipboard.writeText(text)", block)
    page.keyboard.press("Control+V")
    saved(page, 6, "count", "3")
    assert td(page, 5, "notes").get_attribute("data-v") == "two\tlines"
    assert td(page, 4, "name").inner_text() == "A1"
    # Copy that range back out as TSV.
    select(page, 4, "name")
    page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    assert page.locator("#grid td.sel").count() == 9
    shot(page, "grid-range")
    # Click-drag selects a range too.
    start, end = td(page, 1, "name").bounding_box(), td(page, 2, "notes").bounding_box()
    page.mouse.move(start["x"] + 10, start["y"] + 10)
    page.mouse.down()
    page.mouse.move(end["x"] + 10, end["y"] + 10, steps=4)
    page.mouse.up()
    assert page.locator("#grid td.sel").count() == 4
    select(page, 4, "name")
    page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Control+C")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == 'A1\tnote 1\t1\nA2\t"two\tlines"\t2\nA3\tnote 3\t3'
    # A paste with a bad value saves nothing and names the cell.
    select(page, 4, "count")
    page.evaluate("text => navigator.clipboard.writeText(text)", "7\nseven\n9")
    page.keyboard.press("Control+V")
    page.wait_for_selector("#grid td.invalid")
    assert "not a number" in td(page, 5, "count").get_attribute("data-error")
    assert td(page, 4, "count").get_attribute("data-v") == "1"  # atomic: not 7
    page.reload()
    wait_grid(page)
    assert td(page, 4, "count").get_attribute("data-v") == "1"
    # Undo / redo a cell edit, then undo the whole paste.
    select(page, 4, "name")
    page.keyboard.type("changed")
    page.keyboard.press("Enter")
    saved(page, 4, "name", "changed")
    page.keyboard.press("Control+Z")
    saved(page, 4, "name", "A1")
    page.keyboard.press("Control+Shift+Z")
    saved(page, 4, "name", "changed")
    page.keyboard.press("Control+Z")
    saved(page, 4, "name", "A1")
    # Delete clears the selected range.
    select(page, 6, "name")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Delete")
    data_v(page, 6, "notes", "")
    assert td(page, 6, "name").get_attribute("data-v") == ""
    # Esc cancels an edit.
    select(page, 5, "name")
    page.keyboard.type("never saved")
    page.keyboard.press("Escape")
    assert td(page, 5, "name").inner_text() == "A2"


def test_add_and_delete_rows(page, live_server_url, ids):
    open_grid(page, live_server_url, ids, "types")
    before = page.evaluate("window.grid.store.total")
    page.click(".grid-bar .grid-add")
    page.wait_for_function(f"window.grid.store.total === {before + 1}")
    page.wait_for_selector(f'#grid tr.grid-row[data-n="{before + 1}"]:not(.loading)')
    page.keyboard.type("added row")
    page.keyboard.press("Enter")
    saved(page, before + 1, "name", "added row")
    # The blank row at the bottom adds one too.
    page.click("#grid tfoot .add-cell")
    page.wait_for_function(f"window.grid.store.total === {before + 2}")
    page.wait_for_selector(f'#grid tr.grid-row[data-n="{before + 2}"]:not(.loading)')
    # Select both new rows by their numbers, delete them (confirmed).
    page.locator(f'#grid tr.grid-row[data-n="{before + 1}"] td.rownum').click()
    page.locator(f'#grid tr.grid-row[data-n="{before + 2}"] td.rownum').click(
        modifiers=["Shift"]
    )
    assert page.locator(".grid-delete").inner_text() == "Delete 2 rows"
    page.on("dialog", lambda dialog: dialog.accept())
    page.click(".grid-delete")
    page.wait_for_function(f"window.grid.store.total === {before}")
    page.reload()
    wait_grid(page)
    assert page.evaluate("window.grid.store.total") == before
    # A client that projects point to cannot go: the reason shows, the row stays.
    page.goto(f"{live_server_url}/bases/{ids['demo']}/tables/{ids['clients']}/")
    wait_grid(page)
    page.locator('#grid tr.grid-row[data-n="1"] td.rownum').click()
    page.click(".grid-delete")
    page.locator("#row-error .error").wait_for()
    assert "refused" in page.locator("#row-error").inner_text()
    assert page.evaluate("window.grid.store.total") == 40


def test_resize_reorder_and_row_height_persist(page, live_server_url, ids):
    open_grid(page, live_server_url, ids, "types", f"views/{ids['layout_view']}/")
    _, name_id = column(page, "name")
    handle = page.locator(f'#grid thead th[data-f="{name_id}"] .resize')
    box = handle.bounding_box()
    page.mouse.move(box["x"] + 3, box["y"] + 10)
    page.mouse.down()
    page.mouse.move(box["x"] + 123, box["y"] + 10, steps=5)
    page.mouse.up()
    page.wait_for_timeout(300)
    width = page.locator(f'#grid thead th[data-f="{name_id}"]').bounding_box()["width"]
    assert 290 <= width <= 310
    # Drag "notes" in front of "name".
    _, notes_id = column(page, "notes")
    page.drag_and_drop(
        f'#grid thead th[data-f="{notes_id}"]',
        f'#grid thead th[data-f="{name_id}"]',
        target_position={"x": 5, "y": 10},
    )
    page.wait_for_function(
        "([s, n]) => { const ids = window.grid.columns.map(c => c.id);"
        " return ids.indexOf(s) < ids.indexOf(n); }",
        arg=[notes_id, name_id],
    )
    page.click("[data-row-height=tall]")
    page.wait_for_timeout(300)
    # Hide a column from the toolbar's field list: the grid reloads without it.
    _, price_id = column(page, "price")
    page.click("#tb-fields > summary")
    page.uncheck(f"#show-{price_id}")
    page.wait_for_function(
        "id => !window.grid.columns.some(c => c.id === id)", arg=price_id
    )
    assert page.locator(f'#grid thead th[data-f="{price_id}"]').count() == 0
    page.reload()
    wait_grid(page)
    titles = page.evaluate("window.grid.columns.map(c => c.title)")
    assert titles.index("notes") < titles.index("name")
    assert "price" not in titles
    width = page.locator(f'#grid thead th[data-f="{name_id}"]').bounding_box()["width"]
    assert 290 <= width <= 310
    height = page.locator('#grid tr.grid-row[data-n="1"]').bounding_box()["height"]
    assert 90 <= height <= 100
    shot(page, "grid-layout-tall")
    # The default view kept its own layout.
    page.goto(f"{live_server_url}/bases/{ids['base']}/tables/{ids['types']}/")
    wait_grid(page)
    titles = page.evaluate("window.grid.columns.map(c => c.title)")
    assert titles.index("name") < titles.index("notes")


def test_expand_a_row_edit_and_step(page, live_server_url, ids):
    open_grid(page, live_server_url, ids, "types")
    select(page, 2, "name")
    page.keyboard.press("Space")
    modal = page.locator("#grid-modal .expand-form")
    modal.wait_for()
    assert modal.locator("label").count() >= 14
    _, name_id = column(page, "name")
    field = modal.locator(f'input[name="f_{name_id}"]')
    field.fill("From the form")
    _, count_id = column(page, "count")
    modal.locator(f'input[name="f_{count_id}"]').fill("twelve")
    modal.locator("button[type=submit]").click()
    page.wait_for_selector("#grid-modal .field.has-error .cell-error")
    assert "not a number" in page.locator("#grid-modal .has-error").inner_text()
    assert (
        page.locator(f'#grid-modal input[name="f_{count_id}"]').input_value()
        == "twelve"
    )
    page.locator(f'#grid-modal input[name="f_{count_id}"]').fill("12")
    page.locator("#grid-modal .expand-form button[type=submit]").click()
    page.wait_for_selector("#grid-modal .ok >> text=Saved")
    shot(page, "grid-expanded-row")
    saved(page, 2, "name", "From the form")
    # Links are edited with the same picker, inside the form.
    page.click("#grid-modal [data-expand-links]")
    page.wait_for_selector("#grid-modal .lp-search")
    page.keyboard.type("Person 3")
    page.wait_for_function(
        "() => document.querySelectorAll('#grid-modal .lp-item').length === 1"
    )
    page.click("#grid-modal .lp-item[data-link=link] >> text=Person 3")
    page.wait_for_selector("#grid-modal .lp-chips .chip >> text=Person 3")
    page.click("#grid-modal [data-expand=close]")
    saved(page, 2, "people", "Person 3")
    select(page, 2, "name")
    page.keyboard.press("Space")
    page.wait_for_selector("#grid-modal .expand-form")
    page.click("#grid-modal [data-expand=next]")
    page.wait_for_function(
        "() => document.querySelector('#grid-modal form').dataset.record !== '2'"
    )
    assert page.evaluate("window.grid.active.r") == 2
    page.keyboard.press("Escape")
    assert page.locator("#grid-modal").is_hidden()


def test_scroll_a_60000_row_table_to_row_50000(page, live_server_url, tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "big.sqlite3"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER)"
    )
    db.executemany(
        "INSERT INTO items (id, name, qty) VALUES (?, ?, ?)",
        ((i, f"Item {i}", i % 97) for i in range(1, 60_001)),
    )
    db.commit()
    db.close()
    base_id = live_server_url.manage(
        "connect_base", "Big", f"sqlite:///{path}", "--owner", "admin@example.com"
    )
    login(page, live_server_url)
    page.goto(f"{live_server_url}/bases/{base_id}/")
    page.click("aside >> text=items")
    wait_grid(page)
    page.wait_for_function("window.grid.store.total === 60000")  # exact count, after
    page.fill("#grid-jump-n", "50000")
    page.click("form.grid-jump button[type=submit]")
    row = page.locator('#grid tr.grid-row[data-n="50000"]:not(.loading)')
    row.wait_for()
    assert "Item 50000" in row.inner_text()
    assert page.locator("#grid tbody tr").count() < 120  # a bounded DOM
    # Scrolling on loads the next windows (by cursor) and keeps the DOM bounded.
    page.locator("#grid").hover()
    for _ in range(30):
        page.mouse.wheel(0, 500)
        page.wait_for_timeout(20)
    page.wait_for_function("!document.querySelector('#grid tr.loading')")
    first = page.evaluate("window.grid.store.firstVisible()")
    assert first > 50_050
    n = first + 3
    assert f"Item {n}" in page.locator(f'#grid tr.grid-row[data-n="{n}"]').inner_text()
    assert page.locator("#grid tbody tr").count() < 120
    shot(page, "grid-row-50000")
    page.click("[data-grid-action=end]")
    page.locator('#grid tr.grid-row[data-n="60000"]:not(.loading)').wait_for()
    assert (
        "Item 60000" in page.locator('#grid tr.grid-row[data-n="60000"]').inner_text()
    )


def test_tablet_width(page, live_server_url, ids):
    page.set_viewport_size({"width": 820, "height": 1100})
    login(page, live_server_url)
    page.goto(f"{live_server_url}/bases/{ids['demo']}/tables/{ids['projects']}/")
    wait_grid(page)
    assert page.locator("#grid").bounding_box()["width"] <= 820
    select(page, 2, "name")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("window.grid.active.c") == column(page, "name")[0] + 1
    shot(page, "grid-tablet")


def test_a_table_taller_than_the_browser_allows_scrolls_scaled(
    page, live_server_url, tmp_path_factory
):
    """300,000 rows x 32 px is past the 8M px scroll space: rows are placed by ratio."""
    path = tmp_path_factory.mktemp("huge") / "huge.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE lines (id INTEGER PRIMARY KEY, label TEXT)")
    db.execute(
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 300000) "
        "INSERT INTO lines SELECT x, 'Line ' || x FROM n"
    )
    db.commit()
    db.close()
    base_id = live_server_url.manage(
        "connect_base", "Huge", f"sqlite:///{path}", "--owner", "admin@example.com"
    )
    login(page, live_server_url)
    page.goto(f"{live_server_url}/bases/{base_id}/")
    page.click("aside >> text=lines")
    wait_grid(page)
    page.wait_for_function("window.grid.store.total === 300000")
    assert page.evaluate("window.grid.store.ratio()") > 1
    page.fill("#grid-jump-n", "250000")
    page.click("form.grid-jump button[type=submit]")
    page.locator('#grid tr.grid-row[data-n="250000"]:not(.loading)').wait_for()
    assert page.evaluate("window.grid.store.firstVisible()") == 249_999
    assert (
        "Line 250000" in page.locator('#grid tr.grid-row[data-n="250000"]').inner_text()
    )
    page.keyboard.press("Control+ArrowDown")  # the last row, by keyboard
    last = page.locator('#grid tr.grid-row[data-n="300000"]:not(.loading)')
    last.wait_for()
    assert "Line 300000" in last.inner_text()
    box, grid = last.bounding_box(), page.locator("#grid").bounding_box()
    assert (
        grid["y"] < box["y"] and box["y"] + box["height"] <= grid["y"] + grid["height"]
    )
