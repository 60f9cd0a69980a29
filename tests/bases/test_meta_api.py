"""The meta REST API on a built-in base: bases, tables, columns, errors."""

import pytest

pytestmark = pytest.mark.django_db


def create_base(api, title="CRM"):
    response = api.post("/api/v2/meta/bases/", {"title": title}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_base_from_scratch_and_read_it(api):
    base = create_base(api)
    assert base["sources"][0]["is_meta"] is True
    assert base["sources"][0]["config"] == {}
    listed = api.get("/api/v2/meta/bases/").json()
    assert [b["id"] for b in listed["list"]] == [base["id"]]
    assert listed["pageInfo"]["totalRows"] == 1


def test_table_and_column_lifecycle(api):
    base = create_base(api)
    response = api.post(
        f"/api/v2/meta/bases/{base['id']}/tables",
        {
            "title": "Contacts",
            "columns": [
                {"title": "Name", "uidt": "SingleLineText"},
                {"title": "Age", "uidt": "Number"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    table = response.json()
    by_title = {c["title"]: c for c in table["columns"]}
    assert (
        by_title["Name"]["uidt"] == "SingleLineText" and by_title["Name"]["pv"] is True
    )
    assert by_title["Id"]["pk"] and by_title["Id"]["ai"]

    response = api.post(
        f"/api/v2/meta/tables/{table['id']}/columns",
        {
            "title": "Status",
            "uidt": "SingleSelect",
            "colOptions": {
                "options": [{"title": "new"}, {"title": "won", "color": "#00ff00"}]
            },
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    status = response.json()
    assert [o["title"] for o in status["colOptions"]["options"]] == ["new", "won"]
    assert status["colOptions"]["options"][1]["color"] == "#00ff00"

    response = api.patch(
        f"/api/v2/meta/columns/{status['id']}", {"title": "Stage"}, format="json"
    )
    assert response.status_code == 200 and response.json()["title"] == "Stage"

    response = api.delete(f"/api/v2/meta/columns/{by_title['Age']['id']}")
    assert response.status_code == 200
    titles = [
        c["title"]
        for c in api.get(f"/api/v2/meta/tables/{table['id']}").json()["columns"]
    ]
    assert "Age" not in titles and "Stage" in titles

    assert api.delete(f"/api/v2/meta/tables/{table['id']}").status_code == 200
    assert api.get(f"/api/v2/meta/tables/{table['id']}").status_code == 404


def test_duplicate_titles_conflict(api):
    base = create_base(api)
    url = f"/api/v2/meta/bases/{base['id']}/tables"
    assert api.post(url, {"title": "T"}, format="json").status_code == 201
    response = api.post(url, {"title": "t"}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "DUPLICATE_TITLE"


@pytest.mark.parametrize(
    "body,code",
    [
        ({"title": ""}, "INVALID_INPUT"),
        ({"title": "x", "columns": "nope"}, "INVALID_INPUT"),
        (
            {"title": "x", "columns": [{"title": "a", "uidt": "Bogus"}]},
            "UNKNOWN_FIELD_TYPE",
        ),
        (
            {
                "title": "x",
                "columns": [
                    {"title": "a", "uidt": "Decimal", "options": {"precision": 99}}
                ],
            },
            "INVALID_INPUT",
        ),
    ],
)
def test_bad_table_input_is_400_naming_the_problem(api, body, code):
    base = create_base(api)
    response = api.post(f"/api/v2/meta/bases/{base['id']}/tables", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"] == code
    assert response.json()["message"]


def test_malformed_json_and_wrong_body_type(api):
    response = api.post(
        "/api/v2/meta/bases/", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["error"] == "INVALID_JSON"
    response = api.post("/api/v2/meta/bases/", [1, 2], format="json")
    assert response.status_code == 400 and response.json()["error"] == "INVALID_BODY"


def test_connection_test_endpoint_reports_specific_errors(api):
    response = api.post(
        "/api/v2/meta/connection/test",
        {"url": "postgresql://u:secret@127.0.0.1:1/db"},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "CONNECTION_REFUSED"
    assert "secret" not in response.content.decode()
    response = api.post(
        "/api/v2/meta/connection/test", {"url": "oracle://x"}, format="json"
    )
    assert (
        response.status_code == 400
        and response.json()["error"] == "INVALID_DATABASE_URL"
    )


def test_openapi_document_lists_meta_endpoints(api):
    response = api.get("/api/v2/meta/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v2/meta/bases/" in paths
    assert "/api/v2/meta/tables/{table_id}/columns" in paths


def test_sqlite_paths_are_for_admins_unless_folders_are_opened(api, settings, tmp_path):
    settings.NOCO_SQLITE_ALLOWED_DIRS = []
    path = tmp_path / "x.sqlite3"
    import sqlite3

    sqlite3.connect(path).close()
    response = api.post(
        "/api/v2/meta/bases/", {"title": "S", "url": f"sqlite:///{path}"}, format="json"
    )
    assert response.status_code == 403 and response.json()["error"] == "FORBIDDEN_PATH"
    settings.NOCO_SQLITE_ALLOWED_DIRS = [str(tmp_path / "elsewhere")]
    response = api.post(
        "/api/v2/meta/bases/", {"title": "S", "url": f"sqlite:///{path}"}, format="json"
    )
    # The same status as above: a path refused by the rules is 403 whichever rule refused it.
    assert response.status_code == 403 and response.json()["error"] == "FORBIDDEN_PATH"
    settings.NOCO_SQLITE_ALLOWED_DIRS = [str(tmp_path)]
    response = api.post(
        "/api/v2/meta/bases/", {"title": "S", "url": f"sqlite:///{path}"}, format="json"
    )
    assert response.status_code == 201
