"""A view's settings never name a field hidden from the caller (issue 15): group-by,
aggregates, column widths, kanban/calendar/gallery/form settings, in the views API (detail,
list, create, change) and on the view's page, per role."""

import json

import pytest

from permissions.checks import Actor
from permissions.services import field_rule_set
from tests.permissions.conftest import ROLES, session_client, token_client
from views.models import View
from views.services import view_create

pytestmark = pytest.mark.django_db
# The field rule hides status, budget and due date from roles below editor.
SEES_HIDDEN = {"owner", "creator", "editor"}
STACKS = ["Secret stack A", "Secret stack B"]


def _views(w) -> dict:
    owner = Actor(user=w.users["owner"])
    t = w.table("projects")
    ids = {f.title: f.pk for f in t.fields.all()}
    name, status, budget, due = (
        ids["name"],
        ids["status"],
        ids["budget"],
        ids["due date"],
    )
    made = {
        kind: view_create(actor=owner, table=t, title=f"v {kind}", type=kind)
        for kind in ("grid", "kanban", "calendar", "gallery", "form")
    }
    # Stored as the toolbar, footer, settings panels and form builder store them.
    options = {
        "grid": {
            "group_by": [
                {"field": status, "desc": False},
                {"field": name, "desc": True},
            ],
            "aggregates": {budget: "sum", name: "count"},
            "column_widths": {budget: 140, name: 220},
            "row_height": "medium",
        },
        "kanban": {
            "stack_field": status,
            "stack_order": STACKS,
            "hidden_stacks": [STACKS[0]],
            "collapsed_stacks": [STACKS[1]],
            "card_order": {STACKS[0]: ["3", "1"]},
            "card_fields": [budget, name],
            "title_field": name,
            "cover_field": budget,
        },
        "calendar": {"date_field": due, "end_field": due, "mode": "week"},
        "gallery": {
            "title_field": budget,
            "card_fields": [name, due],
            "cover_fit": "contain",
        },
        "form": {
            "form": {
                "title": "Join",
                "fields": [
                    {"id": budget, "default": "999999", "label": "Secret budget"},
                    {"id": name, "label": "Your name"},
                ],
            }
        },
    }
    for kind, view in made.items():
        View.objects.filter(pk=view.pk).update(options=options[kind])
    for title in ("status", "budget", "due date"):
        field_rule_set(
            actor=owner, field=w.field("projects", title), hidden_below="editor"
        )
    return {"views": made, "hidden": [status, budget, due], "name": name}


def _leaks(body: dict, setup: dict) -> list[str]:
    text = json.dumps(body)
    found = [h for h in setup["hidden"] if h in text]
    found += [s for s in STACKS if s in text]
    return found + (["999999"] if "999999" in text else [])


@pytest.mark.parametrize("role", ROLES)
def test_views_api_strips_hidden_fields_from_options(world, role):
    w = world
    setup = _views(w)
    c = token_client(w.tokens[role])
    listed = c.get(f"/api/v2/meta/tables/{w.table('projects').pk}/views").json()["list"]
    for kind, view in setup["views"].items():
        detail = c.get(f"/api/v2/meta/views/{view.pk}")
        assert detail.status_code == 200
        in_list = next(v for v in listed if v["id"] == view.pk)
        for body in (detail.json(), in_list):
            leaks = _leaks(body, setup)
            if role in SEES_HIDDEN:
                assert leaks, f"{kind}: {role} sees the hidden fields"
            else:
                assert leaks == [], f"{kind} options leak {leaks} to a {role}"
    if role in SEES_HIDDEN:
        return
    # What does not name a hidden field is kept.
    grid = c.get(f"/api/v2/meta/views/{setup['views']['grid'].pk}").json()["options"]
    name = setup["name"]
    assert grid == {
        "group_by": [{"field": name, "desc": True}],
        "aggregates": {name: "count"},
        "column_widths": {name: 220},
        "row_height": "medium",
    }
    kanban = c.get(f"/api/v2/meta/views/{setup['views']['kanban'].pk}").json()
    assert kanban["options"] == {"card_fields": [name], "title_field": name}
    calendar = c.get(f"/api/v2/meta/views/{setup['views']['calendar'].pk}").json()
    assert calendar["options"] == {"mode": "week"}
    form = c.get(f"/api/v2/meta/views/{setup['views']['form'].pk}").json()
    assert form["options"]["form"]["fields"] == [{"id": name, "label": "Your name"}]


@pytest.mark.parametrize("role", ["commenter", "viewer"])
def test_view_pages_do_not_name_hidden_fields(world, role):
    w = world
    setup = _views(w)
    c = session_client(w.users[role])
    t = w.table("projects")
    for kind, view in setup["views"].items():
        if kind == "form":
            continue  # the form builder is for creators; the public form is its own page
        page = c.get(f"/bases/{w.base.pk}/tables/{t.pk}/views/{view.pk}/")
        assert page.status_code == 200, kind
        html = page.content.decode()
        leaks = [h for h in setup["hidden"] if h in html]
        leaks += [s for s in STACKS if s in html]
        assert leaks == [], f"the {kind} page shows {leaks} to a {role}"
