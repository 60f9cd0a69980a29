"""Each base's OpenAPI document validates and types every table's columns; the meta one too."""

import pytest
from openapi_spec_validator import validate

from bases.demo import create_demo_base

pytestmark = pytest.mark.django_db


def test_demo_base_document_validates_and_is_typed(api, user):
    base = create_demo_base(user)
    response = api.get(f"/api/v2/meta/bases/{base.pk}/swagger.json")
    assert response.status_code == 200
    doc = response.json()
    validate(doc)
    projects = base.tables.get(title="projects")
    paths = doc["paths"]
    assert {
        f"/api/v2/tables/{projects.pk}/records",
        f"/api/v2/tables/{projects.pk}/records/count",
        f"/api/v2/tables/{projects.pk}/records/{{recordId}}",
    } <= set(paths)
    record = next(
        v
        for k, v in doc["components"]["schemas"].items()
        if k.startswith("projects_") and k.endswith("_Record")
    )
    props = record["properties"]
    assert props["budget"]["type"] == "number"
    assert props["due date"] == {"type": "string", "format": "date", "nullable": True}
    assert props["status"]["enum"] == [
        "planned",
        "active",
        "on hold",
        "done",
        "cancelled",
    ]
    assert props["done"]["type"] == "boolean"
    assert props["Id"]["readOnly"] is True
    link_paths = [p for p in paths if "/links/" in p and projects.pk in p]
    assert len(link_paths) == 2  # clients (bt) and tasks (hm)
    where = next(
        p
        for p in paths[f"/api/v2/tables/{projects.pk}/records"]["get"]["parameters"]
        if p["name"] == "where"
    )
    assert "~and" in where["description"]


def test_meta_document_validates(api):
    doc = api.get("/api/v2/meta/openapi.json").json()
    validate(doc)
    assert "/api/v2/meta/bases/{base_id}/swagger.json" in doc["paths"]
    assert {"xcToken", "bearerToken"} <= set(doc["components"]["securitySchemes"])


def test_swagger_page_and_other_base_404(web, user, other_user, api):
    base = create_demo_base(user)
    page = web.get(f"/bases/{base.pk}/api/")
    assert page.status_code == 200 and b"swagger-ui-bundle.js" in page.content
    from bases.services import base_create
    from permissions.checks import Actor

    theirs = base_create(actor=Actor(user=other_user), title="Theirs")
    assert api.get(f"/api/v2/meta/bases/{theirs.pk}/swagger.json").status_code == 404
