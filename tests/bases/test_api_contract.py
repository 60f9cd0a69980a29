"""What the records API answers and what its per-base OpenAPI says agree (docs/api.md).

One JSON type per field type ("Types"): decimals are JSON numbers with the database's digits,
PostgreSQL arrays are arrays, text fields take text (numbers become their text; booleans,
objects and lists are refused naming the field). `viewId` filters a read of one record too.
Bulk bodies have at least one item; updates and deletes require the primary key."""

import json

import pytest
from openapi_spec_validator import validate

from views.services import view_create

pytestmark = pytest.mark.django_db


def url(table, suffix=""):
    return f"/api/v2/tables/{table.pk}/records{suffix}"


def record_schema(api, table) -> dict:
    doc = api.get(f"/api/v2/meta/bases/{table.base_id}/swagger.json").json()
    (name,) = [
        n[: -len("_Record")]
        for n, s in doc["components"]["schemas"].items()
        if n.endswith("_Record") and table.title in n
    ]
    return doc["components"]["schemas"][f"{name}_Record"]["properties"]


def test_decimals_are_always_json_numbers(api, external_db, make_table):
    items = make_table(
        external_db,
        "priced",
        "label VARCHAR(20)",
        "price DECIMAL(10,2)",
        rows=[
            {"label": "third", "price": "0.33"},
            {"label": "two", "price": "2"},
            {"label": "minus", "price": "-1.5"},
            {"label": "none", "price": None},
        ],
    )
    response = api.get(url(items), {"sort": "id"})
    assert response.status_code == 200
    prices = [r["price"] for r in response.json()["list"]]
    assert all(type(p) in (int, float) for p in prices[:3]), prices
    assert [float(p) for p in prices[:3]] == [0.33, 2.0, -1.5] and prices[3] is None
    # The digits are the database's (no float rounding on the way out).
    raw = response.content.decode()
    assert '"price":0.33' in raw and '"price":"' not in raw
    created = api.post(url(items), {"label": "new", "price": 12.5}, format="json")
    assert created.status_code == 200, created.json()
    (key,) = created.json().values()
    one = api.get(url(items, f"/{key}")).json()
    assert isinstance(one["price"], float) and one["price"] == 12.5
    schema = record_schema(api, items)["price"]
    assert schema["type"] == "number"


def test_postgresql_arrays_are_declared_as_arrays(api, make_table):
    tagged = make_table(
        "pg",
        "tagged",
        "tags TEXT[]",
        "scores INTEGER[]",
        rows=[{"tags": ["a", "b"], "scores": [1, 2]}],
    )
    (row,) = api.get(url(tagged)).json()["list"]
    assert row["tags"] == ["a", "b"] and row["scores"] == [1, 2]
    props = record_schema(api, tagged)
    assert props["tags"]["type"] == "array"
    assert props["tags"]["items"] == {"type": "string"}
    assert props["scores"]["items"] == {"type": "integer"}
    assert props["tags"]["readOnly"] is True


@pytest.mark.parametrize(
    ("sent", "error"),
    [(True, "true/false"), ({"a": 1}, "object"), (["x"], "list")],
    ids=["boolean", "object", "list"],
)
def test_text_fields_refuse_other_json_types(api, make_table, sent, error):
    notes = make_table("sqlite", "notes", "body VARCHAR(50)")
    response = api.post(url(notes), {"body": sent}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "INVALID_VALUE"
    assert "body" in body["message"] and error in body["message"]
    bulk = api.post(url(notes), [{"body": "ok"}, {"body": sent}], format="json")
    assert bulk.status_code == 400 and "body" in bulk.json()["message"]
    # The failing item by its index in the array (from 0), in the message and the details.
    assert bulk.json()["message"].startswith("row 1: ")
    assert bulk.json()["details"] == {"row": 1}
    assert api.get(url(notes, "/count")).json()["count"] == 0


def test_numbers_written_to_text_fields_are_stored_as_their_text(api, make_table):
    notes = make_table("sqlite", "notes", "body VARCHAR(50)")
    created = api.post(url(notes), [{"body": 42}, {"body": 1.5}], format="json")
    assert created.status_code == 200, created.json()
    got = api.get(url(notes), {"sort": "id"}).json()["list"]
    assert [r["body"] for r in got] == ["42", "1.5"]
    assert json.loads(api.get(url(notes, "/count")).content)["count"] == 2


def test_view_filter_applies_to_reading_one_record(api, actor, make_table):
    items = make_table(
        "sqlite",
        "stock",
        "label VARCHAR(20)",
        "qty INTEGER",
        rows=[{"label": "many", "qty": 10}, {"label": "few", "qty": 1}],
    )
    view = view_create(
        actor=actor, table=items, title="Plenty", data={"where": "(qty,gt,5)"}
    )
    kept = api.get(url(items, "/1"), {"viewId": view.pk})
    assert kept.status_code == 200 and kept.json()["label"] == "many"
    left_out = api.get(url(items, "/2"), {"viewId": view.pk})
    assert left_out.status_code == 404
    assert left_out.json()["error"] == "RECORD_NOT_FOUND"
    assert api.get(url(items, "/2")).status_code == 200  # without the view: there


def test_openapi_bodies_keys_and_parameters_match_the_server(api, make_table):
    items = make_table("sqlite", "things", "label VARCHAR(20) NOT NULL")
    doc = api.get(f"/api/v2/meta/bases/{items.base_id}/swagger.json").json()
    validate(doc)
    schemas = doc["components"]["schemas"]
    (name,) = [n[: -len("_Record")] for n in schemas if n.endswith("_Record")]
    ops = doc["paths"][url(items)]
    # Bulk bodies: 1 to 1000 items (the server refuses an empty list).
    bulk = ops["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert bulk["oneOf"][1]["minItems"] == 1
    empty = api.post(url(items), [], format="json")
    assert empty.status_code == 400 and empty.json()["error"] == "INVALID_BODY"
    # An update requires the key (by its title, or "Id"), and nothing else.
    update = schemas[f"{name}_Update"]
    assert update["anyOf"] == [{"required": ["id"]}, {"required": ["Id"]}]
    assert "required" not in update and "label" in update["properties"]
    no_key = api.patch(url(items), {"label": "x"}, format="json")
    assert no_key.status_code == 400
    assert schemas[f"{name}_Id"]["anyOf"] == update["anyOf"]
    # Reading one record takes viewId; an empty cursor is the first page.
    read = doc["paths"][url(items, "/{recordId}")]["get"]
    assert "viewId" in [p["name"] for p in read["parameters"]]
    assert api.get(url(items), {"cursor": ""}).status_code == 200
