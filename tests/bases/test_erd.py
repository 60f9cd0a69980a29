"""The ERD page (bases/erd.py, templates/bases/erd.html): tables, fields and one edge per
relationship, only what the viewer may see."""

import json

import pytest
from django.contrib.auth import get_user_model

from bases import schema_services
from bases.demo import create_demo_base
from bases.erd import diagram
from permissions.checks import Actor
from permissions.services import field_rule_set, membership_create

pytestmark = pytest.mark.django_db


def make_user(email):
    return get_user_model().objects.create_user(
        username=email, email=email, password="pw-x-12345"
    )


@pytest.fixture
def demo():
    owner = make_user("owner@example.com")
    base = create_demo_base(owner)
    return base, owner


def page_data(client, user, base):
    client.force_login(user)
    r = client.get(f"/bases/{base.pk}/diagram/")
    assert r.status_code == 200
    body = r.content.decode()
    start = body.index('<script id="erd-data" type="application/json">') + len(
        '<script id="erd-data" type="application/json">'
    )
    return json.loads(body[start : body.index("</script>", start)]), body


def test_diagram_has_every_table_its_fields_and_one_edge_per_link(client, demo):
    base, owner = demo
    data, body = page_data(client, owner, base)
    titles = {t["title"]: t for t in data["tables"]}
    assert set(titles) == {"clients", "projects", "tasks"}
    assert (
        titles["clients"]["url"]
        == f"/bases/{base.pk}/tables/{titles['clients']['id']}/"
    )
    fields = {f["title"]: f for f in titles["projects"]["fields"]}
    assert fields["status"]["type"] == "Single select"
    assert any(f["pk"] for f in titles["projects"]["fields"])
    # clients has-many projects, projects has-many tasks: each pair is one many-to-one edge
    # from the child to its parent, whichever side's link field is read first.
    ids = {t["id"]: t["title"] for t in data["tables"]}
    edges = sorted((ids[e["from"]], ids[e["to"]], e["kind"]) for e in data["links"])
    assert edges == [
        ("projects", "clients", "many to one"),
        ("tasks", "projects", "many to one"),
    ]
    assert "dagrejs/dagre/dist/dagre.min.js" in body
    assert (
        f'href="/bases/{base.pk}/diagram/"'
        in client.get(f"/bases/{base.pk}/").content.decode()
    )


def test_many_to_many_is_one_dashed_edge_and_the_junction_is_not_drawn(demo):
    base, owner = demo
    actor = Actor(user=owner)
    tables = {t.title: t for t in base.tables.all()}
    schema_services.link_create(
        actor=actor,
        table=tables["clients"],
        data={
            "title": "partners",
            "relation": "mm",
            "related_table_id": tables["tasks"].pk,
        },
    )
    data = diagram(base, actor=actor)
    ids = {t["id"]: t["title"] for t in data["tables"]}
    assert set(ids.values()) == {"clients", "projects", "tasks"}  # no junction box
    mm = [e for e in data["links"] if e["kind"] == "many to many"]
    assert len(mm) == 1
    assert {ids[mm[0]["from"]], ids[mm[0]["to"]]} == {"clients", "tasks"}


def test_a_viewer_sees_no_hidden_field_and_strangers_see_nothing(client, demo):
    base, owner = demo
    viewer = make_user("viewer@example.com")
    membership_create(base=base, user=viewer, role="viewer")
    email = base.tables.get(title="clients").fields.get(title="email")
    field_rule_set(
        actor=Actor(user=owner), field=email, hidden_below="editor", read_only_below=""
    )
    data, body = page_data(client, viewer, base)
    clients = next(t for t in data["tables"] if t["title"] == "clients")
    assert "email" not in {f["title"] for f in clients["fields"]}
    assert "email" not in body
    owner_data, _ = page_data(client, owner, base)
    owner_clients = next(t for t in owner_data["tables"] if t["title"] == "clients")
    assert "email" in {f["title"] for f in owner_clients["fields"]}
    client.force_login(make_user("stranger@example.com"))
    assert client.get(f"/bases/{base.pk}/diagram/").status_code == 404
