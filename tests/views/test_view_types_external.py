"""Kanban and calendar views on connected PostgreSQL, MariaDB and SQLite databases: stacks and
counts, a move between stacks, the visible month, a reschedule keeping the time of day."""

import datetime as dt

import pytest

from bases import records, schema_services
from bases.connections.config import ConnectionConfig
from bases.services import base_connect
from permissions.checks import SYSTEM, Actor
from views.services import view_create, view_options_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def trips(external_db, user):
    q = external_db.q
    pk = {
        "pg": "SERIAL PRIMARY KEY",
        "mysql": "INTEGER PRIMARY KEY AUTO_INCREMENT",
        "sqlite": "INTEGER PRIMARY KEY",
    }[external_db.kind]
    stamp = "TIMESTAMP" if external_db.kind == "pg" else "DATETIME"
    external_db.execute(
        f"CREATE TABLE {q('trips')} (id {pk}, name VARCHAR(100) NOT NULL, "
        f"stage VARCHAR(20), day DATE, starts {stamp})",
    )
    values = ", ".join(
        f"('trip {i}', {'NULL' if i % 5 == 0 else repr(['idea', 'booked'][i % 2])}, "
        f"'2026-03-{i:02d}', '2026-03-{i:02d} 08:15:00')"
        for i in range(1, 29)
    )
    external_db.execute(
        f"INSERT INTO {q('trips')} (name, stage, day, starts) VALUES {values}"
    )
    base, _ = base_connect(
        actor=Actor(user=user),
        title="Trips",
        config=ConnectionConfig.from_url(external_db.url),
    )
    table = base.tables.get(table_name="trips")
    schema_services.field_update(
        actor=Actor(user=user),
        field=table.fields.get(column_name="stage"),
        data={"uidt": "SingleSelect"},
    )
    return table


def page_url(view, query=""):
    return f"/bases/{view.table.base_id}/tables/{view.table_id}/views/{view.pk}/{query}"


def vurl(view, tail):
    return f"/bases/{view.table.base_id}/views/{view.pk}/{tail}"


def test_kanban_on_external_databases(web, user, trips):
    view = view_create(actor=Actor(user=user), table=trips, title="K", type="kanban")
    page = web.get(page_url(view)).content.decode()
    for key, n in (("idea", 12), ("booked", 11), ("", 5)):
        section = page.split(f'<section class="stack" data-stack="{key}"')[1]
        section = section.split("</section>")[0]
        assert f">{n}</span>" in section and section.count('class="vcard"') == n
    assert records.get_record(trips, 1, actor=SYSTEM)["stage"] == "booked"
    response = web.post(vurl(view, "move"), {"record": 1, "stack": "idea"})
    assert response.status_code == 200, response.content
    assert records.get_record(trips, 1, actor=SYSTEM)["stage"] == "idea"
    web.post(vurl(view, "move"), {"record": 1, "stack": ""})
    assert records.get_record(trips, 1, actor=SYSTEM)["stage"] is None


def test_calendar_on_external_databases(web, user, trips):
    actor = Actor(user=user)
    view = view_create(actor=actor, table=trips, title="C", type="calendar")
    page = web.get(page_url(view, "?date=2026-03-10")).content.decode()
    assert page.count('class="chip cal-chip') == 28
    week = web.get(page_url(view, "?date=2026-03-10&mode=week")).content.decode()
    assert week.count('class="chip cal-chip') == 7  # 9–15 March
    assert (
        web.post(vurl(view, "move"), {"record": 3, "date": "2026-04-01"}).status_code
        == 200
    )
    assert records.get_record(trips, 3, actor=SYSTEM)["day"] == dt.date(2026, 4, 1)
    starts = trips.fields.get(column_name="starts").pk
    view_options_update(actor=actor, view=view, options={"date_field": starts})
    assert (
        web.post(vurl(view, "move"), {"record": 4, "date": "2026-05-20"}).status_code
        == 200
    )
    moved = records.get_record(trips, 4, actor=SYSTEM)["starts"]
    assert (moved.date(), moved.hour, moved.minute) == (dt.date(2026, 5, 20), 8, 15)
