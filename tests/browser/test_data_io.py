"""Data in and out in a real browser (docs/import-export.md): a filtered view downloaded as
CSV from its ⋯ menu holds exactly what the grid shows; two deleted rows come back from the
table's "Deleted rows" page, and Ctrl+Z after a delete restores too."""

import csv
import io
import uuid

import pytest

from tests.browser.conftest import shot
from tests.browser.test_toolbar import (
    builder_cond,
    footer_count,
    new_view,
    open_projects,
    settle,
)

pytestmark = pytest.mark.browser


def grid_table(page) -> tuple[list[str], list[list[str]]]:
    """The grid's header titles and every row's cell texts (data-v: the editor's text)."""
    titles = page.eval_on_selector_all(
        "#grid thead th[data-f]", "ths => ths.map(th => th.title.split(' · ')[0])"
    )
    rows = page.eval_on_selector_all(
        "#grid tbody tr.grid-row:not(.loading)",
        "trs => trs.map(tr => [...tr.querySelectorAll('td[data-f]')]"
        ".map(td => td.dataset.v))",
    )
    return titles, rows


def test_export_filtered_view_then_delete_and_restore(page, live_server_url):
    # Tall enough for the grid to keep every filtered row in the page (it renders the rows
    # near the viewport only).
    page.set_viewport_size({"width": 1280, "height": 2400})
    open_projects(page, live_server_url)
    title = f"Export {uuid.uuid4().hex[:4]}"
    new_view(page, title)
    everything = footer_count(page)
    page.click("#tb-filter > summary")
    page.click("#tb-filter >> text=+ Add condition")
    settle(page)
    builder_cond(page).locator("[data-fb-field]").select_option(label="status")
    settle(page)
    builder_cond(page).locator("[data-fb-op]").select_option("anyof")
    settle(page)
    builder_cond(page).locator(".chip", has_text="active").click()
    page.wait_for_selector("#tb-filter .fb-saved")
    settle(page)
    page.keyboard.press("Escape")
    settle(page)
    shown = footer_count(page)
    assert 0 < shown < everything
    page.wait_for_function(
        f"document.querySelectorAll('#grid tbody tr.grid-row:not(.loading)').length"
        f" === {shown}"
    )
    titles, grid_rows = grid_table(page)
    tab = page.locator("#view-tabs li.tab.active")
    tab.locator("summary").click()
    with page.expect_download() as info:
        tab.locator("text=Download CSV").click()
    download = info.value
    assert download.suggested_filename == f"projects - {title}.csv"
    text = open(download.path(), encoding="utf-8-sig").read()
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == titles
    assert table[1:] == grid_rows and len(grid_rows) == shown
    status = titles.index("status")
    assert {r[status] for r in table[1:]} == {"active"}
    shot(page, "export-menu")
    page.keyboard.press("Escape")

    # Delete two tasks (projects have tasks pointing at them), restore them from the panel.
    page.click("aside >> text=tasks")
    page.wait_for_selector("#grid tbody tr.grid-row:not(.loading)")
    total = page.evaluate("window.grid.store.total")
    first = page.locator('#grid tr.grid-row[data-n="1"]')
    second = page.locator('#grid tr.grid-row[data-n="2"]')
    ids = [first.get_attribute("data-id"), second.get_attribute("data-id")]
    titles_before = [
        first.locator("td[data-f]").first.get_attribute("data-v"),
        second.locator("td[data-f]").first.get_attribute("data-v"),
    ]
    first.locator("td.rownum").click()
    second.locator("td.rownum").click(modifiers=["Shift"])
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(".grid-delete")
    page.wait_for_function(f"window.grid.store.total === {total - 2}")
    # Ctrl+Z brings them back from the trash; deleting them again leaves them there.
    page.locator("#grid").focus()
    page.keyboard.press("Control+z")
    page.wait_for_function(f"window.grid.store.total === {total}")
    page.wait_for_selector(f'#grid tr.grid-row[data-id="{ids[0]}"]')
    page.locator(f'#grid tr.grid-row[data-id="{ids[0]}"] td.rownum').click()
    page.locator(f'#grid tr.grid-row[data-id="{ids[1]}"] td.rownum').click(
        modifiers=["Shift"]
    )
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(".grid-delete")
    page.wait_for_function(f"window.grid.store.total === {total - 2}")
    page.click("text=Deleted rows")
    page.wait_for_selector("table[aria-label='Deleted rows']")
    for record_id, name in zip(ids, titles_before, strict=True):
        row = page.locator(f"tr[data-record='{record_id}']")
        assert name in row.inner_text() and "admin@example.com" in row.inner_text()
        row.locator("input[name=ids]").check()
    shot(page, "deleted-rows")
    page.click("text=Restore selected")
    page.wait_for_selector(".msg >> text=Restored 2 rows.")
    for record_id in ids:
        assert page.locator(f"tr[data-record='{record_id}']").count() == 0
    page.click("text=← tasks")
    page.wait_for_selector("#grid tbody tr.grid-row:not(.loading)")
    assert page.evaluate("window.grid.store.total") == total
    for record_id in ids:
        assert page.locator(f'#grid tr.grid-row[data-id="{record_id}"]').count() == 1


def all_grid_rows(page, total: int) -> list[list[str]]:
    """Every row of the grid, scrolling it window by window (it renders the rows near the
    viewport only), in row order."""
    seen: dict[int, list[str]] = {}
    top = 0
    while len(seen) < total:
        page.evaluate(f"window.grid.wrap.scrollTop = {top}")
        page.wait_for_timeout(150)
        page.wait_for_function(
            "() => !document.querySelector('#grid tbody tr.grid-row.loading')"
        )
        for n, cells in page.eval_on_selector_all(
            "#grid tbody tr.grid-row:not(.loading)",
            "trs => trs.map(tr => [Number(tr.dataset.n), [...tr.querySelectorAll("
            "'td[data-f]')].map(td => td.dataset.v)])",
        ):
            seen[n] = cells
        height = page.evaluate("window.grid.wrap.scrollHeight")
        assert top <= height, f"{len(seen)} of {total} rows seen"
        top += 1000
    return [seen[n] for n in sorted(seen)]


def test_large_view_exports_as_a_job_with_progress(page, live_server_url):
    """Past NOCO_EXPORT_JOB_ROWS (150 for the test server) the menu's download opens the
    export's progress page, which downloads the file by itself: the grid's rows exactly."""
    page.set_viewport_size({"width": 1280, "height": 1600})
    open_projects(page, live_server_url)
    page.click("aside >> text=tasks")
    page.wait_for_selector("#grid tbody tr.grid-row:not(.loading)")
    title = f"Big {uuid.uuid4().hex[:4]}"
    new_view(page, title)
    total = footer_count(page)
    assert total > 150
    titles, _ = grid_table(page)
    grid_rows = all_grid_rows(page, total)
    assert len(grid_rows) == total

    tab = page.locator("#view-tabs li.tab.active")
    tab.locator("summary").click()
    with page.expect_download(timeout=60_000) as info:
        tab.locator("text=Download CSV").click()
        page.wait_for_selector("#export-progress")
        assert "/export/" in page.url
        text = page.locator("#export-progress").inner_text()
        assert "Exporting" in text or "Waiting" in text or "Exported" in text
        assert f"{total:,} rows" in text  # of …, to export, or exported
        shot(page, "export-job-progress")
    download = info.value
    assert download.suggested_filename == f"tasks - {title}.csv"
    body = open(download.path(), encoding="utf-8-sig").read()
    table = list(csv.reader(io.StringIO(body)))
    assert table[0] == titles
    assert table[1:] == grid_rows
    # Done: the count, and the link in case the browser blocked the download.
    page.wait_for_selector("#export-progress .export-download")
    assert f"Exported {total:,} rows" in page.locator("#export-progress").inner_text()
    shot(page, "export-job-done")
    href = page.locator("#export-progress .export-download").get_attribute("href")
    assert href.endswith("/file")
    # A reload does not download again (once per job and tab).
    downloads = []
    page.on("download", lambda d: downloads.append(d))
    page.reload()
    page.wait_for_selector("#export-progress .export-download")
    page.wait_for_timeout(500)
    assert not downloads
