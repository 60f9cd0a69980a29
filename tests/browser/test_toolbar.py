"""The toolbar in a real browser: view tabs, a nested filter and a sort that survive a reload,
group-by with counts, the temporary search, a footer aggregate.

Each test works on a view of its own (made through the "+ View" menu), so the demo base's
default view stays as other browser tests expect it.
"""

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.test_first_visit import login

pytestmark = pytest.mark.browser


def open_projects(page, url):
    login(page, url)
    page.click("text=Demo CRM")
    page.click("aside >> text=projects")
    page.wait_for_selector("#toolbar")


def new_view(page, title):
    page.click("#view-tabs .new-view > summary")
    page.fill("#view-tabs .new-view input[name=title]", title)
    page.click("#view-tabs .new-view button[type=submit]")
    page.wait_for_selector(f"#view-tabs li.tab.active >> text={title}")
    page.wait_for_selector("#grid-footer .footer-count")


def footer_count(page) -> int:
    text = page.locator("#grid-footer .footer-count").inner_text()
    return int(re.search(r"([\d,]+) row", text).group(1).replace(",", ""))


def test_view_tabs_create_rename_duplicate_delete(page, live_server_url):
    open_projects(page, live_server_url)
    title = f"Tabs {uuid.uuid4().hex[:4]}"
    new_view(page, title)
    assert "/views/" in page.url
    tab = page.locator("#view-tabs li.tab.active")
    tab.locator("summary").click()
    tab.locator("input[name=title]").fill(f"{title} renamed")
    tab.locator(".tab-rename button").click()
    page.wait_for_selector(f"#view-tabs li.tab.active >> text={title} renamed")
    # A clashing name is refused and the typed name stays on screen.
    page.click("#view-tabs .new-view > summary")
    page.fill("#view-tabs .new-view input[name=title]", f"{title} RENAMED")
    page.click("#view-tabs .new-view button[type=submit]")
    page.wait_for_selector("#view-tabs .tab-error")
    assert "exists already" in page.locator("#view-tabs .tab-error").inner_text()
    assert (
        page.locator("#view-tabs .new-view input[name=title]").input_value()
        == f"{title} RENAMED"
    )
    shot(page, "view-tabs")
    page.keyboard.press("Escape")
    tab = page.locator("#view-tabs li.tab.active")
    tab.locator("summary").click()
    tab.locator("text=Duplicate").click()
    page.wait_for_selector(f"#view-tabs li.tab.active >> text={title} renamed copy")
    for name in (f"{title} renamed copy", f"{title} renamed"):
        tab = page.locator("#view-tabs li.tab", has_text=name).first
        tab.locator("summary").click()
        page.once("dialog", lambda d: d.accept())
        tab.locator("text=Delete view").click()
        # Deleting the view on screen moves the page to the first view.
        exact = re.compile(f"^{re.escape(name)}$")
        expect(page.locator("#view-tabs .tab-title", has_text=exact)).to_have_count(0)
        page.wait_for_load_state("load")
    expect(page.locator("#view-tabs li.tab.active .tab-title")).to_have_text(
        "Default view"
    )
    page.reload()
    assert title not in page.locator("#view-tabs").inner_text()


def settle(page):
    """Let htmx finish a request and wire up what it swapped in (a user is never this fast)."""
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    page.wait_for_timeout(250)


def builder_cond(page, n=0, nested=False):
    scope = "#tb-filter .fb-group.nested" if nested else "#tb-filter"
    return page.locator(f"{scope} [data-fb-cond]").nth(n)


def test_nested_filter_and_sort_persist_after_reload(page, live_server_url):
    open_projects(page, live_server_url)
    new_view(page, f"Filtered {uuid.uuid4().hex[:4]}")
    everything = footer_count(page)
    page.click("#tb-filter > summary")
    page.click("#tb-filter >> text=+ Add condition")
    settle(page)
    builder_cond(page).locator("[data-fb-field]").select_option(label="status")
    settle(page)
    builder_cond(page).locator("[data-fb-op]").select_option("anyof")
    settle(page)
    # Select fields offer their options as chips.
    builder_cond(page).locator(".chip", has_text="active").click()
    settle(page)
    builder_cond(page).locator(".chip", has_text="planned").click()
    page.wait_for_selector("#tb-filter .fb-saved")
    settle(page)
    # A nested OR group: budget > 10000 or done is checked.
    page.locator("#tb-filter .fb-actions").last.locator("text=+ Add group").click()
    settle(page)
    builder_cond(page, nested=True).locator("[data-fb-field]").select_option(
        label="budget"
    )
    settle(page)
    builder_cond(page, nested=True).locator("[data-fb-op]").select_option("gt")
    settle(page)
    v = builder_cond(page, nested=True).locator("[data-fb-value]")
    v.fill("ten")  # not a number: shown next to the condition, text kept, nothing saved
    v.press("Enter")
    page.wait_for_selector("#tb-filter .fb-error")
    assert "not a number" in page.locator("#tb-filter .fb-error").inner_text()
    v = builder_cond(page, nested=True).locator("[data-fb-value]")
    assert v.input_value() == "ten"
    assert page.locator("#tb-filter summary .count").inner_text() == "1"
    settle(page)
    v.fill("10000")
    v.press("Enter")
    page.wait_for_selector("#tb-filter .fb-saved")
    settle(page)
    page.locator("#tb-filter .fb-group.nested .fb-head [data-fb-logic]").select_option(
        "or"
    )
    settle(page)
    page.locator("#tb-filter .fb-group.nested .fb-actions").locator(
        "text=+ Add condition"
    ).click()
    settle(page)
    builder_cond(page, 1, nested=True).locator("[data-fb-field]").select_option(
        label="done"
    )
    settle(page)
    builder_cond(page, 1, nested=True).locator("[data-fb-op]").select_option("checked")
    settle(page)
    page.wait_for_selector("#tb-filter .fb-saved")
    assert page.locator("#tb-filter summary .count").inner_text() == "3"
    shot(page, "filter-builder")
    page.keyboard.press("Escape")
    page.click("#tb-sort > summary")
    page.select_option("#tb-sort select[name=add]", label="budget")
    settle(page)
    page.select_option("#tb-sort select[name=dir]", "desc")
    settle(page)
    page.keyboard.press("Escape")
    settle(page)
    filtered = footer_count(page)
    assert 0 < filtered < everything
    page.reload()
    page.wait_for_selector("#grid-footer .footer-count")
    assert footer_count(page) == filtered
    assert page.locator("#tb-filter summary .count").inner_text() == "3"
    assert page.locator("#tb-sort summary .count").inner_text() == "1"
    page.click("#tb-filter > summary")
    assert page.locator("#tb-filter [data-fb-cond]").count() == 3
    logic = page.locator("#tb-filter .fb-group.nested [data-fb-logic]")
    assert logic.input_value() == "or"
    page.keyboard.press("Escape")
    page.click("#tb-sort > summary")
    assert page.locator("#tb-sort select[name=dir]").input_value() == "desc"


def test_group_by_with_counts_and_rows(page, live_server_url):
    open_projects(page, live_server_url)
    new_view(page, f"Grouped {uuid.uuid4().hex[:4]}")
    total = footer_count(page)
    page.click("#tb-group > summary")
    settle(page)
    page.select_option("#tb-group select[name=add]", label="status")
    page.wait_for_selector("#grid-groups details.group")  # the page redraws as groups
    counts = [
        int(c.replace(",", ""))
        for c in page.locator("#grid-groups .group-count").all_inner_texts()
    ]
    assert len(counts) >= 3 and sum(counts) == total
    first = page.locator("#grid-groups details.group").first
    first.locator("summary").click()
    first.locator(".group-body tbody tr").first.wait_for()
    assert first.locator(".group-body tbody tr").count() == counts[0]
    shot(page, "grouped-grid")
    first.locator("summary").click()  # collapses
    assert not first.evaluate("d => d.open")


def test_search_is_temporary(page, live_server_url):
    open_projects(page, live_server_url)
    new_view(page, f"Search {uuid.uuid4().hex[:4]}")
    total = footer_count(page)
    settle(page)
    page.fill("#tb-q", "Harbor")
    page.wait_for_function("() => /q=Harbor/.test(location.search)")
    page.wait_for_function(
        "() => /matching/.test(document.querySelector('#grid-footer').innerText)"
    )
    found = footer_count(page)
    assert 0 < found < total
    assert page.locator(".tb-search.active .tb-temp").is_visible()
    assert page.locator("#tb-filter summary .count").count() == 0  # not a saved filter
    shot(page, "search")
    page.goto(page.url.split("?")[0])  # without ?q= the search is gone
    page.wait_for_selector("#grid-footer .footer-count")
    assert footer_count(page) == total


def test_footer_aggregate(page, live_server_url):
    open_projects(page, live_server_url)
    new_view(page, f"Sums {uuid.uuid4().hex[:4]}")
    page.click("#grid-footer .footer-add > summary")
    page.select_option("#grid-footer select[name=summary]", label="budget: Sum")
    page.click("#grid-footer .footer-form button")
    page.wait_for_selector("#grid-footer .summary >> text=Sum of budget")
    value = page.locator("#grid-footer .summary strong").inner_text()
    assert re.fullmatch(r"[\d,]+(\.\d+)?", value), value
    page.reload()
    page.wait_for_selector("#grid-footer .summary >> text=Sum of budget")
    shot(page, "footer")


def test_a_form_submitted_before_htmx_is_loaded_is_sent_once_it_is(
    page, live_server_url
):
    """htmx.min.js is held back: the page is parsed, the user creates a view, and only then
    does htmx arrive. The submit must not go out as a plain GET to the page (it did, and the
    view was never made); static/js/early.js holds it and replays it through htmx."""
    open_projects(page, live_server_url)
    table_url = page.url.split("?")[0]
    held = []
    page.route("**/htmx.min.js", lambda route: held.append(route))
    page.goto(table_url, wait_until="commit")
    title = f"Early {uuid.uuid4().hex[:4]}"
    page.wait_for_selector("#view-tabs .new-view > summary")
    page.wait_for_function("() => !!document.querySelector('#grid-footer')")
    assert page.evaluate("() => window.htmx === undefined")
    page.click("#view-tabs .new-view > summary")
    page.fill("#view-tabs .new-view input[name=title]", title)
    page.click("#view-tabs .new-view button[type=submit]")
    page.wait_for_timeout(300)
    assert "title=" not in page.url  # not sent as a GET to the page
    assert len(held) == 1
    held[0].continue_()
    page.wait_for_selector(f"#view-tabs li.tab.active >> text={title}")
    assert "/views/" in page.url


def test_a_button_clicked_before_htmx_is_loaded_is_the_one_sent(page, live_server_url):
    """ "Hide all" clicked while htmx.min.js is held back: the replayed submit must carry the
    button's name and value (all=hide), as the same click does once htmx is there — a bare
    requestSubmit sent the checkboxes only, and the click did nothing."""
    open_projects(page, live_server_url)
    new_view(page, f"Early hide {uuid.uuid4().hex[:4]}")
    view_url = page.url
    held = []
    page.route("**/htmx.min.js", lambda route: held.append(route))
    page.goto(view_url, wait_until="commit")
    page.wait_for_function("() => !!document.querySelector('#grid-footer')")
    assert page.evaluate("() => window.htmx === undefined")
    assert page.locator("#tb-fields .count").count() == 0
    page.click("#tb-fields > summary")
    page.click("#tb-fields button[name=all][value=hide]")
    page.wait_for_timeout(300)
    assert len(held) == 1
    held[0].continue_()
    page.wait_for_selector("#tb-fields .count")
    page.unroute("**/htmx.min.js")
    page.reload()
    assert "hidden" in page.locator("#tb-fields .count").inner_text()


def test_drag_a_view_tab_to_reorder(page, live_server_url):
    open_projects(page, live_server_url)
    tag = uuid.uuid4().hex[:4]
    new_view(page, f"First {tag}")
    new_view(page, f"Second {tag}")
    tabs = page.locator("#view-tabs li.tab")
    names = [t.strip() for t in tabs.locator(".tab-title").all_inner_texts()]
    assert names.index(f"First {tag}") < names.index(f"Second {tag}")
    second = page.locator("#view-tabs li.tab", has_text=f"Second {tag}")
    first = page.locator("#view-tabs li.tab", has_text=f"First {tag}")
    second.locator(":scope > a").drag_to(
        first.locator(":scope > a"), target_position={"x": 2, "y": 5}
    )
    settle(page)
    page.reload()
    page.wait_for_selector("#view-tabs")
    names = [
        t.strip()
        for t in page.locator("#view-tabs li.tab .tab-title").all_inner_texts()
    ]
    assert names.index(f"Second {tag}") < names.index(f"First {tag}")


def test_a_big_group_shows_more_rows_on_request(page, live_server_url):
    login(page, live_server_url)
    page.click("text=Demo CRM")
    page.click("aside >> text=tasks")
    page.wait_for_selector("#toolbar")
    new_view(page, f"Big groups {uuid.uuid4().hex[:4]}")
    settle(page)
    page.click("#tb-group > summary")
    page.select_option("#tb-group select[name=add]", label="done")
    page.wait_for_selector("#grid-groups details.group")
    group = page.locator("#grid-groups details.group").first
    count = int(group.locator(".group-count").inner_text().replace(",", ""))
    assert count > 100
    group.locator("summary").click()
    rows = group.locator(".group-body tbody tr")
    rows.first.wait_for()
    assert rows.count() == 100
    group.locator("text=Show more rows").click()
    page.wait_for_function(
        "n => document.querySelector('#grid-groups details.group .group-body tbody')"
        ".rows.length > n",
        arg=100,
    )
    assert rows.count() == min(count, 200)
    numbers = group.locator(".group-body tbody tr td.rownum").all_inner_texts()
    assert numbers[100].strip().startswith("101")
