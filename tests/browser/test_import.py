"""Import into an existing table in a real browser (docs/import-export.md): a CSV and an Excel
file through the preview and the column mapping, the progress bar to the end and the rows in
the grid; an upsert by a key column; the refused rows' CSV; a cancelled import leaving
nothing behind.

Each test imports into a table of its own (`Imports` base), so the demo base stays as the
other browser tests expect it.
"""

import csv
import io
import json
import uuid

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
actor = Actor(user=get_user_model().objects.get(email="admin@example.com"))
base = Base.objects.filter(title="Imports").first() or services.base_create(
    actor=actor, title="Imports")
t = schema_services.table_create(actor=actor, base=base, title="{title}", columns=[
    {{"title": "name", "uidt": "SingleLineText"}},
    {{"title": "qty", "uidt": "Number"}},
    {{"title": "day", "uidt": "Date"}},
])
records.insert_many(t, [{{"name": "apple", "qty": 1}}, {{"name": "pear", "qty": 2}}])
print(json.dumps({{"base": base.pk, "table": t.pk}}))
"""


def new_table(server) -> dict:
    title = f"stock {uuid.uuid4().hex[:4]}"
    out = server.manage("shell", "-c", SETUP.format(title=title))
    return {**json.loads(out.splitlines()[-1]), "title": title}


def open_table(page, server, t):
    page.goto(f"{server}/bases/{t['base']}/tables/{t['table']}")
    page.wait_for_selector("#grid tbody tr.grid-row:not(.loading)")


def grid_rows(page) -> list[list[str]]:
    page.wait_for_selector("#grid tbody tr.grid-row:not(.loading)")
    return page.eval_on_selector_all(
        "#grid tbody tr.grid-row:not(.loading)",
        "trs => trs.map(tr => [...tr.querySelectorAll('td[data-f]')]"
        ".map(td => td.dataset.v))",
    )


def upload(page, name: str, data: bytes, mime="text/csv"):
    page.click("text=Import CSV")
    page.wait_for_selector("h1 >> text=Import a CSV or Excel file")
    page.set_input_files(
        "#import-file", files=[{"name": name, "mimeType": mime, "buffer": data}]
    )
    page.click("text=Upload and preview")
    page.wait_for_selector("table.import-preview")


def wait_finished(page, seen: list | None = None):
    """Until the job page says done, failed or cancelled; `seen` collects the progress
    texts shown on the way (the bar is polled by htmx)."""
    for _ in range(600):
        text = page.locator("#import-progress").inner_text()
        if seen is not None and (not seen or seen[-1] != text):
            if "rows/s" in text and not any("rows/s" in s for s in seen):
                shot(page, "import-progress")
            seen.append(text)
        end = page.locator(
            "#import-progress .ok, #import-progress .error, #import-progress .notice"
        )
        if end.count():
            return page.locator("#import-progress").inner_text()
        page.wait_for_timeout(100)
    raise AssertionError(f"the import did not finish: {text}")


def test_import_csv_and_xlsx_with_preview_mapping_and_progress(page, live_server_url):
    page.set_viewport_size({"width": 1280, "height": 1400})
    t = new_table(live_server_url)
    login(page, live_server_url)
    open_table(page, live_server_url, t)

    # A CSV whose "Quantity" column has no field of that name: mapped by hand to qty.
    n = 60_000
    body = "name;Quantity;day;extra\n" + "".join(
        f"item {i};{i};2026-01-{i % 28 + 1:02d};x\n" for i in range(n)
    )
    upload(page, "stock.csv", body.encode("utf-8"))
    preview = page.locator("table.import-preview")
    assert "item 0" in preview.inner_text()
    heads = page.locator("table.import-preview th")
    assert "looks like: number" in heads.nth(1).inner_text()
    assert "looks like: date" in heads.nth(2).inner_text()
    quantity = page.locator("select[name=col-1]")
    assert quantity.input_value() == ""  # no field named Quantity: skipped to start
    quantity.select_option(label="qty")
    assert page.locator("select[name=col-3]").input_value() == ""  # extra: skipped
    shot(page, "import-preview")
    page.click("button:text('Import')")
    page.wait_for_selector("#import-progress")
    seen: list[str] = []
    # The page survives a reload while the job runs (its state is in the meta DB).
    page.reload()
    done = wait_finished(page, seen)
    assert f"Imported {n:,} rows from stock.csv" in done, seen
    # On the way: the bar with rows done of the total, the rate and the time left.
    progress = [s for s in seen if "rows/s" in s]
    assert progress and f"of {n:,} rows" in progress[0], seen
    assert "s left" in progress[0] or "min left" in progress[0], seen
    shot(page, "import-done")
    page.click(f"text=Open {t['title']}")
    page.wait_for_function(f"window.grid?.store?.total === {n + 2}")
    rows = grid_rows(page)
    assert rows[0][1:3] == ["apple", "1"]  # after the id
    assert rows[2][1:4] == ["item 0", "0", "2026-01-01"]

    # An Excel workbook: its first sheet previewed, another picked, then its rows in the
    # grid.
    from openpyxl import Workbook

    wb = Workbook()
    notes = wb.active
    notes.title = "Notes"
    notes.append(["note"])
    notes.append(["read me first"])
    ws = wb.create_sheet("Data")
    ws.append(["name", "qty"])
    ws.append(["from excel", 42])
    ws.append(["=1+1", 7])
    buf = io.BytesIO()
    wb.save(buf)
    upload(
        page,
        "book.xlsx",
        buf.getvalue(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    assert "read me first" in page.locator("table.import-preview").inner_text()
    assert page.locator("#import-sheet").input_value() == "Notes"
    page.select_option("#import-sheet", "Data")
    page.click("text=Show this sheet")
    page.wait_for_selector("table.import-preview >> text=from excel")
    assert page.locator("#import-sheet").input_value() == "Data"
    assert page.locator("select[name=col-1]").input_value() != ""  # qty, by name
    shot(page, "import-xlsx-sheet")
    page.click("button:text('Import')")
    assert "Imported 2 rows from book.xlsx" in wait_finished(page)
    page.click(f"text=Open {t['title']}")
    page.wait_for_function(f"window.grid?.store?.total === {n + 4}")
    page.fill("#tb-q", "excel")
    page.keyboard.press("Enter")
    page.wait_for_function("window.grid?.store?.total === 1")
    assert grid_rows(page)[0][1:3] == ["from excel", "42"]
    shot(page, "import-xlsx-grid")


def test_upsert_by_key_and_refused_rows_csv(page, live_server_url):
    t = new_table(live_server_url)
    login(page, live_server_url)
    open_table(page, live_server_url, t)
    upload(page, "update.csv", b"name,qty\npear,20\nplum,3\napple,10\n")
    page.check("input[name=upsert]")
    page.select_option("#import-key", label="name")
    shot(page, "import-upsert-form")
    page.click("button:text('Import')")
    done = wait_finished(page)
    assert "Imported 3 rows from update.csv: 1 added, 2 updated." in done
    page.click(f"text=Open {t['title']}")
    page.wait_for_function("window.grid?.store?.total === 3")
    assert [r[1:3] for r in grid_rows(page)] == [
        ["apple", "10"],
        ["pear", "20"],
        ["plum", "3"],
    ]

    # Refused rows: listed on the page, downloadable as CSV (formula-safe); nothing written.
    upload(page, "bad.csv", b"name,qty\nfig,1\n=HYPERLINK(1),many\nkiwi,2.5.1\n")
    page.click("button:text('Import')")
    failed = wait_finished(page)
    assert "2 rows refused" in failed and "Nothing was imported" in failed
    lines = page.locator("table[aria-label='Refused rows'] tbody tr td:first-child")
    assert lines.all_inner_texts() == ["3", "4"]
    shot(page, "import-refused")
    with page.expect_download() as info:
        page.click("text=Download the refused rows (CSV)")
    text = open(info.value.path(), encoding="utf-8-sig").read()
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["Line", "Reason", "name", "qty"]
    assert [r[0] for r in table[1:]] == ["3", "4"]
    assert table[1][2] == "'=HYPERLINK(1)" and "qty" in table[1][1]
    open_table(page, live_server_url, t)
    assert page.evaluate("window.grid.store.total") == 3


def test_cancel_a_running_import(page, live_server_url):
    t = new_table(live_server_url)
    login(page, live_server_url)
    open_table(page, live_server_url, t)
    n = 300_000
    body = "name,qty\n" + "".join(f"row {i},{i}\n" for i in range(n))
    upload(page, "big.csv", body.encode())
    page.click("button:text('Import')")
    page.wait_for_selector("#import-progress button:text('Cancel import')")
    # Cancelled while it writes (after the check pass): the batches written roll back.
    page.wait_for_selector("#import-progress .import-rate", timeout=60_000)
    shot(page, "import-running")
    page.click("#import-progress button:text('Cancel import')")
    text = wait_finished(page)
    assert "Cancelled: nothing was imported." in text
    shot(page, "import-cancelled")
    open_table(page, live_server_url, t)
    assert page.evaluate("window.grid.store.total") == 2
