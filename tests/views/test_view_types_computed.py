"""Kanban stacks and calendar dates from computed fields (views/types/, bases/fieldtypes) on
PostgreSQL, MariaDB and SQLite: a kanban by a text formula (a stack per value, from one GROUP
BY) or by a lookup of a single select (its options' stacks and colours), a calendar by a
formula date or a lookup of a date; computed stacks and dates are read-only (no handles, moves
refused with a 400 naming why); a field that cannot stack or date is refused when chosen."""

from __future__ import annotations

import re

import pytest

from bases import records
from bases.aggregates import MAX_GROUPS
from bases.models import Field
from nocoplatform.errors import InvalidInput
from permissions.checks import SYSTEM, Actor
from views.services import view_create, view_options_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def trips(external_db, make_table, user, api):
    db, q = external_db, external_db.q
    stamp = "TIMESTAMP" if db.kind == "pg" else "DATETIME"
    make_table.create(
        db,
        "clients",
        "name VARCHAR(50)",
        "tier VARCHAR(20)",
        "since DATE",
        rows=[
            {"name": "Ärzte", "tier": "gold", "since": "2026-03-04"},
            {"name": "Bob", "tier": "silver", "since": "2026-03-20"},
            {"name": "Cy", "tier": None, "since": None},
        ],
    )
    make_table.create(
        db,
        "trips",
        "name VARCHAR(50)",
        "points INTEGER",
        "day DATE",
        f"starts {stamp}",
        "client_id INTEGER",
        f"FOREIGN KEY (client_id) REFERENCES {q('clients')}(id)",
        rows=[
            {
                "name": f"trip {i}",
                "points": None if i == 12 else i,
                "day": None if i == 11 else f"2026-03-{i:02d}",
                "starts": f"2026-03-{i:02d} 08:15:00",
                "client_id": [1, 2, 3, None][i % 4],
            }
            for i in range(1, 13)
        ],
    )
    tables = make_table.connect(db, allow_schema_edit=True)
    clients, trips = tables["clients"], tables["trips"]
    from bases import schema_services

    schema_services.field_update(
        actor=Actor(user=user),
        field=clients.fields.get(column_name="tier"),
        data={"uidt": "SingleSelect"},
    )
    link = Field.objects.get(
        table=trips, uidt="LinkToAnotherRecord", related_table=clients
    )
    for body in (
        # Seven and more "big", four to six "mid", less: blank (Uncategorized); NULL: blank.
        {
            "title": "Size",
            "uidt": "Formula",
            "formula_raw": 'IF({points} > 6, "big", IF({points} > 3, "mid", ""))',
        },
        {
            "title": "Week later",
            "uidt": "Formula",
            "formula_raw": 'DATEADD({day}, 7, "day")',
        },
        {"title": "Double", "uidt": "Formula", "formula_raw": "{points} * 2"},
        {
            "title": "Tier",
            "uidt": "Lookup",
            "fk_relation_column_id": link.id,
            "fk_lookup_column_id": clients.fields.get(column_name="tier").id,
        },
        {
            "title": "Client since",
            "uidt": "Lookup",
            "fk_relation_column_id": link.id,
            "fk_lookup_column_id": clients.fields.get(column_name="since").id,
        },
    ):
        r = api.post(f"/api/v2/meta/tables/{trips.pk}/columns", body, format="json")
        assert r.status_code == 201, r.content
    return trips


def fid(table, title) -> str:
    return table.fields.get(title=title).id


def page_url(view, query=""):
    return f"/bases/{view.table.base_id}/tables/{view.table_id}/views/{view.pk}/{query}"


def vurl(view, tail):
    return f"/bases/{view.table.base_id}/views/{view.pk}/{tail}"


def stacks_of(page: str) -> dict[str, list[str]]:
    """{stack key: card titles} in page order."""
    out = {}
    for part in page.split('<section class="stack')[1:]:
        key = re.search(r'data-stack="([^"]*)"', part).group(1)
        section = part.split("</section>")[0]
        out[key] = card_titles(section)
    return out


def card_titles(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", t).replace("⠿", "")
        for t in re.findall(r'<h3 class="vcard-title">(.*?)</h3>', html)
    ]


def dated_chips(page: str) -> int:
    return page.split('class="cal-undated')[0].count('class="chip cal-chip')


def day_of(page: str, day: str) -> str:
    return page.split(f'data-date="{day}"')[1].split("data-date=")[0]


def kanban_by(user, table, title):
    actor = Actor(user=user)
    view = view_create(actor=actor, table=table, title="K", type="kanban")
    view_options_update(
        actor=actor, view=view, options={"stack_field": fid(table, title)}
    )
    return view


def test_kanban_stacks_by_a_text_formula(web, user, trips):
    view = kanban_by(user, trips, "Size")
    response = web.get(page_url(view))
    assert response.status_code == 200
    page = response.content.decode()
    stacks = stacks_of(page)
    assert list(stacks) == ["", "big", "mid"]  # Uncategorized, then the values in order
    assert sorted(stacks["big"]) == sorted(f"trip {i}" for i in range(7, 12))
    assert sorted(stacks["mid"]) == ["trip 4", "trip 5", "trip 6"]
    assert sorted(stacks[""]) == ["trip 1", "trip 12", "trip 2", "trip 3"]
    for key, n in (("big", 5), ("mid", 3), ("", 4)):
        section = page.split(f'<section class="stack" data-stack="{key}"')[1]
        assert f">{n}</span>" in section.split("</section>")[0]
    # Computed: no handles, no "add a card", and the page says why.
    assert not re.search(r'<article class="vcard"[^>]*draggable', page)
    assert "stack-add" not in page and 'class="computed-stacks"' in page
    # The settings say which choices are computed.
    assert ">Size (computed: no dragging)</option>" in page
    # "Show more" of one stack reads it by the formula's value.
    more = web.get(vurl(view, "cards") + "?stack=mid").content.decode()
    assert sorted(card_titles(more)) == ["trip 4", "trip 5", "trip 6"]


def test_moving_a_card_of_a_computed_stack_is_refused(web, user, trips):
    view = kanban_by(user, trips, "Size")
    response = web.post(vurl(view, "move"), {"record": 5, "stack": "big", "order": [5]})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "READ_ONLY_FIELD"
    assert "'Size' is a formula" in body["message"]
    assert "cannot be moved between its stacks" in body["message"]
    assert records.get_record(trips, 5, actor=SYSTEM)["Size"] == "mid"
    view.refresh_from_db()
    assert not (view.options.get("card_order") or {}).get("big")
    response = web.post(vurl(view, "add"), {"stack": "big", "title": "new"})
    assert response.status_code == 400
    assert "cannot be added to its stacks" in response.content.decode()
    assert records.count_records(trips, actor=SYSTEM) == 12


def test_kanban_by_a_lookup_of_a_single_select(web, user, trips):
    view = kanban_by(user, trips, "Tier")
    page = web.get(page_url(view)).content.decode()
    stacks = stacks_of(page)
    # The looked-up select's options are the stacks, in its order, with its colours.
    tier = Field.objects.get(table__table_name="clients", column_name="tier")
    options = [c["title"] for c in tier.options["choices"]]
    assert list(stacks) == ["", *options]
    assert sorted(stacks["gold"]) == ["trip 12", "trip 4", "trip 8"]
    assert sorted(stacks["silver"]) == ["trip 1", "trip 5", "trip 9"]
    assert len(stacks[""]) == 6  # a client without a tier, and no client
    colour = tier.options["choices"][0]["color"]
    assert f'data-stack-color="{colour}"' in page
    response = web.post(vurl(view, "move"), {"record": 1, "stack": "silver"})
    assert (
        response.status_code == 400
        and "'Tier' is a lookup" in response.json()["message"]
    )


def test_calendar_by_a_formula_date(web, user, trips):
    actor = Actor(user=user)
    view = view_create(actor=actor, table=trips, title="C", type="calendar")
    view_options_update(
        actor=actor, view=view, options={"date_field": fid(trips, "Week later")}
    )
    page = web.get(page_url(view, "?date=2026-03-15")).content.decode()
    # Eleven dated trips, each a week after its day (8–18 March, 18 March being trip 11's
    # NULL day: undated), all inside March's six weeks.
    assert dated_chips(page) == 11
    assert re.findall(r">(trip \d+)<", day_of(page, "2026-03-10")) == ["trip 3"]
    assert "trip 11" in page.split('class="cal-undated')[1]
    assert not re.search(r'class="chip cal-chip[^>]*draggable', page)
    assert "cal-add" not in page and 'class="computed-date"' in page
    week = web.get(page_url(view, "?date=2026-03-10&mode=week")).content.decode()
    assert dated_chips(week) == 7  # days 2–8, seen 9–15 March
    response = web.post(vurl(view, "move"), {"record": 3, "date": "2026-04-01"})
    assert response.status_code == 400
    assert "'Week later' is a formula" in response.json()["message"]
    assert "another day" in response.json()["message"]
    assert str(records.get_record(trips, 3, actor=SYSTEM)["day"]) == "2026-03-03"
    assert web.post(vurl(view, "add"), {"date": "2026-03-01"}).status_code == 400


def test_calendar_by_a_lookup_of_a_date(web, user, trips):
    actor = Actor(user=user)
    view = view_create(actor=actor, table=trips, title="C", type="calendar")
    view_options_update(
        actor=actor, view=view, options={"date_field": fid(trips, "Client since")}
    )
    page = web.get(page_url(view, "?date=2026-03-15")).content.decode()
    assert dated_chips(page) == 6  # clients 1 and 2
    assert sorted(re.findall(r">(trip \d+)<", day_of(page, "2026-03-20"))) == [
        "trip 1",
        "trip 5",
        "trip 9",
    ]


def test_rollups_stack_and_date_a_kanban_and_a_calendar(web, user, api, trips):
    """On the linked table: a `max` of the trips' days dates a calendar, a `concat` of their
    names stacks a kanban (one stack per distinct text)."""
    clients = Field.objects.get(table=trips, uidt="LinkToAnotherRecord").related_table
    link = Field.objects.get(
        table=clients, uidt="LinkToAnotherRecord", related_table=trips
    )
    for title, target, fn in (
        ("Last trip", "day", "max"),
        ("Trip names", "name", "concat"),
    ):
        r = api.post(
            f"/api/v2/meta/tables/{clients.pk}/columns",
            {
                "uidt": "Rollup",
                "title": title,
                "fk_relation_column_id": link.id,
                "fk_rollup_column_id": trips.fields.get(column_name=target).id,
                "rollup_function": fn,
            },
            format="json",
        )
        assert r.status_code == 201, r.content
    actor = Actor(user=user)
    cal = view_create(actor=actor, table=clients, title="C", type="calendar")
    view_options_update(
        actor=actor, view=cal, options={"date_field": fid(clients, "Last trip")}
    )
    page = web.get(page_url(cal, "?date=2026-03-15")).content.decode()
    assert dated_chips(page) == 3
    for day, name in (
        ("2026-03-12", "Ärzte"),
        ("2026-03-09", "Bob"),
        ("2026-03-10", "Cy"),
    ):
        assert re.findall(r">\s*([^\W\d]+)<", day_of(page, day)) == [name]
    kanban = kanban_by(user, clients, "Trip names")
    stacks = stacks_of(web.get(page_url(kanban)).content.decode())
    assert stacks == {
        "": [],
        "trip 1, trip 5, trip 9": ["Bob"],
        "trip 2, trip 6, trip 10": ["Cy"],
        "trip 4, trip 8, trip 12": ["Ärzte"],
    }


def test_fields_that_cannot_stack_or_date_are_refused(user, trips):
    actor = Actor(user=user)
    kanban = view_create(actor=actor, table=trips, title="K", type="kanban")
    cal = view_create(actor=actor, table=trips, title="C", type="calendar")
    for view, key, title, wanted in (
        (kanban, "stack_field", "Double", "Formula or Lookup giving one text"),
        (kanban, "stack_field", "Week later", "SingleSelect"),
        (cal, "date_field", "Size", "Formula or Lookup giving a date"),
        (cal, "date_field", "Double", "Date or DateTime"),
    ):
        with pytest.raises(InvalidInput, match=wanted) as refused:
            view_options_update(
                actor=actor, view=view, options={key: fid(trips, title)}
            )
        assert f"'{title}' is a Formula field" in refused.value.message


def test_stacks_by_values_stop_at_the_limit(web, user, external_db, make_table, api):
    n = MAX_GROUPS + 5
    table = make_table(
        external_db,
        "words",
        "word VARCHAR(20)",
        rows=[{"word": f"w{i:03d}"} for i in range(n)],
        allow_schema_edit=True,
    )
    r = api.post(
        f"/api/v2/meta/tables/{table.pk}/columns",
        {"title": "Shout", "uidt": "Formula", "formula_raw": "UPPER({word})"},
        format="json",
    )
    assert r.status_code == 201, r.content
    view = kanban_by(user, table, "Shout")
    page = web.get(page_url(view)).content.decode()
    stacks = stacks_of(page)
    assert len(stacks) == MAX_GROUPS + 1  # Uncategorized and the first 100 values
    assert list(stacks)[1:4] == ["W000", "W001", "W002"]
    assert f"more than {MAX_GROUPS} values" in page


# ---- fields the platform keeps, and user fields, on the built-in store (SQLite, PostgreSQL)


@pytest.fixture(params=["sqlite", "pg"])
def tasks(request, settings, user, other_user):
    """Name, Created (CreatedTime), Creator (CreatedBy), Owner (one User); two rows from
    before the system fields (no created time), two by ada, one by bob (a creator)."""
    from bases.schema_services import field_create, table_create
    from bases.services import base_create, base_delete
    from permissions.services import membership_create
    from records.writes import insert_rows

    if request.param == "pg":
        request.getfixturevalue("pg_db")
        settings.NOCO_STORE_URL = settings.TEST_POSTGRES_URL
    ada, bob = Actor(user=user), Actor(user=other_user)
    base = base_create(actor=ada, title="Scratch")
    membership_create(base=base, user=other_user, role="creator")
    table = table_create(
        actor=ada,
        base=base,
        title="Tasks",
        columns=[{"title": "Name", "uidt": "SingleLineText"}],
    )
    insert_rows(table, [{"Name": "old 1"}, {"Name": "old 2"}], actor=ada)
    for title, uidt in (("Created", "CreatedTime"), ("Creator", "CreatedBy")):
        field_create(actor=ada, table=table, data={"title": title, "uidt": uidt})
    field_create(actor=ada, table=table, data={"title": "Owner", "uidt": "User"})
    insert_rows(
        table,
        [{"Name": "ada 1", "Owner": user.email}, {"Name": "ada 2"}],
        actor=ada,
    )
    insert_rows(table, [{"Name": "bob 1", "Owner": other_user.email}], actor=bob)
    yield table
    base_delete(actor=ada, base=base)


def test_kanban_by_a_user_field_moves_cards_between_members(
    web, user, other_user, tasks
):
    view = kanban_by(user, tasks, "Owner")
    page = web.get(page_url(view)).content.decode()
    stacks = stacks_of(page)
    ada, bob = str(user.pk), str(other_user.pk)
    assert stacks == {"": ["old 1", "old 2", "ada 2"], ada: ["ada 1"], bob: ["bob 1"]}
    # A member's stack is headed by their name, not their id.
    head = page.split(f'data-stack="{bob}"')[1].split("</header>")[0]
    assert "bob@example.com" in head  # the display name (bob has no full name)
    assert re.search(r'<article class="vcard"[^>]*draggable="true"', page)
    key = next(f.title for f in tasks.fields.all() if f.is_pk)
    rid = next(
        r[key]
        for r in records.list_records(tasks, {}, actor=SYSTEM)
        if r["Name"] == "ada 1"
    )
    response = web.post(vurl(view, "move"), {"record": rid, "stack": bob})
    assert response.status_code == 200, response.content
    owner = records.get_record(tasks, rid, actor=SYSTEM)["Owner"]
    assert [p["id"] for p in owner] == [other_user.pk]
    response = web.post(vurl(view, "move"), {"record": rid, "stack": "999"})
    assert response.status_code == 400 and "not a member" in response.json()["message"]
    web.post(vurl(view, "move"), {"record": rid, "stack": ""})
    assert records.get_record(tasks, rid, actor=SYSTEM)["Owner"] is None


def test_kanban_by_created_by_is_read_only(web, user, other_user, tasks):
    view = kanban_by(user, tasks, "Creator")
    page = web.get(page_url(view)).content.decode()
    stacks = stacks_of(page)
    assert sorted(stacks[str(user.pk)]) == ["ada 1", "ada 2"]
    assert sorted(stacks[""]) == ["old 1", "old 2"]  # from before the field: nobody
    assert stacks[str(other_user.pk)] == ["bob 1"]
    assert not re.search(r'<article class="vcard"[^>]*draggable', page)
    response = web.post(vurl(view, "move"), {"record": 1, "stack": str(other_user.pk)})
    assert response.status_code == 400
    assert "the platform keeps its value" in response.json()["message"]


def test_calendar_by_created_time(web, user, tasks):
    import datetime as dt

    actor = Actor(user=user)
    view = view_create(actor=actor, table=tasks, title="C", type="calendar")
    # A new calendar prefers a date people set; this table has only the created time.
    assert view.options["date_field"] == fid(tasks, "Created")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    page = web.get(page_url(view, f"?date={today}")).content.decode()
    assert sorted(re.findall(r">\s*([a-z]+ \d)<", day_of(page, today))) == [
        "ada 1",
        "ada 2",
        "bob 1",
    ]
    undated = page.split('class="cal-undated')[1]
    assert "old 1" in undated and "old 2" in undated  # written before the field existed
    assert not re.search(r'class="chip cal-chip[^>]*draggable', page)
    response = web.post(vurl(view, "move"), {"record": 3, "date": "2026-01-01"})
    assert response.status_code == 400
    assert "'Created' is a created time field" in response.json()["message"]


def test_stacks_by_values_that_differ_only_in_case(
    web, user, external_db, make_table, api
):
    """ "Big" and "big" are two stacks, each with its own cards and count, on every database
    (MySQL's collation would fold them into one group whose cards are only one of them)."""
    table = make_table(
        external_db,
        "labels",
        "word VARCHAR(20)",
        rows=[{"word": w} for w in ("Big", "big", "big", "Éclair", "eclair", "x ")],
    )
    r = api.post(
        f"/api/v2/meta/tables/{table.pk}/columns",
        {"title": "Same", "uidt": "Formula", "formula_raw": "{word}"},
        format="json",
    )
    assert r.status_code == 201, r.content
    view = kanban_by(user, table, "Same")
    page = web.get(page_url(view)).content.decode()
    stacks = stacks_of(page)
    assert {k: len(v) for k, v in stacks.items()} == {
        "": 0,
        "Big": 1,
        "big": 2,
        "Éclair": 1,
        "eclair": 1,
        "x ": 1,
    }
    for key, n in (("Big", 1), ("big", 2)):
        section = page.split(f'<section class="stack" data-stack="{key}"')[1]
        assert f">{n}</span>" in section.split("</section>")[0]


def test_stack_values_are_escaped(web, user, sqlite_db, make_table, api):
    table = make_table(sqlite_db, "notes", "word VARCHAR(40)", rows=[{"word": "x"}])
    r = api.post(
        f"/api/v2/meta/tables/{table.pk}/columns",
        {
            "title": "Html",
            "uidt": "Formula",
            "formula_raw": '"<img src=x onerror=alert(1)>\'" & {word}',
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    view = kanban_by(user, table, "Html")
    page = web.get(page_url(view)).content.decode()
    assert "<img src=x" not in page
    assert 'data-stack="&lt;img src=x onerror=alert(1)&gt;&#x27;x"' in page
