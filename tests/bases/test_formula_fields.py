"""Formula fields end to end: created through the meta API (NocoDB's shape), read in lists, single
records, filters, sorts, group-by and footer aggregates on PostgreSQL, MariaDB and SQLite; errors
with positions; renames and deletes of the fields a formula uses; read-only on write; OpenAPI."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from bases import aggregates, records
from bases.models import Field, Table
from permissions.checks import SYSTEM

pytestmark = pytest.mark.django_db

ROWS = [
    {
        "name": "Apollo",
        "budget": decimal.Decimal("100.00"),
        "qty": 3,
        "due": "2026-01-10",
    },
    {"name": "Gemini", "budget": decimal.Decimal("50.50"), "qty": None, "due": None},
    {"name": "Mercury", "budget": None, "qty": 7, "due": "2026-03-01"},
]


def _projects(make_table, db, **options):
    return make_table(
        db,
        "projects",
        "name VARCHAR(40)",
        "budget DECIMAL(10,2)",
        "qty INTEGER",
        "due DATE",
        rows=ROWS,
        **options,
    )


def add(api, table, title, formula, key="formula_raw", status=201):
    response = api.post(
        f"/api/v2/meta/tables/{table.pk}/columns",
        {"title": title, "uidt": "Formula", key: formula},
        format="json",
    )
    assert response.status_code == status, response.content
    return response.json()


def listed(api, table, **params):
    response = api.get(f"/api/v2/tables/{table.pk}/records", params)
    assert response.status_code == 200, response.content
    return response.json()["list"]


def num(value):
    # Numbers leave as the database computed them (numeric on PostgreSQL, real on SQLite).
    return None if value is None else round(float(value), 6)


@pytest.fixture
def projects(external_db, make_table, api):
    table = _projects(make_table, external_db)
    gross = add(api, table, "Gross", "{budget} * 1.2")
    assert gross["uidt"] == "Formula" and gross["column_name"] is None
    assert gross["colOptions"]["formula_raw"] == "{budget} * 1.2"
    assert gross["colOptions"]["result_type"] == "number"
    label = add(api, table, "Label", 'UPPER({name}) & "-" & {qty}', key="formula")
    assert label["colOptions"]["result_type"] == "text"
    assert (
        add(api, table, "Late", '{due} < "2026-02-01"')["colOptions"]["result_type"]
        == "boolean"
    )
    assert (
        add(api, table, "Next", 'DATEADD({due}, 7, "day")')["colOptions"]["result_type"]
        == "date"
    )
    add(api, table, "Double", "{Gross} * 2")  # a formula over a formula
    return table


def test_formula_values_in_every_read(api, projects):
    rows = listed(api, projects, sort="id")
    got = [
        (r["name"], num(r["Gross"]), r["Label"], r["Late"], r["Next"], num(r["Double"]))
        for r in rows
    ]
    assert got == [
        ("Apollo", 120.0, "APOLLO-3", True, "2026-01-17", 240.0),
        ("Gemini", 60.6, "GEMINI-", False, None, 121.2),
        ("Mercury", None, "MERCURY-7", False, "2026-03-08", None),
    ]
    # where, sort, paging by a formula
    assert [r["name"] for r in listed(api, projects, where="(Gross,gt,100)")] == [
        "Apollo"
    ]
    assert [
        r["name"] for r in listed(api, projects, where="(Gross,gt,0)", sort="-Double")
    ] == ["Apollo", "Gemini"]
    assert [r["name"] for r in listed(api, projects, where="(Late,eq,true)")] == [
        "Apollo"
    ]
    assert [r["name"] for r in listed(api, projects, where="(Label,like,merc)")] == [
        "Mercury"
    ]
    assert [r["name"] for r in listed(api, projects, where="(Next,gt,2026-02-01)")] == [
        "Mercury"
    ]
    first = api.get(
        f"/api/v2/tables/{projects.pk}/records", {"sort": "Label", "limit": 1}
    ).json()
    rest = listed(api, projects, sort="Label", cursor=first["pageInfo"]["next"])
    assert [r["name"] for r in first["list"] + rest] == ["Apollo", "Gemini", "Mercury"]
    # one record, fields=
    one = api.get(f"/api/v2/tables/{projects.pk}/records/1").json()
    assert num(one["Double"]) == 240.0 and one["Next"] == "2026-01-17"
    assert listed(api, projects, fields="Label", sort="-Label", limit=1) == [
        {"Label": "MERCURY-7"}
    ]
    # footer aggregates and group buckets
    fields = {f.title: f for f in projects.fields.all()}
    assert aggregates.aggregates_for(fields["Late"]) == ["empty", "filled"]
    values = aggregates.column_aggregates(
        projects,
        {fields["Gross"].id: "sum", fields["Next"].id: "max"},
        actor=SYSTEM,
    )
    assert num(values[fields["Gross"].id]) == pytest.approx(180.6)
    assert values[fields["Next"].id] == dt.date(2026, 3, 8)
    buckets, _ = aggregates.group_buckets(projects, fields["Late"], actor=SYSTEM)
    assert [(b.value, b.count) for b in buckets] == [(False, 2), (True, 1)]
    assert [
        r["name"]
        for r in records.list_records(
            projects, {"where": buckets[1].where}, actor=SYSTEM
        )
    ] == ["Apollo"]


def test_formula_values_are_read_only(api, projects):
    response = api.post(
        f"/api/v2/tables/{projects.pk}/records",
        {"name": "Vostok", "Gross": 3},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "READ_ONLY_FIELD" and "'Gross'" in body["message"]


@pytest.fixture
def sqlite_projects(sqlite_db, make_table, api):
    table = _projects(make_table, sqlite_db, allow_schema_edit=True)
    add(api, table, "Gross", "{budget} * 1.2")
    add(api, table, "Label", "{name} & {qty}")
    add(api, table, "Double", "{Gross} * 2")
    return table


@pytest.mark.parametrize(
    "formula, code, position",
    [
        ("{budgte} * 2", "FORMULA_UNKNOWN_FIELD", 0),
        ("{budget} * ", "FORMULA_SYNTAX", 11),
        ('{budget} + "x"', "FORMULA_TYPE", 9),
        ("ROUND({name})", "FORMULA_TYPE", 6),
        ("NOPE(1)", "FORMULA_UNKNOWN_FUNCTION", 0),
        ("{Loop} + 1", "FORMULA_CIRCULAR", 0),
    ],
)
def test_errors_at_save_time_carry_code_and_position(
    api, sqlite_projects, formula, code, position
):
    body = add(api, sqlite_projects, "Loop", formula, status=400)
    assert body["error"] == code
    assert body["details"]["position"] == position, body
    assert not sqlite_projects.fields.filter(title="Loop").exists()


def test_update_rechecks_and_refuses_cycles(api, sqlite_projects):
    gross = sqlite_projects.fields.get(title="Gross")
    url = f"/api/v2/meta/columns/{gross.pk}"
    response = api.patch(url, {"formula_raw": "{Double} + 1"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "FORMULA_CIRCULAR"
    response = api.patch(url, {"formula_raw": "{qty} + 0.5"}, format="json")
    assert response.status_code == 200, response.content
    rows = listed(api, sqlite_projects, sort="id")
    assert [num(r["Double"]) for r in rows] == [7.0, None, 15.0]


def test_rename_rewrites_and_delete_marks_dependants_invalid(api, sqlite_projects):
    budget = sqlite_projects.fields.get(title="budget")
    response = api.patch(
        f"/api/v2/meta/columns/{budget.pk}", {"title": "Budget EUR"}, format="json"
    )
    assert response.status_code == 200
    gross = api.get(
        f"/api/v2/meta/columns/{sqlite_projects.fields.get(title='Gross').pk}"
    ).json()
    assert gross["colOptions"]["formula_raw"] == "{Budget EUR} * 1.2"
    assert num(listed(api, sqlite_projects, sort="id")[0]["Gross"]) == 120.0

    qty = sqlite_projects.fields.get(title="qty")
    assert api.delete(f"/api/v2/meta/columns/{qty.pk}").status_code == 200
    label = Field.objects.get(table=sqlite_projects, title="Label")
    assert label.options["error"]["code"] == "FORMULA_UNKNOWN_FIELD"
    column = api.get(f"/api/v2/meta/columns/{label.pk}").json()
    assert column["colOptions"]["formula_raw"] == "{name} & {qty}"
    assert "{qty}" in column["colOptions"]["error"]
    rows = listed(api, sqlite_projects, sort="id")  # the table still loads
    assert [r["Label"] for r in rows] == [None, None, None]
    assert [num(r["Double"]) for r in rows] == [240.0, 121.2, None]
    # A formula over a field that is gone can be fixed by an update.
    response = api.patch(
        f"/api/v2/meta/columns/{label.pk}", {"formula_raw": "{name}"}, format="json"
    )
    assert (
        response.status_code == 200 and response.json()["colOptions"]["error"] is None
    )
    assert listed(api, sqlite_projects, sort="id")[0]["Label"] == "Apollo"
    # Deleting a formula re-checks those that use it.
    gross = sqlite_projects.fields.get(title="Gross")
    assert api.delete(f"/api/v2/meta/columns/{gross.pk}").status_code == 200
    double = Field.objects.get(table=sqlite_projects, title="Double")
    assert double.options["error"]["code"] == "FORMULA_UNKNOWN_FIELD"


def test_openapi_types_formulas_by_result(api, sqlite_projects):
    add(api, sqlite_projects, "Late", '{due} < "2026-02-01"')
    table = Table.objects.get(pk=sqlite_projects.pk)
    doc = api.get(f"/api/v2/meta/bases/{table.base_id}/swagger.json").json()
    schemas = doc["components"]["schemas"]
    record = next(v for k, v in schemas.items() if k.endswith("_Record"))
    props = record["properties"]
    assert props["Gross"]["type"] == "number" and props["Gross"]["readOnly"] is True
    assert props["Label"]["type"] == "string"
    assert props["Late"]["type"] == "boolean"
    request = next(v for k, v in schemas.items() if k.endswith("_Request"))
    assert "Gross" not in request["properties"]


def test_a_formula_cannot_read_a_field_hidden_from_its_author(sqlite_projects):
    # (Today only creators and owners add fields, and they see every field: this guards the
    # definition itself, whoever the author is.)
    from bases.fieldtypes import get
    from bases.formula import FormulaError

    budget = sqlite_projects.fields.get(title="budget")
    visible = frozenset(f.id for f in sqlite_projects.fields.all() if f.pk != budget.pk)
    formula = get("Formula")
    for text in ("{budget} + 0", "{budge} + 0", f"{{{budget.id}}} + 0"):
        with pytest.raises(FormulaError) as caught:
            formula.define(
                sqlite_projects, {"title": "Leak", "formula_raw": text}, visible=visible
            )
        assert caught.value.code == "FORMULA_UNKNOWN_FIELD"
        assert "Did you mean {budget}" not in caught.value.message
    # What they can see, they can use (Gross itself reads budget: its value is visible).
    options, column_type = formula.define(
        sqlite_projects,
        {"title": "Fine", "formula_raw": "{Gross} + {qty}"},
        visible=visible,
    )
    assert column_type == "decimal" and "{budget}" not in options["formula"]
