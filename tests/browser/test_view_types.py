"""Gallery, kanban and calendar views in a real browser: covers render, a card dragged to
another stack stays there after a reload, a chip dragged to another day is rescheduled.

The data lives in a base made for these tests (`View types`); cover images come from a small
HTTP server on loopback that the test starts (real image requests, nothing mocked).
"""

import functools
import http.server
import json
import struct
import threading
import zlib

import pytest

from tests.browser.conftest import shot
from tests.browser.test_first_visit import login

pytestmark = pytest.mark.browser

SETUP = """
import datetime as dt, json
from django.contrib.auth import get_user_model
from bases import records, schema_services, services
from bases.models import Base
from permissions.checks import Actor
from views.services import default_view, view_create
actor = Actor(user=get_user_model().objects.get(email="admin@example.com"))
IMG = "%(img)s"
base = Base.objects.filter(title="View types").first()
if base is None:
    base = services.base_create(actor=actor, title="View types")
    t = schema_services.table_create(actor=actor, base=base, title="trips", columns=[
        {"title": "name", "uidt": "SingleLineText"},
        {"title": "photo", "uidt": "URL"},
        {"title": "stage", "uidt": "SingleSelect", "choices": ["idea", "booked", "done"]},
        {"title": "day", "uidt": "Date"},
        {"title": "secret", "uidt": "SingleLineText"},
    ])
    today = dt.date.today()
    first = today.replace(day=1)
    rows = []
    for i in range(1, 13):
        rows.append({"name": f"Trip {i}", "photo": f"{IMG}/c{i %% 4}.png",
                     "stage": ["idea", "booked", "done"][i %% 3],
                     "day": (first + dt.timedelta(days=i)).isoformat() if i < 11 else None,
                     "secret": f"hush {i}"})
    records.insert_many(t, rows)
    default_view(t)
    g = view_create(actor=actor, table=t, title="Photos", type="gallery")
    k = view_create(actor=actor, table=t, title="Board", type="kanban")
    c = view_create(actor=actor, table=t, title="Days", type="calendar")
    for v in (g, k):
        v.hidden_fields = [t.fields.get(title="secret").pk]
        v.save()
    many = schema_services.table_create(actor=actor, base=base, title="many", columns=[
        {"title": "name", "uidt": "SingleLineText"}])
    records.insert_many(many, [{"name": f"Item {i:03d}"} for i in range(1, 131)])
    default_view(many)
    view_create(actor=actor, table=many, title="Cards", type="gallery")
t = base.tables.get(title="trips")
many = base.tables.get(title="many")
print(json.dumps({"base": base.pk, "table": t.pk, "many": many.pk,
                  "many_gallery": many.views.get(type="gallery").pk,
                  **{v.type: v.pk for v in t.views.all()}}))
"""


def png(rgb: tuple[int, int, int], w: int = 64, h: int = 40) -> bytes:
    """A solid-colour PNG (no imaging library needed)."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + bytes(rgb) * w for _ in range(h))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("covers")
    for i, rgb in enumerate(
        [(99, 132, 255), (255, 170, 90), (80, 200, 140), (220, 90, 160)]
    ):
        (root / f"c{i}.png").write_bytes(png(rgb))
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(root)
    )
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def ids(live_server_url, images):
    out = live_server_url.manage("shell", "-c", SETUP % {"img": images})
    return json.loads(out.splitlines()[-1])


def open_view(page, url, ids, kind):
    login(page, url)
    page.goto(f"{url}/bases/{ids['base']}/tables/{ids['table']}/views/{ids[kind]}/")


def test_gallery_covers_render(page, live_server_url, ids):
    open_view(page, live_server_url, ids, "gallery")
    page.wait_for_selector(".gallery .vcard")
    page.wait_for_function(
        "[...document.querySelectorAll('.vcard-cover img')].length >= 12 && "
        "[...document.querySelectorAll('.vcard-cover img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.locator(".vcard").count() == 12
    assert "hush" not in page.locator(".gallery").inner_text()  # a hidden field
    shot(page, "view-gallery")
    page.locator(".vcard", has_text="Trip 3").first.click()
    page.wait_for_selector("#grid-modal:not([hidden]) .expand-form")
    shot(page, "view-gallery-expanded")
    page.keyboard.press("Escape")
    assert page.locator("#grid-modal").is_hidden()


def test_gallery_loads_more_cards_on_scroll(page, live_server_url, ids):
    login(page, live_server_url)
    page.goto(
        f"{live_server_url}/bases/{ids['base']}/tables/{ids['many']}"
        f"/views/{ids['many_gallery']}/"
    )
    page.wait_for_selector(".gallery .vcard")
    # The page brings 48; more come as the sentinel scrolls into view (it may already be).
    for _ in range(6):
        if page.locator(".vcard").count() == 130:
            break
        sentinel = page.locator(".more-sentinel")
        if sentinel.count():
            sentinel.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
    page.wait_for_function("document.querySelectorAll('.vcard').length === 130")
    assert page.locator(".more-sentinel").count() == 0
    titles = page.locator(".vcard-title").all_inner_texts()
    assert len(set(titles)) == 130  # no card twice, none skipped


def test_kanban_drag_between_stacks_persists(page, live_server_url, ids):
    open_view(page, live_server_url, ids, "kanban")
    page.wait_for_selector(".kanban .vcard")
    shot(page, "view-kanban")
    card = page.locator('.stack[data-stack="idea"] .vcard', has_text="Trip 3").first
    target = page.locator('.stack[data-stack="done"] .stack-cards')
    with page.expect_response(lambda r: r.url.endswith("/move")) as moved:
        card.drag_to(target)
    assert moved.value.ok
    page.reload()
    page.wait_for_selector(".kanban .vcard")
    assert (
        page.locator('.stack[data-stack="done"] .vcard', has_text="Trip 3").count() == 1
    )
    assert (
        page.locator('.stack[data-stack="idea"] .vcard', has_text="Trip 3").count() == 0
    )
    assert "hush" not in page.locator(".kanban").inner_text()
    shot(page, "view-kanban-after-drag")
    # Add a card in a stack: it appears there at once and is stored with that stage.
    add = page.locator('.stack[data-stack="booked"] .stack-add input[name=title]')
    add.fill("Trip new")
    with page.expect_response(lambda r: r.url.endswith("/add")) as added:
        add.press("Enter")
    assert added.value.ok
    page.wait_for_selector('.stack[data-stack="booked"] .vcard:has-text("Trip new")')
    assert add.input_value() == ""
    page.reload()
    page.wait_for_selector('.stack[data-stack="booked"] .vcard:has-text("Trip new")')


def test_kanban_stacks_reorder_and_collapse(page, live_server_url, ids):
    open_view(page, live_server_url, ids, "kanban")
    page.wait_for_selector(".kanban .vcard")

    def order():
        return page.locator(".kanban .stack").evaluate_all(
            "ss => ss.map(s => s.dataset.stack)"
        )

    assert order().index("idea") < order().index("done")
    with page.expect_response(lambda r: r.url.endswith("/settings")) as saved:
        page.locator('.stack[data-stack="done"] .stack-grip').drag_to(
            page.locator('.stack[data-stack="idea"] .stack-head'),
            target_position={"x": 5, "y": 10},
        )
    assert saved.value.ok
    page.reload()
    page.wait_for_selector(".kanban .vcard")
    assert order().index("done") < order().index("idea")
    with page.expect_navigation():
        page.click('[aria-label="Collapse booked"]')
    page.wait_for_selector('.stack.collapsed[data-stack="booked"]')
    assert page.locator('.stack[data-stack="booked"] .vcard').count() == 0
    shot(page, "view-kanban-reordered-collapsed")
    with page.expect_navigation():
        page.click('[aria-label="Expand booked"]')
    page.wait_for_selector('.stack[data-stack="booked"] .vcard')


def test_calendar_drag_reschedules(page, live_server_url, ids):
    open_view(page, live_server_url, ids, "calendar")
    page.wait_for_selector(".calendar .cal-chip")
    shot(page, "view-calendar")
    chip = page.locator(".cal-day .cal-chip", has_text="Trip 2").first
    old_day = chip.evaluate("c => c.closest('.cal-day').dataset.date")
    # Two weeks later: still on the month grid (six weeks shown).
    days = page.locator(".cal-day").evaluate_all("ds => ds.map(d => d.dataset.date)")
    new_day = days[days.index(old_day) + 14]
    # The page reloads itself after a move (the server draws spans and lists again).
    with page.expect_navigation():
        with page.expect_response(lambda r: r.url.endswith("/move")) as moved:
            chip.drag_to(page.locator(f'.cal-day[data-date="{new_day}"]'))
    assert moved.value.ok
    page.wait_for_selector(".calendar .cal-chip")
    where = page.locator(".cal-chip", has_text="Trip 2").first.evaluate(
        "c => c.closest('.cal-day').dataset.date"
    )
    assert where == new_day
    undated = page.locator(".cal-undated").inner_text()
    assert "Trip 11" in undated and "Trip 12" in undated
    shot(page, "view-calendar-after-drag")
    page.click("text=Week")
    page.wait_for_selector(".calendar.mode-week")
    assert page.locator(".cal-day").count() == 7
    shot(page, "view-calendar-week")
    page.click("[aria-label^='Next week']")
    page.wait_for_selector(".calendar.mode-week")
    page.click("text=Today")
    page.wait_for_selector(".cal-day.today")
