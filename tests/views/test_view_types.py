"""Gallery, kanban and calendar views: settings, pages, moves, additions and refusals.

Reads go through bases/records.py and writes through records/writes.py with the actor,
so these tests check the outcome in the data (read back as SYSTEM) and that refused requests
change nothing.
"""

import datetime as dt
import io

import pytest

from bases import records
from nocoplatform.errors import InvalidInput
from permissions.checks import SYSTEM
from permissions.services import field_rule_set, membership_create
from views.models import View
from views.services import view_create, view_options_update

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def fid(table, title):
    return table.fields.get(title=title).pk


def page_url(view, query=""):
    return f"/bases/{view.table.base_id}/tables/{view.table_id}/views/{view.pk}/{query}"


def vurl(view, tail):
    return f"/bases/{view.table.base_id}/views/{view.pk}/{tail}"


def status_of(table, record_id):
    return records.get_record(table, record_id, actor=SYSTEM)["status"]


def as_member(web, demo, other_user, role):
    membership_create(base=demo, user=other_user, role=role)
    web.force_login(other_user)
    return web


# ---- settings


def test_new_views_get_defaults_and_settings_are_validated(owner, projects, demo):
    kanban = view_create(actor=owner, table=projects, title="K", type="kanban")
    assert kanban.options["stack_field"] == fid(projects, "status")
    cal = view_create(actor=owner, table=projects, title="C", type="calendar")
    assert cal.options == {**cal.options, "date_field": fid(projects, "due date")}
    assert cal.options["mode"] == "month"
    bad = [
        (kanban, {"stack_field": fid(projects, "name")}, "SingleSelect"),
        (kanban, {"stack_field": "nope"}, "no field 'nope'"),
        (kanban, {"hidden_stacks": "done"}, "list of stack names"),
        (cal, {"date_field": fid(projects, "budget")}, "Date or DateTime"),
        (cal, {"end_field": fid(projects, "due date")}, "other than the date"),
        (cal, {"mode": "year"}, "month, week"),
    ]
    for view, options, message in bad:
        with pytest.raises(InvalidInput, match=message):
            view_options_update(actor=owner, view=view, options=options)
    gallery = view_create(actor=owner, table=projects, title="G", type="gallery")
    with pytest.raises(InvalidInput, match="cover, contain"):
        view_options_update(actor=owner, view=gallery, options={"cover_fit": "zoom"})
    with pytest.raises(InvalidInput, match="URL"):
        view_options_update(
            actor=owner, view=gallery, options={"cover_field": fid(projects, "name")}
        )
    # Nothing refused was saved.
    assert View.objects.get(pk=kanban.pk).options["stack_field"] == fid(
        projects, "status"
    )
    clients = demo.tables.get(title="clients")
    with pytest.raises(InvalidInput, match="date or date-time field"):
        view_create(actor=owner, table=clients, title="C", type="calendar")
    g = view_create(actor=owner, table=clients, title="G", type="gallery")
    assert g.options["cover_field"] == fid(clients, "website")  # the URL field


def test_view_tabs_create_each_type_and_refuse_viewers(web, projects, demo, other_user):
    url = f"/bases/{demo.pk}/tables/{projects.pk}/views/new"
    for kind in ("gallery", "kanban", "calendar"):
        response = web.post(url, {"title": f"My {kind}", "type": kind}, **HX)
        assert response.status_code == 200 and response.headers["HX-Redirect"]
        view = projects.views.get(title=f"My {kind}")
        assert view.type == kind
        page = web.get(response.headers["HX-Redirect"])
        assert page.status_code == 200 and f"view-{kind}" in page.content.decode()
    tabs = web.get(page_url(view)).content.decode()
    # Every type is offered, forms included (tests/shares/test_forms.py creates one).
    assert 'value="kanban"' in tabs and 'value="form"' in tabs
    menu = tabs.split('class="view-types"')[1].split("</fieldset>")[0]
    assert "(soon)" not in menu and "disabled" not in menu
    as_member(web, demo, other_user, "viewer")
    before = projects.views.count()
    response = web.post(url, {"title": "Nope", "type": "kanban"}, **HX)
    assert response.status_code in (200, 403) and projects.views.count() == before


def test_settings_endpoint_saves_and_shows_errors(web, owner, projects):
    view = view_create(actor=owner, table=projects, title="G", type="gallery")
    response = web.post(vurl(view, "settings"), {"cover_fit": "zoom"}, **HX)
    assert response.status_code == 200 and "cover, contain" in response.content.decode()
    assert response.headers["HX-Retarget"] == "#view-settings-error"
    assert web.post(vurl(view, "settings"), {"cover_fit": "zoom"}).status_code == 400
    name, budget = fid(projects, "name"), fid(projects, "budget")
    response = web.post(
        vurl(view, "settings"),
        {
            "cover_fit": "contain",
            "title_field": name,
            "card_fields_sent": "1",
            "card_fields": [budget],
        },
        **HX,
    )
    assert response.status_code == 200 and response.headers["HX-Refresh"] == "true"
    view.refresh_from_db()
    assert view.options["cover_fit"] == "contain"
    assert view.options["card_fields"] == [budget]
    page = web.get(page_url(view)).content.decode()
    assert "fit-contain" in page and "€" in page and "<dt>due date</dt>" not in page


# ---- gallery


def test_gallery_pages_by_cursor_and_applies_the_view(web, owner, projects):
    view = view_create(actor=owner, table=projects, title="G", type="gallery")
    page = web.get(page_url(view)).content.decode()
    assert page.count('class="vcard"') == 48 and "120 records" in page
    cursor = page.split("cursor=")[1].split('"')[0].split("&amp;")[0]
    from urllib.parse import unquote

    more = web.get(vurl(view, "cards"), {"cursor": unquote(cursor)}).content.decode()
    assert more.count('class="vcard"') == 48 and "more-sentinel" in more
    first = {p.split('"')[0] for p in page.split('data-id="')[1:]}
    second = {p.split('"')[0] for p in more.split('data-id="')[1:]}
    assert first and second and not first & second
    # The view's filter and the search apply.
    view.where = "(status,eq,done)"
    view.save()
    page = web.get(page_url(view)).content.decode()
    n = records.count_records(projects, {"where": "(status,eq,done)"}, actor=SYSTEM)
    assert page.count('class="vcard"') == n and f"{n} records" in page
    page = web.get(page_url(view, "?q=Atlas")).content.decode()
    found = records.count_records(projects, actor=SYSTEM, view=view, search="Atlas")
    assert 0 < found < n and page.count('class="vcard"') == found


def test_hidden_fields_never_show_on_cards(web, owner, projects, demo, other_user):
    budget = fid(projects, "budget")
    view = view_create(actor=owner, table=projects, title="G", type="gallery")
    view_options_update(actor=owner, view=view, options={"card_fields": [budget]})
    assert "€" in web.get(page_url(view)).content.decode()
    view.hidden_fields = [budget]  # hidden in the view: off the cards too
    view.save()
    assert "€" not in web.get(page_url(view)).content.decode()
    view.hidden_fields = []
    view.save()
    # Hidden from the role: never selected, whatever the view says.
    field_rule_set(
        actor=owner, field=projects.fields.get(pk=budget), hidden_below="creator"
    )
    as_member(web, demo, other_user, "editor")
    for v in (
        view,
        view_create(actor=owner, table=projects, title="K", type="kanban"),
    ):
        if v.type == "kanban":
            view_options_update(actor=owner, view=v, options={"card_fields": [budget]})
        body = web.get(page_url(v)).content.decode()
        assert "€" not in body and ">budget<" not in body


# ---- kanban


def test_kanban_stacks_counts_and_show_more(web, owner, projects):
    view = view_create(actor=owner, table=projects, title="K", type="kanban")
    page = web.get(page_url(view)).content.decode()
    for status in ("planned", "active", "done", "cancelled"):
        n = records.count_records(
            projects, {"where": f"(status,eq,{status})"}, actor=SYSTEM
        )
        section = page.split(f'<section class="stack" data-stack="{status}"')[1]
        section = section.split("</section>")[0]
        assert f">{n}</span>" in section
        assert section.count('class="vcard"') == min(n, 25)
        assert ("Show more" in section) == (n > 25)
    assert 'data-stack=""' in page and "Uncategorized" in page
    assert page.count('draggable="true"') > 25  # the owner may drag


def test_kanban_show_more_pages_a_stack_by_cursor(web, owner, projects):
    view = view_create(actor=owner, table=projects, title="K", type="kanban")
    page = web.get(page_url(view)).content.decode()
    active = page.split('<section class="stack" data-stack="active"')[1]
    active = active.split("</section>")[0]
    more_url = active.split('class="link small show-more" hx-get="')[1].split('"')[0]
    more = web.get(more_url.replace("&amp;", "&")).content.decode()
    first = {p.split('"')[0] for p in active.split('data-id="')[1:]}
    second = {p.split('"')[0] for p in more.split('data-id="')[1:]}
    total = records.count_records(
        projects, {"where": "(status,eq,active)"}, actor=SYSTEM
    )
    assert len(first) == 25 and len(second) == min(total - 25, 25)
    assert not first & second


def test_kanban_move_between_and_within_stacks(web, owner, projects):
    view = view_create(actor=owner, table=projects, title="K", type="kanban")
    first = records.list_records(
        projects, {"where": "(status,eq,planned)", "limit": "3"}, actor=SYSTEM
    )
    a, b, c = (r["Id"] for r in first)
    response = web.post(
        vurl(view, "move"), {"record": a, "stack": "done", "order": [a, 5, 7]}
    )
    assert response.status_code == 200, response.content
    assert status_of(projects, a) == "done"
    view.refresh_from_db()
    assert view.options["card_order"]["done"] == [str(a), "5", "7"]
    # Within a stack: only the order changes; it leads the stack on the next visit.
    web.post(vurl(view, "move"), {"record": c, "stack": "planned", "order": [c, b]})
    assert status_of(projects, c) == "planned"
    page = web.get(page_url(view)).content.decode()
    planned = page.split('<section class="stack" data-stack="planned"')[1]
    planned = planned.split("</section>")[0]
    ids = [p.split('"')[0] for p in planned.split('data-id="')[1:]]
    assert ids[:2] == [str(c), str(b)]
    # Uncategorized empties the field; an unknown stack is refused.
    web.post(vurl(view, "move"), {"record": b, "stack": ""})
    assert status_of(projects, b) is None
    bad = web.post(vurl(view, "move"), {"record": b, "stack": "nope"})
    assert bad.status_code == 400 and "no option 'nope'" in bad.json()["message"]


def test_kanban_add_card_in_a_stack(web, owner, projects):
    view = view_create(actor=owner, table=projects, title="K", type="kanban")
    before = records.count_records(projects, actor=SYSTEM)
    response = web.post(vurl(view, "add"), {"stack": "active", "title": "Fresh"}, **HX)
    assert response.status_code == 200 and "Fresh" in response.content.decode()
    row = records.list_records(
        projects, {"where": "(name,eq,Fresh)"}, actor=SYSTEM
    ).rows[0]
    assert row["status"] == "active"
    assert records.count_records(projects, actor=SYSTEM) == before + 1


def test_kanban_stacks_collapse_hide_and_reorder(web, owner, projects):
    view = view_create(actor=owner, table=projects, title="K", type="kanban")
    web.post(vurl(view, "settings"), {"collapse": "done"}, **HX)
    web.post(vurl(view, "settings"), {"hide": "cancelled"}, **HX)
    web.post(vurl(view, "settings"), {"stack_order": ["active", "", "planned"]}, **HX)
    view.refresh_from_db()
    assert view.options["collapsed_stacks"] == ["done"]
    assert view.options["hidden_stacks"] == ["cancelled"]
    page = web.get(page_url(view)).content.decode()
    assert '<section class="stack" data-stack="cancelled"' not in page
    assert "1 hidden stack" in page
    done = page.split('<section class="stack collapsed" data-stack="done"')[1]
    assert 'class="vcard"' not in done.split("</section>")[0]
    assert page.index('data-stack="active"') < page.index('data-stack=""')
    web.post(vurl(view, "settings"), {"hide": "cancelled"}, **HX)  # toggles back
    view.refresh_from_db()
    assert view.options["hidden_stacks"] == []


def test_who_may_not_edit_cannot_drag(web, owner, projects, demo, other_user):
    view = view_create(actor=owner, table=projects, title="K", type="kanban")
    cal = view_create(actor=owner, table=projects, title="C", type="calendar")
    rid = records.list_records(
        projects, {"where": "(status,eq,planned)", "limit": "1"}, actor=SYSTEM
    ).rows[0]["Id"]
    as_member(web, demo, other_user, "viewer")
    page = web.get(page_url(view)).content.decode()
    assert 'draggable="true"' not in page and "stack-add" not in page
    assert "read-only for you" in page
    response = web.post(vurl(view, "move"), {"record": rid, "stack": "done"})
    assert response.status_code == 403
    assert web.post(vurl(view, "add"), {"stack": "done"}).status_code == 403
    assert web.post(vurl(view, "settings"), {"hide": "done"}).status_code == 403
    assert status_of(projects, rid) == "planned"
    calendar = web.get(page_url(cal)).content.decode()
    assert 'draggable="true"' not in calendar and "cal-add" not in calendar
    assert (
        web.post(vurl(cal, "move"), {"record": rid, "date": "2026-01-01"}).status_code
        == 403
    )
    # An editor drags (but does not create records: no "add a card")...
    from permissions.models import Membership

    Membership.objects.filter(user=other_user, base=demo).update(role="editor")
    page = web.get(page_url(view)).content.decode()
    assert 'draggable="true"' in page and "stack-add" not in page
    # ...unless the stack field is read-only for them: no handles, refused on the server.
    field_rule_set(
        actor=owner,
        field=projects.fields.get(title="status"),
        read_only_below="creator",
    )
    page = web.get(page_url(view)).content.decode()
    assert 'draggable="true"' not in page
    response = web.post(vurl(view, "move"), {"record": rid, "stack": "done"})
    assert response.status_code == 403 and response.json()["error"] == "FIELD_READ_ONLY"
    assert status_of(projects, rid) == "planned"
    view.refresh_from_db()
    assert "done" not in (view.options.get("card_order") or {})


# ---- calendar


def test_calendar_reads_the_visible_month_only(web, owner, projects):
    cal = view_create(actor=owner, table=projects, title="C", type="calendar")
    page = web.get(page_url(cal, "?date=2026-11-10")).content.decode()
    assert "November 2026" in page
    shown = records.count_records(
        projects,
        {"where": "(due date,btw,2026-10-26,2026-12-06)"},
        actor=SYSTEM,
    )
    assert page.count('class="chip cal-chip') == shown
    week = web.get(page_url(cal, "?date=2026-11-10&mode=week")).content.decode()
    in_week = records.count_records(
        projects, {"where": "(due date,btw,2026-11-09,2026-11-15)"}, actor=SYSTEM
    )
    assert week.count('class="chip cal-chip') == in_week
    assert "9 Nov – 15 Nov 2026" in week
    assert 'href="?date=2026-12-01&amp;mode=month"' in page  # next month
    assert 'href="?date=2026-10-01&amp;mode=month"' in page  # previous month


def test_calendar_move_and_add_and_undated(web, owner, projects):
    cal = view_create(actor=owner, table=projects, title="C", type="calendar")
    rid = records.list_records(projects, {"limit": "1"}, actor=SYSTEM).rows[0]["Id"]
    response = web.post(vurl(cal, "move"), {"record": rid, "date": "2026-12-24"})
    assert response.status_code == 200
    row = records.get_record(projects, rid, actor=SYSTEM)
    assert row["due date"] == dt.date(2026, 12, 24)
    bad = web.post(vurl(cal, "move"), {"record": rid, "date": "Christmas"})
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.json()["message"]
    response = web.post(
        vurl(cal, "add"), {"date": "2026-12-25"}, HTTP_HX_PROMPT="Party", **HX
    )
    assert response.status_code == 200 and response.headers["HX-Refresh"] == "true"
    party = records.list_records(
        projects, {"where": "(name,eq,Party)"}, actor=SYSTEM
    ).rows[0]
    assert party["due date"] == dt.date(2026, 12, 25)
    page = web.get(page_url(cal, "?date=2026-12-01")).content.decode()
    day = page.split('data-date="2026-12-25"')[1].split('class="cal-day')[0]
    assert "Party" in day
    # A record without a date is listed beside the grid.
    from records.writes import update_rows

    update_rows(projects, {"Id": rid, "due date": None}, actor=SYSTEM)
    page = web.get(page_url(cal)).content.decode()
    aside = page.split('class="cal-undated')[1].split("</aside>")[0]
    assert f'data-id="{rid}"' in aside


def test_calendar_datetime_keeps_time_and_span_length(web, owner, demo):
    from bases import schema_services
    from records.writes import update_rows

    tasks = demo.tables.get(title="tasks")
    schema_services.field_create(
        actor=owner, table=tasks, data={"title": "until", "uidt": "DateTime"}
    )
    tasks.refresh_from_db()
    cal = view_create(actor=owner, table=tasks, title="C", type="calendar")
    assert cal.options["date_field"] == fid(tasks, "due")
    view_options_update(
        actor=owner, view=cal, options={"end_field": fid(tasks, "until")}
    )
    rid = records.list_records(tasks, {"limit": "1"}, actor=SYSTEM).rows[0]["Id"]
    update_rows(
        tasks,
        {
            "Id": rid,
            "due": "2026-11-03T14:30:00+00:00",
            "until": "2026-11-05T10:00:00+00:00",
        },
        actor=SYSTEM,
    )
    page = web.get(page_url(cal, "?date=2026-11-01")).content.decode()
    for d in ("2026-11-03", "2026-11-04", "2026-11-05"):
        assert (
            f'data-id="{rid}"'
            in page.split(f'data-date="{d}"')[1].split('class="cal-day')[0]
        )
    assert (
        web.post(vurl(cal, "move"), {"record": rid, "date": "2026-11-10"}).status_code
        == 200
    )
    row = records.get_record(tasks, rid, actor=SYSTEM)
    assert row["due"].isoformat().startswith("2026-11-10T14:30")
    assert row["until"].isoformat().startswith("2026-11-12T10:00")


def test_moves_and_additions_fire_webhooks(
    web, owner, projects, django_capture_on_commit_callbacks
):
    """Writes go through records.writes, so webhooks see them like any other write."""
    from webhooks.models import WebhookEvent
    from webhooks.services import webhook_create

    webhook_create(
        actor=owner,
        table=projects,
        data={
            "title": "watch",
            "url": "http://127.0.0.1:9/hook",
            "events": ["insert", "update"],
        },
    )
    kanban = view_create(actor=owner, table=projects, title="K", type="kanban")
    cal = view_create(actor=owner, table=projects, title="C", type="calendar")
    rid = records.list_records(
        projects, {"where": "(status,eq,planned)", "limit": "1"}, actor=SYSTEM
    ).rows[0]["Id"]
    with django_capture_on_commit_callbacks(execute=True):
        web.post(vurl(kanban, "move"), {"record": rid, "stack": "done"})
        web.post(vurl(cal, "move"), {"record": rid, "date": "2027-03-01"})
        web.post(vurl(kanban, "add"), {"stack": "done", "title": "Hooked"}, **HX)
    types = list(WebhookEvent.objects.values_list("type", flat=True))
    assert sum("update" in t for t in types) == 2
    assert sum("insert" in t for t in types) == 1


def test_views_api_validates_type_settings(api, owner, projects):
    url = f"/api/v2/meta/tables/{projects.pk}/views"
    made = api.post(url, {"title": "Board", "type": "kanban"}, format="json")
    assert made.status_code == 201
    assert made.json()["options"]["stack_field"] == fid(projects, "status")
    bad = api.post(
        url,
        {"title": "Cal", "type": "calendar", "options": {"date_field": "nope"}},
        format="json",
    )
    assert bad.status_code == 400 and bad.json()["error"] == "FIELD_NOT_FOUND"
    view_id = made.json()["id"]
    patched = api.patch(
        f"/api/v2/meta/views/{view_id}",
        {"options": {"stack_field": fid(projects, "name")}},
        format="json",
    )
    assert patched.status_code == 400 and "SingleSelect" in patched.json()["message"]
    assert View.objects.get(pk=view_id).options["stack_field"] == fid(
        projects, "status"
    )


def test_stack_names_with_commas_and_parentheses(web, owner, demo):
    from bases import schema_services

    clients = demo.tables.get(title="clients")
    field = schema_services.field_create(
        actor=owner,
        table=clients,
        data={"title": "tier", "uidt": "SingleSelect", "choices": ["a, b)", '"q"~or']},
    )
    view = view_create(actor=owner, table=clients, title="K", type="kanban")
    view_options_update(actor=owner, view=view, options={"stack_field": field.pk})
    rid = records.list_records(clients, {"limit": "1"}, actor=SYSTEM).rows[0]["Id"]
    for stack in ("a, b)", '"q"~or'):
        response = web.post(vurl(view, "move"), {"record": rid, "stack": stack})
        assert response.status_code == 200, response.content
        assert records.get_record(clients, rid, actor=SYSTEM)["tier"] == stack
        cards = web.get(vurl(view, "cards"), {"stack": stack}).content.decode()
        assert cards.count('class="vcard"') == 1 and f'data-id="{rid}"' in cards


def test_gallery_cover_from_an_attachment_field(web, owner, projects):
    """An attachment field can be the gallery's cover: its first image's thumbnail, served
    through the attachment view (with its access checks); a non-image, or an image too
    broken to make a thumbnail of, gives no cover."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from bases import schema_services
    from bases.attachments import attachments_add
    from tests.images import image_bytes

    photos = schema_services.field_create(
        actor=owner, table=projects, data={"title": "photos", "uidt": "Attachment"}
    )
    png = image_bytes(600, 400)
    attachments_add(
        actor=owner,
        table=projects,
        record_id=1,
        field_id=photos.pk,
        files=[
            SimpleUploadedFile("notes.txt", b"plain text"),
            SimpleUploadedFile("pic.png", png),
        ],
    )
    attachments_add(
        actor=owner,
        table=projects,
        record_id=2,
        field_id=photos.pk,
        files=[SimpleUploadedFile("only.txt", b"plain text")],
    )
    view = view_create(actor=owner, table=projects, title="Covers", type="gallery")
    view = view_options_update(
        actor=owner, view=view, options={"cover_field": photos.pk}
    )
    page = web.get(page_url(view)).content.decode()
    prefix = (
        f"/bases/{projects.base_id}/tables/{projects.pk}/attachments/1/{photos.pk}/"
    )
    assert prefix in page
    src = prefix + page.split(prefix)[1].split('"')[0]
    assert src.endswith("?thumb=1")
    served = web.get(src)
    assert served.status_code == 200 and served["Content-Type"] == "image/webp"
    from PIL import Image

    thumb = Image.open(io.BytesIO(b"".join(served.streaming_content)))
    assert thumb.size == (256, 171)
    assert f"/attachments/2/{photos.pk}/" not in page  # a text file is no cover
    # A broken image is refused at upload now; one stored before that check has no
    # thumbnail ("thumb": false) and gives no cover.
    with pytest.raises(InvalidInput) as refused:
        attachments_add(
            actor=owner,
            table=projects,
            record_id=3,
            field_id=photos.pk,
            files=[SimpleUploadedFile("broken.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)],
        )
    assert refused.value.code == "IMAGE_CORRUPT"
    from records.writes import update_rows

    pic = next(
        e
        for e in records.get_record(projects, 1, actor=owner)["photos"]
        if e["name"] == "pic.png"
    )
    update_rows(projects, [{"Id": 3, "photos": [{**pic, "thumb": False}]}], actor=owner)
    page = web.get(page_url(view)).content.decode()
    assert f"/attachments/3/{photos.pk}/" not in page  # no thumbnail, no cover
