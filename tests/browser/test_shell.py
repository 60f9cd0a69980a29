"""The app shell in a real browser: home, base page, new-base wizard, API tokens, tablet width."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.test_first_visit import login

pytestmark = pytest.mark.browser


def test_home_and_base_pages(page, live_server_url):
    login(page, live_server_url)
    card = page.locator(".base-card", has_text="Demo CRM")
    meta = card.locator(".base-meta").inner_text()
    assert "3 tables" in meta and "Owner" in meta.title()
    shot(page, "home")
    card.locator("a").click()
    page.wait_for_selector(".table-cards")
    assert page.locator(".table-card").count() == 3
    assert page.locator("aside .role-badge").inner_text().lower() == "owner"
    shot(page, "base-page")
    page.locator(".table-card", has_text="tasks").click()
    page.wait_for_selector("#toolbar")
    assert page.locator("aside a.active .t-name").inner_text() == "tasks"


def test_new_base_wizard_shows_only_what_the_mode_needs(page, live_server_url):
    login(page, live_server_url)
    page.click("text=+ New base")
    expect(page.locator("#f-host")).to_be_hidden()
    page.locator("#f-mode label", has_text="connection details").click()
    expect(page.locator("#f-host")).to_be_visible()
    expect(page.locator("#f-schema")).to_be_visible()
    page.select_option("select[name=kind]", "sqlite3")
    expect(page.locator("#f-path")).to_be_visible()
    expect(page.locator("#f-host")).to_be_hidden()
    shot(page, "new-base")
    page.locator("#f-mode label", has_text="from scratch").click()
    page.fill("input[name=title]", "Scratchpad")
    page.click("button:has-text('Create base')")
    page.wait_for_selector("aside >> text=Scratchpad")
    assert page.locator("h1").inner_text() == "Scratchpad"


def test_api_token_is_shown_once_and_can_be_revoked(page, live_server_url):
    login(page, live_server_url)
    page.click("nav >> text=API tokens")
    page.fill("input[name=name]", "ci script")
    page.click("button:has-text('Create token')")
    token = page.locator("#new-token").inner_text()
    assert len(token) > 20
    page.click("button[data-copy]")
    expect(page.locator("button[data-copy]")).to_have_text(
        re.compile("Copied|Selected")
    )
    row = page.locator("table.list tr", has_text="ci script")
    assert token not in row.inner_text()  # only a prefix is listed
    page.once("dialog", lambda d: d.accept())
    row.locator("button:has-text('Revoke')").click()
    page.wait_for_selector("text=Token revoked.")
    assert page.locator("table.list tr", has_text="ci script").count() == 0


def test_account_menu_logs_out(page, live_server_url):
    login(page, live_server_url)
    page.click(".user-menu > summary")
    page.click(".user-menu >> text=Log out")
    page.wait_for_selector("text=Log in")


# Elements sticking out of the page (not clipped by a scrolling parent), for the message.
WIDE = """() => [...document.querySelectorAll('body *')].filter(el => {
  if (el.getBoundingClientRect().right <= innerWidth + 1) return false;
  for (let a = el.parentElement; a; a = a.parentElement)
    if (getComputedStyle(a).overflowX !== 'visible') return false;
  return true;
}).slice(0, 5).map(el => el.tagName + '.' + el.className)"""


def test_tablet_width(page, live_server_url):
    page.set_viewport_size({"width": 820, "height": 1100})
    login(page, live_server_url)
    page.click("text=Demo CRM")
    page.click("aside >> text=projects")
    page.wait_for_selector("#toolbar")
    page.wait_for_load_state("load")  # grid.css is linked from the page body
    # The sidebar becomes a strip above the content; nothing overflows sideways.
    aside = page.locator("aside").bounding_box()
    main = page.locator("main").bounding_box()
    assert aside["y"] + aside["height"] <= main["y"] + 1
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, page.evaluate(WIDE)
    page.click("#tb-filter > summary")
    box = page.locator("#tb-filter .menu-panel").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 820
    shot(page, "tablet-table")
