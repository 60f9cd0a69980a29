"""Views: the meta API, and `viewId` applying a view's filter, sort and fields to records."""

import pytest

from bases.demo import create_demo_base

pytestmark = pytest.mark.django_db


@pytest.fixture
def projects(user):
    return create_demo_base(user).tables.get(title="projects")


def test_default_view_and_view_lifecycle(api, projects):
    listed = api.get(f"/api/v2/meta/tables/{projects.pk}/views").json()["list"]
    assert [v["title"] for v in listed] == ["Default view"]
    created = api.post(
        f"/api/v2/meta/tables/{projects.pk}/grids",
        {"title": "Active", "where": "(status,eq,active)", "sort": "-budget"},
        format="json",
    )
    assert created.status_code == 201, created.content
    view = created.json()
    assert view["type"] == "grid" and view["where"] == "(status,eq,active)"
    renamed = api.patch(
        f"/api/v2/meta/views/{view['id']}", {"title": "Active ones"}, format="json"
    )
    assert renamed.status_code == 200 and renamed.json()["title"] == "Active ones"
    assert api.delete(f"/api/v2/meta/views/{view['id']}").status_code == 200
    last = api.delete(f"/api/v2/meta/views/{listed[0]['id']}")
    assert last.status_code == 409 and last.json()["error"] == "LAST_VIEW"


@pytest.mark.parametrize(
    "body,code",
    [
        ({"title": "x", "where": "(ghost,eq,1)"}, "FIELD_NOT_FOUND"),
        ({"title": "x", "where": "(status,eq"}, "WHERE_SYNTAX"),
        ({"title": "x", "sort": "-ghost"}, "FIELD_NOT_FOUND"),
        ({"title": "x", "hidden_fields": ["cnope"]}, "FIELD_NOT_FOUND"),
        ({"title": ""}, "INVALID_INPUT"),
        ({"title": "x", "type": "spreadsheet"}, "INVALID_INPUT"),
    ],
)
def test_bad_view_config_is_refused(api, projects, body, code):
    response = api.post(f"/api/v2/meta/tables/{projects.pk}/views", body, format="json")
    assert response.status_code == 400 and response.json()["error"] == code


def test_view_id_applies_filter_sort_and_fields(api, projects):
    fields = {f.title: f.id for f in projects.fields.all()}
    view = api.post(
        f"/api/v2/meta/tables/{projects.pk}/views",
        {
            "title": "Big active",
            "where": "(status,eq,active)",
            "sort": "-budget",
            "field_order": [fields["budget"], fields["name"]],
            "hidden_fields": [
                fields["due date"],
                fields["done"],
                fields["clients_id"],
                fields["clients"],
                fields["tasks"],
                fields["Id"],
                fields["status"],
            ],
        },
        format="json",
    ).json()
    url = f"/api/v2/tables/{projects.pk}/records"
    page = api.get(url, {"viewId": view["id"], "limit": 1000}).json()["list"]
    everything = api.get(url, {"limit": 1000, "fields": "status,budget"}).json()["list"]
    active = [r for r in everything if r["status"] == "active"]
    assert len(page) == len(active) > 0
    assert list(page[0]) == ["budget", "name"]
    budgets = [r["budget"] for r in page]
    assert budgets == sorted(budgets, reverse=True)
    # The request's own where narrows the view's; its own fields and sort replace the view's.
    narrowed = api.get(
        url,
        {
            "viewId": view["id"],
            "where": "(budget,gt,20000)",
            "fields": "name",
            "sort": "name",
            "limit": 1000,
        },
    ).json()["list"]
    assert 0 < len(narrowed) < len(page) and list(narrowed[0]) == ["name"]
    assert [r["name"] for r in narrowed] == sorted(r["name"] for r in narrowed)
    count = api.get(f"{url}/count", {"viewId": view["id"]}).json()["count"]
    assert count == len(active)
    other = create_other_table_view(api, projects)
    assert api.get(url, {"viewId": other}).json()["error"] == "VIEW_NOT_FOUND"


def create_other_table_view(api, projects) -> str:
    tasks = projects.base.tables.get(title="tasks")
    return api.get(f"/api/v2/meta/tables/{tasks.pk}/views").json()["list"][0]["id"]
