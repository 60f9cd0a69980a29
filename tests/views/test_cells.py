"""Editing one cell from the grid: saved through the records service, a refusal says why."""

import pytest

from bases import records
from bases.demo import create_demo_base
from permissions.checks import SYSTEM
from permissions.services import membership_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def projects(user):
    return create_demo_base(user).tables.get(title="projects")


def cell_url(table, record_id, field):
    return f"/bases/{table.base_id}/tables/{table.pk}/cells/{record_id}/{field.pk}"


def test_table_page_cells_line_up_with_headers(web, projects):
    page = web.get(f"/bases/{projects.base_id}/tables/{projects.pk}/").content.decode()
    header = page.split("<thead>")[1].split("</thead>")[0]
    first_row = page.split("<tbody>")[1].split("</tr>")[0]
    # Data cells + the row number; the header's last cell is the "+" that adds a field.
    assert header.count('<th class="th-add"') == 1
    assert header.count("<th") - 1 == first_row.count("<td")
    # The grid shows every field the records API returns: columns and link fields.
    assert (
        first_row.count('<td class="cell')
        == projects.fields.filter(is_system=False).count()
    )


def test_edit_and_save_a_cell(web, projects):
    name = projects.fields.get(title="name")
    # The grid's editor starts from the cell's raw text (its data-v).
    current = records.get_record(projects, 1, actor=SYSTEM)["name"]
    shown = web.get(cell_url(projects, 1, name), HTTP_X_GRID_EDITOR="1")
    assert shown.status_code == 200
    assert f'data-f="{name.pk}"' in shown.content.decode()
    assert f'data-v="{current}"' in shown.content.decode()
    saved = web.post(
        cell_url(projects, 1, name),
        {"value": "Renamed <b>project</b>"},
        HTTP_X_GRID_EDITOR="1",
    )
    assert saved.status_code == 200
    assert (
        b"Renamed &lt;b&gt;project&lt;/b&gt;" in saved.content
    )  # escaped, never markup
    assert (
        records.get_record(projects, 1, actor=SYSTEM)["name"]
        == "Renamed <b>project</b>"
    )


def test_invalid_value_says_why_and_saves_nothing(web, projects):
    budget = projects.fields.get(title="budget")
    before = records.get_record(projects, 2, actor=SYSTEM)["budget"]
    response = web.post(
        cell_url(projects, 2, budget), {"value": "12abc"}, HTTP_X_GRID_EDITOR="1"
    )
    # The grid's editor keeps the typed text and shows the message (static/js/grid).
    assert response.status_code == 400
    assert "not a number" in response.json()["message"]
    assert records.get_record(projects, 2, actor=SYSTEM)["budget"] == before


def test_read_only_cells_and_roles(web, projects, other_user, client):
    id_field = projects.fields.get(is_pk=True)
    assert (
        web.post(
            cell_url(projects, 1, id_field), {"value": "9"}, HTTP_X_GRID_EDITOR="1"
        ).status_code
        == 403
    )
    name = projects.fields.get(title="name")
    membership_create(base=projects.base, user=other_user, role="viewer")
    client.force_login(other_user)
    assert client.post(cell_url(projects, 1, name), {"value": "x"}).status_code == 403
    assert records.get_record(projects, 1, actor=SYSTEM)["name"] != "x"
    client.logout()
    assert (
        client.post(cell_url(projects, 1, name), {"value": "x"}).status_code == 302
    )  # to login


def test_add_and_delete_rows_from_the_table_page(web, projects):
    before = records.count_records(projects, actor=SYSTEM)
    response = web.post(
        f"/bases/{projects.base_id}/tables/{projects.pk}/rows", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and response.headers["HX-Refresh"] == "true"
    assert records.count_records(projects, actor=SYSTEM) == before + 1
    newest = records.list_records(
        projects, {"sort": "-Id", "limit": 1, "fields": "Id"}, actor=SYSTEM
    ).rows[0]["Id"]
    response = web.post(
        f"/bases/{projects.base_id}/tables/{projects.pk}/rows/{newest}/delete",
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert records.count_records(projects, actor=SYSTEM) == before


def test_viewers_cannot_add_or_delete_rows(client, projects, other_user):
    membership_create(base=projects.base, user=other_user, role="viewer")
    client.force_login(other_user)
    page = client.get(
        f"/bases/{projects.base_id}/tables/{projects.pk}/"
    ).content.decode()
    assert "+ Add row" not in page and "Delete this row" not in page
    before = records.count_records(projects, actor=SYSTEM)
    assert (
        client.post(f"/bases/{projects.base_id}/tables/{projects.pk}/rows").status_code
        == 403
    )
    assert (
        client.post(
            f"/bases/{projects.base_id}/tables/{projects.pk}/rows/1/delete"
        ).status_code
        == 403
    )
    assert records.count_records(projects, actor=SYSTEM) == before


def test_a_refused_delete_says_why_and_keeps_the_row(web, user):
    clients = create_demo_base(user).tables.get(title="clients")
    before = records.count_records(clients, actor=SYSTEM)
    response = web.post(
        f"/bases/{clients.base_id}/tables/{clients.pk}/rows/1/delete",
        HTTP_HX_REQUEST="true",
    )
    assert (
        response.status_code == 200 and response.headers["HX-Retarget"] == "#row-error"
    )
    assert b"refused" in response.content
    assert records.count_records(clients, actor=SYSTEM) == before


@pytest.mark.parametrize(
    ("typed", "order", "stored"),
    [
        ("2026-12-24", "mdy", "2026-12-24"),  # ISO, whatever the locale
        ("24/12/2026", "dmy", "2026-12-24"),
        ("12/24/2026", "mdy", "2026-12-24"),
        ("05/06/2026", "dmy", "2026-06-05"),
        ("05/06/2026", "mdy", "2026-05-06"),
        ("24.12.26", "dmy", "2026-12-24"),
    ],
)
def test_dates_typed_in_iso_or_the_locale_order_are_stored(
    web, projects, typed, order, stored
):
    """A date cell takes text as a spreadsheet does: ISO, or the browser locale's order
    (X-Date-Order from static/js/grid/main.js); a day over 12 can only be the day."""
    due = projects.fields.get(title="due date")
    saved = web.post(
        cell_url(projects, 1, due),
        {"value": typed},
        HTTP_X_GRID_EDITOR="1",
        HTTP_X_DATE_ORDER=order,
    )
    assert saved.status_code == 200, saved.content
    assert str(records.get_record(projects, 1, actor=SYSTEM)["due date"]) == stored


def test_date_times_and_impossible_dates_typed_in_a_cell(web, projects, make_table):
    due = projects.fields.get(title="due date")
    refused = web.post(
        cell_url(projects, 1, due), {"value": "31/02/2026"}, HTTP_X_GRID_EDITOR="1"
    )
    assert refused.status_code == 400
    assert "31/02/2026" in refused.json()["message"]
    events = make_table(
        "sqlite", "events", "title TEXT", "at DATETIME", rows=[{"title": "x"}]
    )
    at = events.fields.get(title="at")
    for typed, order in (("2026-12-24 10:30", "mdy"), ("24/12/2026 10:30", "dmy")):
        saved = web.post(
            cell_url(events, 1, at),
            {"value": typed},
            HTTP_X_GRID_EDITOR="1",
            HTTP_X_DATE_ORDER=order,
        )
        assert saved.status_code == 200, saved.content
        value = records.get_record(events, 1, actor=SYSTEM)["at"]
        assert value.isoformat().startswith("2026-12-24T10:30"), value
