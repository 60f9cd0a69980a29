"""Value limits (bases/value_limits.py) in the grid and in public forms, on PostgreSQL, MariaDB
and SQLite: an over-long value or a NUL is refused with the field's message and the typed text
kept; nothing reaches the database, and nothing is cut short."""

import json

import pytest
from django.core.cache import cache
from django.test import Client

from bases import records
from bases.connections.config import ConnectionConfig
from bases.services import base_connect
from permissions.checks import SYSTEM, Actor
from views import form_view, services, shares

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(external_db, user):
    q = external_db.q
    pk = {
        "pg": "SERIAL PRIMARY KEY",
        "mysql": "INTEGER PRIMARY KEY AUTO_INCREMENT",
        "sqlite": "INTEGER PRIMARY KEY",
    }[external_db.kind]
    external_db.execute(
        f"CREATE TABLE {q('people')} (id {pk}, name VARCHAR(20), notes TEXT)",
        f"INSERT INTO {q('people')} (name) VALUES ('Ada'), ('Grace')",
    )
    base, _ = base_connect(
        actor=Actor(user=user),
        title="People",
        config=ConnectionConfig.from_url(external_db.url),
    )
    return base.tables.get(table_name="people")


def fields(table) -> dict:
    return {f.title: f for f in table.fields.all()}


def cell_url(table, record_id, field) -> str:
    return f"/bases/{table.base_id}/tables/{table.pk}/cells/{record_id}/{field.pk}"


def name_of(table, record_id):
    return records.get_record(table, record_id, actor=SYSTEM)["name"]


def test_grid_cell_refuses_an_over_long_value_and_keeps_the_text(web, people):
    """PostgreSQL and MariaDB answered 422 with the database's words; SQLite saved it."""
    name = fields(people)["name"]
    grid = web.post(
        cell_url(people, 1, name), {"value": "x" * 21}, HTTP_X_GRID_EDITOR="1"
    )
    assert grid.status_code == 400, grid.content
    assert grid.json()["error"] == "INVALID_VALUE"
    assert grid.json()["message"] == "Too long: at most 20 characters (21 given)"
    editor = web.post(
        cell_url(people, 1, name), {"value": "y" * 21}, HTTP_HX_REQUEST="true"
    )
    html = editor.content.decode()
    assert f'value="{"y" * 21}"' in html and "at most 20 characters" in html
    nul = web.post(
        cell_url(people, 1, name), {"value": "a\x00"}, HTTP_X_GRID_EDITOR="1"
    )
    assert nul.status_code == 400 and "NUL" in nul.json()["message"]
    assert name_of(people, 1) == "Ada"


def test_grid_paste_names_the_cell_that_is_too_long(web, people):
    f = fields(people)
    response = web.post(
        f"/bases/{people.base_id}/tables/{people.pk}/grid/cells",
        json.dumps(
            {
                "changes": [
                    {"id": 1, "field": f["notes"].pk, "value": "fine"},
                    {"id": 1, "field": f["name"].pk, "value": "x" * 21},
                    {"id": 2, "field": f["name"].pk, "value": "Hopper"},
                ]
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == [
        {
            "id": 1,
            "field": f["name"].pk,
            "message": "too long: at most 20 characters (21 given)",
        }
    ]
    assert name_of(people, 2) == "Grace"  # all or nothing


def test_expanded_row_marks_the_field_that_is_too_long(web, people):
    f = fields(people)
    response = web.post(
        f"/bases/{people.base_id}/tables/{people.pk}/grid/rows/1/expand",
        {f"f_{f['name'].pk}": "x" * 21, f"f_{f['notes'].pk}": "kept"},
    )
    html = response.content.decode()
    # On the field itself, not as a message for the whole row.
    assert 'class="cell-error" role="alert">too long: at most 20 characters' in html
    assert "x" * 21 in html and "kept" in html  # the typed values stay
    assert name_of(people, 1) == "Ada"
    assert records.get_record(people, 1, actor=SYSTEM)["notes"] is None


@pytest.fixture
def form_link(people, actor):
    cache.clear()
    f = fields(people)
    view = services.view_create(actor=actor, table=people, title="Join", type="form")
    form_view.form_config_save(
        actor=actor,
        view=view,
        data={"fields": [{"id": f["name"].pk}, {"id": f["notes"].pk}]},
    )
    yield f"/f/{shares.share_enable(actor=actor, view=view).token}/", f
    cache.clear()


def test_public_form_refuses_over_long_values_next_to_the_field(people, form_link):
    link, f = form_link
    response = Client().post(link, {f["name"].pk: "x" * 21, f["notes"].pk: "kept"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Too long: at most 20 characters (21 given)." in html
    assert f'value="{"x" * 21}"' in html and "kept" in html
    response = Client().post(link, {f["name"].pk: "N\x00l"})
    assert response.status_code == 400 and "NUL" in response.content.decode()
    assert records.count_records(people, {}, actor=SYSTEM) == 2


def test_public_form_stores_long_text_whole(people, form_link):
    """Values longer than 10,000 characters were cut short without a word."""
    link, f = form_link
    notes = "word " * 4000  # 20,000 characters: within NOCO_MAX_TEXT_LENGTH
    response = Client().post(link, {f["name"].pk: "Long", f["notes"].pk: notes})
    assert response.status_code == 200, response.content
    row = records.list_records(people, {"where": "(name,eq,Long)"}, actor=SYSTEM)[0]
    assert row["notes"] == notes.strip()
