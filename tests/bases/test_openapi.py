"""Each base's OpenAPI document validates and types every table's columns; the meta one too."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
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


def test_user_text_in_descriptions_is_escaped_markdown(api, user):
    """Descriptions are CommonMark: a field description or base title with markup must come
    out of a Markdown renderer as the characters typed (Swagger UI renders them with HTML)."""
    from bases.schema_services import field_create

    hostile = "<img src=x onerror=alert(1)> **bold** [x](https://e.example) &amp;"
    base = create_demo_base(user)
    base.title = hostile
    base.save()
    projects = base.tables.get(title="projects")
    from permissions.checks import Actor

    field_create(
        actor=Actor(user=user),
        table=projects,
        data={"title": "note", "uidt": "SingleLineText", "description": hostile},
    )
    doc = api.get(f"/api/v2/meta/bases/{base.pk}/swagger.json").json()
    validate(doc)
    record = next(
        v
        for k, v in doc["components"]["schemas"].items()
        if k.startswith("projects_") and k.endswith("_Record")
    )
    md = MarkdownIt("commonmark", {"html": True})
    assert md.renderInline(record["properties"]["note"]["description"]) == html(hostile)
    assert html(hostile) in md.render(doc["info"]["description"])
    assert doc["info"]["title"].startswith(hostile)  # title: plain text, as typed


def html(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00")))
def test_markdown_text_renders_as_the_characters_typed(text):
    from bases.openapi import markdown_text

    rendered = MarkdownIt("commonmark", {"html": True}).renderInline(
        markdown_text(text)
    )
    assert rendered == html(text)
