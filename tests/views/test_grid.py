"""The grid's server side: windows of rows by cursor, cell saves, pasted ranges, rows, layout."""

import json
from decimal import Decimal

import pytest

from bases import records
from bases.fieldtypes.number import normalise_number
from permissions.checks import SYSTEM
from permissions.services import membership_create
from views.models import View
from views.services import default_view

pytestmark = pytest.mark.django_db


def url(table, tail=""):
    return f"/bases/{table.base_id}/tables/{table.pk}/{tail}"


def field(table, title):
    return table.fields.get(title=title)


def test_page_renders_first_window_with_sticky_header_and_row_numbers(web, projects):
    page = web.get(url(projects)).content.decode()
    assert page.count('<tr class="grid-row"') == 100
    assert (
        'data-n="1"' in page and 'data-n="100"' in page and 'data-n="101"' not in page
    )
    assert '<th class="rownum"' in page
    config = json.loads(
        page.split('id="grid-config" type="application/json">')[1].split("</script>")[0]
    )
    assert config["total"] == 120 and config["last"] is False and config["next"]
    assert {c["title"] for c in config["columns"]} >= {"name", "status", "budget"}
    status = next(c for c in config["columns"] if c["title"] == "status")
    assert [c["title"] for c in status["choices"]][:2] == ["planned", "active"]
    # read-only key column is marked as such
    assert "ro" in page.split('data-f="' + projects.fields.get(is_pk=True).pk)[2][:80]


def test_windows_follow_cursors_and_offsets(web, projects):
    first = web.get(url(projects, "grid/rows"), {"limit": 50})
    assert first["X-Grid-Count"] == "50" and first["X-Grid-Last"] == "0"
    second = web.get(
        url(projects, "grid/rows"),
        {"limit": 50, "cursor": first["X-Grid-Next"], "start": 50},
    )
    body = second.content.decode()
    assert 'data-n="51"' in body and 'data-n="100"' in body
    third = web.get(
        url(projects, "grid/rows"),
        {"limit": 50, "cursor": second["X-Grid-Next"], "start": 100},
    )
    assert third["X-Grid-Count"] == "20" and third["X-Grid-Last"] == "1"
    jump = web.get(url(projects, "grid/rows"), {"offset": 110, "limit": 50})
    assert 'data-n="111"' in jump.content.decode() and jump["X-Grid-Count"] == "10"
    for bad in ({"limit": "x"}, {"start": "x"}, {"offset": "-1"}, {"limit": "501"}):
        assert web.get(url(projects, "grid/rows"), bad).status_code == 400, bad
    assert (
        web.get(url(projects, "grid/rows"), {"cursor": "nonsense"}).status_code == 400
    )


def test_window_applies_the_view_filter_and_sort(web, projects):
    view = default_view(projects)
    view.where = "(status,eq,done)"
    view.sort = "-budget"
    view.save()
    body = web.get(url(projects, "grid/rows"), {"view": view.pk}).content.decode()
    assert body.count('<tr class="grid-row"') == records.count_records(
        projects, {"where": "(status,eq,done)"}, actor=SYSTEM
    )
    assert "planned" not in body


def cell_save(web, table, record_id, f, value, **headers):
    return web.post(
        url(table, f"cells/{record_id}/{f.pk}"),
        {"value": value},
        HTTP_X_GRID_EDITOR="1",
        **headers,
    )


def test_cell_save_answers_the_cell_and_refusals_as_json(web, projects):
    budget = field(projects, "budget")
    ok = cell_save(web, projects, 3, budget, "1.234,5", HTTP_X_DECIMAL_SEPARATOR=",")
    assert ok.status_code == 200 and ok.content.startswith(b"<td")
    assert "1,234.50" in ok.content.decode()
    assert Decimal(
        str(records.get_record(projects, 3, actor=SYSTEM)["budget"])
    ) == Decimal("1234.5")
    bad = cell_save(web, projects, 3, budget, "12abc")
    assert bad.status_code == 400 and "not a number" in bad.json()["message"]
    assert Decimal(
        str(records.get_record(projects, 3, actor=SYSTEM)["budget"])
    ) == Decimal("1234.5")
    done = field(projects, "done")
    assert cell_save(web, projects, 3, done, "true").status_code == 200
    assert records.get_record(projects, 3, actor=SYSTEM)["done"] is True
    status = field(projects, "status")
    assert cell_save(web, projects, 3, status, "nope").status_code == 400


@pytest.mark.parametrize(
    ("typed", "sep", "expected"),
    [
        ("1,234.50", ".", "1234.50"),
        ("1.234,50", ",", "1234.50"),
        ("12,5", ".", "12.5"),
        ("1,234", ".", "1234"),
        ("1.234", ",", "1234"),
        ("12.5", ",", "12.5"),
        ("€ 1 000", ".", "1000"),
        ("12.5%", ".", "12.5"),
        ("abc", ".", "abc"),
        ("1.000.000", ".", "1000000"),
    ],
)
def test_locale_safe_numbers(typed, sep, expected):
    assert normalise_number(typed, sep) == expected


def test_paste_is_one_atomic_update_with_errors_per_cell(web, projects):
    name, budget = field(projects, "name"), field(projects, "budget")
    before = records.get_record(projects, 5, actor=SYSTEM)["name"]
    bad = web.post(
        url(projects, "grid/cells"),
        json.dumps(
            {
                "changes": [
                    {"id": 5, "field": name.pk, "value": "Pasted A"},
                    {"id": 5, "field": budget.pk, "value": "lots"},
                    {"id": 6, "field": budget.pk, "value": "x1"},
                ]
            }
        ),
        content_type="application/json",
    )
    assert bad.status_code == 400
    errors = bad.json()["errors"]
    assert [(e["id"], e["field"]) for e in errors] == [(5, budget.pk), (6, budget.pk)]
    assert (
        records.get_record(projects, 5, actor=SYSTEM)["name"] == before
    )  # nothing saved
    good = web.post(
        url(projects, "grid/cells"),
        json.dumps(
            {
                "changes": [
                    {"id": 5, "field": name.pk, "value": "Pasted A"},
                    {"id": 6, "field": name.pk, "value": "Pasted B"},
                    {"id": 6, "field": budget.pk, "value": "1,500.25"},
                ]
            }
        ),
        content_type="application/json",
    )
    assert good.status_code == 200
    rows = good.json()["rows"]
    assert set(rows) == {"5", "6"} and "Pasted B" in rows["6"]
    assert records.get_record(projects, 6, actor=SYSTEM)["name"] == "Pasted B"
    assert Decimal(
        str(records.get_record(projects, 6, actor=SYSTEM)["budget"])
    ) == Decimal("1500.25")


def test_add_expand_and_delete_rows(web, projects):
    added = web.post(url(projects, "rows"), HTTP_X_GRID_EDITOR="1")
    assert added.status_code == 200
    new_id = added.json()["id"]
    assert f'data-id="{new_id}"' in added.json()["row"]
    name = field(projects, "name")
    form = web.get(url(projects, f"grid/rows/{new_id}/expand")).content.decode()
    assert f'name="f_{name.pk}"' in form
    saved = web.post(
        url(projects, f"grid/rows/{new_id}/expand"),
        {f"f_{name.pk}": "From the form", f"f_{field(projects, 'budget').pk}": "nine"},
    )
    body = saved.content.decode()
    assert "not a number" in body and 'value="nine"' in body  # typed text kept
    assert (
        records.get_record(projects, new_id, actor=SYSTEM)["name"] is None
    )  # nothing half-saved
    web.post(
        url(projects, f"grid/rows/{new_id}/expand"), {f"f_{name.pk}": "From the form"}
    )
    assert records.get_record(projects, new_id, actor=SYSTEM)["name"] == "From the form"
    other = web.post(url(projects, "rows"), HTTP_X_GRID_EDITOR="1").json()["id"]
    refused = web.post(
        url(projects, "grid/delete"),
        json.dumps({"ids": [new_id, 1]}),  # tasks still point to project 1
        content_type="application/json",
    )
    assert refused.status_code == 422 and "refused" in refused.json()["message"]
    assert records.count_records(projects, actor=SYSTEM) == 122  # all or nothing
    gone = web.post(
        url(projects, "grid/delete"),
        json.dumps({"ids": [new_id, other]}),
        content_type="application/json",
    )
    assert gone.status_code == 200 and gone.json()["deleted"] == 2
    assert records.count_records(projects, actor=SYSTEM) == 120


def test_layout_is_saved_on_the_view(web, projects):
    view = default_view(projects)
    name, status = field(projects, "name"), field(projects, "status")
    response = web.post(
        url(projects, "grid/layout"),
        json.dumps(
            {
                "view": view.pk,
                "widths": {name.pk: 260},
                "row_height": "tall",
                "field_order": [status.pk, name.pk],
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 200
    view.refresh_from_db()
    assert view.options["column_widths"][name.pk] == 260
    assert view.options["row_height"] == "tall"
    assert view.field_order[:2] == [status.pk, name.pk]
    page = web.get(url(projects)).content.decode()
    assert f'data-f="{name.pk}" data-width-px="260"' in page  # static/js/page.js
    assert page.index(f'<th scope="col" data-f="{status.pk}"') < page.index(
        f'<th scope="col" data-f="{name.pk}"'
    )
    bad = web.post(
        url(projects, "grid/layout"),
        json.dumps({"widths": {name.pk: 5}}),
        content_type="application/json",
    )
    assert bad.status_code == 400


def test_links_picker_links_and_unlinks(web, demo):
    clients = demo.tables.get(title="clients")
    link = clients.fields.get(title="projects")
    picker = web.get(url(clients, f"grid/links/1/{link.pk}"), {"q": "Project"})
    assert picker.status_code == 200 and "lp-results" in picker.content.decode()
    linked_before = len(
        records.list_linked(clients, link, 1, {"limit": "100"}, actor=SYSTEM)
    )
    target = 7
    web.post(
        url(clients, f"grid/links/1/{link.pk}"), {"action": "link", "target": target}
    )
    assert len(
        records.list_linked(clients, link, 1, {"limit": "100"}, actor=SYSTEM)
    ) in (
        linked_before,  # project 7 was linked to client 1 already
        linked_before + 1,
    )
    ids = {
        r["Id"]
        for r in records.list_linked(clients, link, 1, {"limit": "100"}, actor=SYSTEM)
    }
    assert target in ids
    web.post(
        url(clients, f"grid/links/1/{link.pk}"), {"action": "unlink", "target": target}
    )
    ids = {
        r["Id"]
        for r in records.list_linked(clients, link, 1, {"limit": "100"}, actor=SYSTEM)
    }
    assert target not in ids


def test_creator_adds_a_select_option(web, projects):
    status = field(projects, "status")
    response = web.post(
        url(projects, f"grid/options/{status.pk}"),
        json.dumps({"title": "blocked"}),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert "blocked" in [c["title"] for c in response.json()["choices"]]
    assert (
        cell_save(web, projects, 1, field(projects, "status"), "blocked").status_code
        == 200
    )


def test_viewers_cannot_write(client, other_user, projects):
    membership_create(base=projects.base, user=other_user, role="viewer")
    client.force_login(other_user)
    name = field(projects, "name")
    assert client.get(url(projects)).status_code == 200
    assert cell_save(client, projects, 1, name, "x").status_code == 403
    paste = client.post(
        url(projects, "grid/cells"),
        json.dumps({"changes": [{"id": 1, "field": name.pk, "value": "x"}]}),
        content_type="application/json",
    )
    assert paste.status_code == 403
    assert client.post(url(projects, "rows"), HTTP_X_GRID_EDITOR="1").status_code == 403
    assert records.get_record(projects, 1, actor=SYSTEM)["name"] != "x"


def test_rows_keep_their_id_when_the_view_hides_the_key(web, projects):
    view = default_view(projects)
    key = projects.fields.get(is_pk=True)
    view.hidden_fields = [key.pk]
    view.save()
    page = web.get(url(projects)).content.decode()
    assert 'data-id="1"' in page
    assert f'<th scope="col" data-f="{key.pk}"' not in page
    window = web.get(url(projects, "grid/rows"), {"offset": 100}).content.decode()
    assert 'data-id="101"' in window
    name = field(projects, "name")
    saved = web.post(
        url(projects, "grid/cells"),
        json.dumps({"changes": [{"id": 101, "field": name.pk, "value": "Hidden key"}]}),
        content_type="application/json",
    )
    assert 'data-id="101"' in saved.json()["rows"]["101"]


def test_saved_rows_come_back_in_the_grids_view(web, projects):
    default_view(projects)
    other = View.objects.create(table=projects, title="narrow", order=5)
    name, status = field(projects, "name"), field(projects, "status")
    other.hidden_fields = [f.pk for f in projects.fields.all() if f.pk != name.pk]
    other.save()
    response = web.post(
        url(projects, "grid/cells"),
        json.dumps({"changes": [{"id": 2, "field": name.pk, "value": "Narrow"}]}),
        content_type="application/json",
        HTTP_X_GRID_VIEW=other.pk,
    )
    row = response.json()["rows"]["2"]
    assert row.count('<td class="cell') == 1 and f'data-f="{status.pk}"' not in row


@pytest.mark.parametrize(
    ("tail", "body"),
    [
        ("grid/cells", "not json"),
        ("grid/cells", "[]"),
        ("grid/cells", '{"changes": "x"}'),
        ("grid/cells", '{"changes": [{"id": 1}]}'),
        ("grid/cells", '{"changes": [{"id": 1, "field": "nope", "value": "x"}]}'),
        (
            "grid/cells",
            '{"changes": [{"id": {"a": 1}, "field": "NAME", "value": "x"}]}',
        ),
        ("grid/cells", '{"changes": [{"id": 999999, "field": "NAME", "value": "x"}]}'),
        ("grid/delete", '{"ids": "1"}'),
        ("grid/delete", '{"ids": [999999]}'),
        ("grid/layout", '{"widths": [1]}'),
        ("grid/layout", '{"widths": {"NAME": true}}'),
        ("grid/layout", '{"row_height": "huge"}'),
        ("grid/layout", '{"field_order": "x"}'),
        ("grid/layout", '{"field_order": ["nope"]}'),
    ],
)
def test_bad_grid_requests_are_4xx_not_500(web, projects, tail, body):
    body = body.replace("NAME", field(projects, "name").pk)
    response = web.post(url(projects, tail), body, content_type="application/json")
    assert 400 <= response.status_code < 500, response.content
