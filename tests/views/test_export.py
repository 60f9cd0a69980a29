"""Exports of a view (bases/export.py): the API, the view menu's page endpoint, CSV and XLSX.

What a member exports is what the grid shows them: the view's filter, sort and shown fields in
order, less fields hidden from their role; formula-like text defused; numbers left alone.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

from bases import export, records
from bases.fieldtypes import field_type_for
from permissions.checks import SYSTEM, Actor
from permissions.services import field_rule_set, membership_create
from records.writes import insert_rows
from views.models import View
from views.services import view_create

pytestmark = pytest.mark.django_db


def F(table, title):
    return table.fields.get(title=title)


@pytest.fixture
def view(projects, owner):
    status, budget = F(projects, "status"), F(projects, "budget")
    return view_create(
        actor=owner,
        table=projects,
        title="Active — big",
        data={
            "where": f"({status.pk},eq,active)",
            "sort": f"-{budget.pk},{F(projects, 'name').pk}",
            "hidden_fields": [F(projects, "done").pk],
            "field_order": [budget.pk, F(projects, "name").pk],
        },
    )


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def _expected(table, view, actor) -> tuple[list[str], list[list[str]]]:
    """The grid's rows of the view, as text (one big page, no export code involved)."""
    meta = records.TableMeta.of(table, actor=actor)
    from bases.query.params import view_fields

    columns = view_fields(view, meta.fields)
    page = records.list_records(
        table,
        {"limit": "1000", "fields": ",".join(f.id for f in columns)},
        actor=actor,
        view=view,
    )
    rows = [
        [field_type_for(f).export_text(f, row.get(f.title)) for f in columns]
        for row in page
    ]
    return [f.title for f in columns], rows


def test_api_csv_is_the_view_as_the_grid_shows_it(
    api, projects, view, actor, monkeypatch
):
    monkeypatch.setattr(export, "PAGE", 7)  # several pages, keyset cursors between them
    r = api.get(f"/api/v2/tables/{projects.pk}/export?viewId={view.pk}&format=csv")
    assert r.status_code == 200, r.content
    assert r["Content-Type"].startswith("text/csv")
    assert r["X-Content-Type-Options"] == "nosniff"
    name = "projects - Active — big.csv"
    assert r["Content-Disposition"] == (
        'attachment; filename="projects - Active _ big.csv"; '
        f"filename*=UTF-8''{quote(name, safe='')}"
    )
    table = _csv(r)
    header, rows = _expected(projects, view, actor)
    assert table[0] == header
    assert header[:2] == ["budget", "name"] and "done" not in header
    assert table[1:] == rows and len(rows) > 7
    # The bt link shows the linked client's name, not its id.
    bt = next(f for f in projects.fields.all() if f.options.get("relation") == "bt")
    link = header.index(bt.title)
    assert all(r[link] and not r[link].isdigit() for r in table[1:])


def test_formula_text_defused_numbers_not(api, projects, owner):
    insert_rows(
        projects,
        [
            {"name": "=HYPERLINK(1)", "budget": "-5", "status": "active"},
            {"name": "@SUM(A1)", "budget": "7", "status": "active"},
            {"name": "\tx", "budget": "8", "status": "active"},
        ],
        actor=SYSTEM,
    )
    from bases.schema_services import field_update

    field_update(actor=owner, field=F(projects, "status"), data={"title": "+status"})
    r = api.get(f"/api/v2/tables/{projects.pk}/export")
    table = _csv(r)
    assert "'+status" in table[0]
    names = [row[table[0].index("name")] for row in table[1:]]
    assert "'=HYPERLINK(1)" in names and "'@SUM(A1)" in names and "'\tx" in names
    budgets = [row[table[0].index("budget")] for row in table[1:]]
    assert "-5" in budgets or "-5.00" in budgets or "-5.0" in budgets
    assert not any(b.startswith("'") for b in budgets)


def test_hidden_fields_never_exported(client, demo, projects, view, other_user, user):
    field_rule_set(
        actor=Actor(user=user), field=F(projects, "budget"), hidden_below="creator"
    )
    membership_create(base=demo, user=other_user, role="viewer")
    client.force_login(other_user)
    r = client.get(f"/bases/{demo.pk}/views/{view.pk}/export?format=csv")
    assert r.status_code == 200
    table = _csv(r)
    assert "budget" not in table[0] and table[0][0] == "name"
    header, rows = _expected(projects, view, Actor(user=other_user))
    assert table == [header, *rows]
    # The toolbar's search (q) narrows the export as it narrows the grid.
    name = table[1][0]
    r = client.get(
        f"/bases/{demo.pk}/views/{view.pk}/export", {"format": "csv", "q": name}
    )
    found = _csv(r)[1:]
    assert found and all(name in row[0] for row in found) and len(found) < len(rows)


def test_xlsx_round_trip(api, projects, view, actor):
    insert_rows(
        projects,
        [{"name": "=1+1", "budget": "123456.5", "status": "active"}],
        actor=SYSTEM,
    )
    r = api.get(f"/api/v2/tables/{projects.pk}/export?viewId={view.pk}&format=xlsx")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    assert r["Content-Disposition"].endswith(".xlsx")
    body = b"".join(r.streaming_content)
    assert int(r["Content-Length"]) == len(body)
    ws = load_workbook(io.BytesIO(body), read_only=True).active
    assert ws.title == "Active — big"
    got = [list(row) for row in ws.iter_rows(values_only=True)]
    header, rows = _expected(projects, view, actor)
    assert list(got[0]) == header
    assert len(got) == len(rows) + 1
    assert got[1][0] == 123456.5  # a number, not text; the view sorts by budget first
    assert got[1][1] == "'=1+1"  # text, never a formula
    assert [r[1] for r in got[1:]] == [export.safe_text(x[1]) for x in rows]


def test_bad_requests(api, web, demo, projects, owner):
    url = f"/api/v2/tables/{projects.pk}/export"
    r = api.get(url + "?format=pdf")
    assert r.status_code == 400 and r.json()["error"] == "INVALID_FORMAT"
    assert api.get(url + "?viewId=nope").status_code == 404
    assert api.get("/api/v2/tables/nope/export").status_code == 404
    form = view_create(actor=owner, table=projects, title="f", type=View.Type.FORM)
    assert web.get(f"/bases/{demo.pk}/views/{form.pk}/export").status_code == 404


def test_xlsx_refuses_more_rows_than_a_sheet_holds(api, projects, monkeypatch):
    monkeypatch.setattr(export, "XLSX_MAX_ROWS", 50)
    r = api.get(f"/api/v2/tables/{projects.pk}/export?format=xlsx")
    assert r.status_code == 400 and r.json()["error"] == "EXPORT_TOO_LARGE"


def test_table_without_primary_key_pages_by_offset(make_table, api, monkeypatch):
    t = make_table(
        "sqlite",
        "log",
        "line VARCHAR(20)",
        pk=None,
        rows=[{"line": f"l{i:03}"} for i in range(25)],
    )
    monkeypatch.setattr(export, "PAGE", 10)
    r = api.get(f"/api/v2/tables/{t.pk}/export")
    lines = sorted(row[0] for row in _csv(r)[1:])
    assert lines == [f"l{i:03}" for i in range(25)]


def test_menu_links_for_a_viewer(client, demo, projects, view, other_user):
    membership_create(base=demo, user=other_user, role="viewer")
    client.force_login(other_user)
    html = client.get(f"/bases/{demo.pk}/tables/{projects.pk}/views/{view.pk}/").content
    assert f"/bases/{demo.pk}/views/{view.pk}/export?format=csv".encode() in html
    assert f"/bases/{demo.pk}/views/{view.pk}/export?format=xlsx".encode() in html
