"""Import a file as a new table in a real browser (docs/import-export.md): a CSV with its
preview, a type changed, the progress page, the new table's grid; an Excel workbook's sheet
picked on the preview page."""

import io
import json
import uuid

import pytest

from tests.browser.conftest import shot
from tests.browser.test_first_visit import login

pytestmark = pytest.mark.browser

CSV = (
    "Name,Qty,Price,Since,Paid,Team\n"
    "Pens,3,1.50,2026-01-02,yes,red\n"
    "Ink,5,2.25,2026-02-03,no,blue\n"
    "Paper,7,3.00,2026-03-04,yes,red\n"
    "Clips,9,0.75,2026-04-05,no,red\n"
    "Tape,11,1.10,2026-05-06,yes,blue\n"
    "Glue,13,2.40,2026-06-07,no,red\n"
)


# A base of its own: other browser tests count the demo base's tables.
SETUP = """
import json
from django.contrib.auth import get_user_model
from bases import schema_services, services
from bases.models import Base
from permissions.checks import Actor
actor = Actor(user=get_user_model().objects.get(email="admin@example.com"))
base = Base.objects.filter(title="New tables").first()
if base is None:
    base = services.base_create(actor=actor, title="New tables")
    schema_services.table_create(actor=actor, base=base, title="notes", columns=[
        {"title": "name", "uidt": "SingleLineText"}])
print(json.dumps({"base": base.pk}))
"""


@pytest.fixture(scope="module")
def base_id(live_server_url):
    return json.loads(live_server_url.manage("shell", "-c", SETUP).splitlines()[-1])[
        "base"
    ]


def open_import(page, url, base_id):
    login(page, url)
    page.goto(f"{url}/bases/{base_id}/")
    page.click("aside >> text=Import a file…")
    page.wait_for_selector("#import-file")


def grid_texts(page, column: str) -> list[str]:
    page.wait_for_selector("#grid tbody tr.grid-row:not(.loading)")
    titles = page.eval_on_selector_all(
        "#grid thead th[data-f]", "ths => ths.map(th => th.title.split(' · ')[0])"
    )
    i = titles.index(column)
    return page.eval_on_selector_all(
        "#grid tbody tr.grid-row:not(.loading)",
        f"trs => trs.map(tr => tr.querySelectorAll('td[data-f]')[{i}].dataset.v)",
    )


def test_csv_into_a_new_table(page, live_server_url, base_id):
    open_import(page, live_server_url, base_id)
    name = f"Stock {uuid.uuid4().hex[:4]}"
    page.set_input_files(
        "#import-file",
        {"name": "stock.csv", "mimeType": "text/csv", "buffer": CSV.encode()},
    )
    page.click("text=Upload and preview")
    page.wait_for_selector("table.import-preview")
    assert page.input_value("#import-table-title").startswith("stock")
    types = page.eval_on_selector_all(
        "select[name^=type-]", "ss => ss.map(s => s.value)"
    )
    assert types == ["text", "number", "decimal", "date", "checkbox", "select"]
    page.fill("#import-table-title", name)
    page.select_option("select[name=type-1]", "text")  # Qty as text
    shot(page, "import-new-table-preview")
    page.click("text=Create the table and import")
    page.wait_for_selector("text=Imported 6 rows", timeout=30_000)
    shot(page, "import-new-table-done")
    page.click(f"text=Open {name}")
    assert grid_texts(page, "Name") == ["Pens", "Ink", "Paper", "Clips", "Tape", "Glue"]
    assert grid_texts(page, "Qty")[:2] == ["3", "5"]
    assert page.locator(f"aside >> text={name}").count() == 1


def test_xlsx_sheet_picker(page, live_server_url, base_id):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "Cover"
    wb.active.append(["About"])
    wb.active.append(["nothing here"])
    orders = wb.create_sheet("Orders")
    for row in (["Item", "Qty"], ["pen", 3], ["ink", 5]):
        orders.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    open_import(page, live_server_url, base_id)
    page.set_input_files(
        "#import-file",
        {
            "name": "book.xlsx",
            "mimeType": "application/octet-stream",
            "buffer": buf.getvalue(),
        },
    )
    page.click("text=Upload and preview")
    page.wait_for_selector("#import-sheet")
    assert page.input_value("#import-sheet") == "Cover"
    page.select_option("#import-sheet", "Orders")
    page.click("text=Show this sheet")
    page.wait_for_selector("table.import-preview >> text=pen")
    assert page.input_value("#import-sheet") == "Orders"
    shot(page, "import-new-table-sheet")
    page.fill("#import-table-title", f"Orders {uuid.uuid4().hex[:4]}")
    page.click("text=Create the table and import")
    page.wait_for_selector("text=Imported 2 rows", timeout=30_000)


def test_cancel_while_the_new_table_loads(page, live_server_url, base_id):
    """Cancelled while the rows are loaded (after the check pass created the table): the
    load rolls back and the new table is deleted again."""
    open_import(page, live_server_url, base_id)
    name = f"Big {uuid.uuid4().hex[:4]}"
    n = 300_000
    body = "Name,Qty\n" + "".join(f"row {i},{i}\n" for i in range(n))
    page.set_input_files(
        "#import-file",
        {"name": "big.csv", "mimeType": "text/csv", "buffer": body.encode()},
    )
    page.click("text=Upload and preview")
    page.wait_for_selector("table.import-preview")
    page.fill("#import-table-title", name)
    page.click("text=Create the table and import")
    page.wait_for_selector("#import-progress button:text('Cancel import')")
    # Past the check pass: the table exists and its rows are being written.
    page.wait_for_selector("#import-progress >> text=Importing…", timeout=120_000)
    shot(page, "import-new-table-running")
    page.click("#import-progress button:text('Cancel import')")
    page.wait_for_selector("#import-progress .notice", timeout=60_000)
    text = page.locator("#import-progress").inner_text()
    assert "Cancelled: nothing was imported." in text and "No table was kept" in text
    assert page.locator("#import-progress button").count() == 0
    shot(page, "import-new-table-cancelled")
    page.goto(f"{live_server_url}/bases/{base_id}/")
    page.wait_for_selector("aside >> text=Import a file…")
    assert page.locator(f"aside >> text={name}").count() == 0
