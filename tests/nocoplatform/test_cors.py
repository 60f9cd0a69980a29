"""CORS: preflights answered before authentication, headers only for the listed origins."""

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from bases.services import base_create
from tests.permissions.conftest import world  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

APP = "https://app.example.com"
cors = override_settings(
    CORS_ALLOWED_ORIGINS=[APP],
    CORS_ALLOW_ALL_ORIGINS=False,
    CORS_ALLOW_CREDENTIALS=True,
)


def preflight(path: str, origin: str, headers: str = "xc-token, content-type"):
    return APIClient().options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="PATCH",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers,
    )


def test_without_configuration_no_origin_is_allowed():
    response = preflight("/api/v2/meta/bases/", APP)
    assert "Access-Control-Allow-Origin" not in response


@cors
def test_preflight_from_a_listed_origin_is_answered_before_authentication(user, actor):
    base = base_create(actor=actor, title="Cross")
    for path in (
        f"/api/v2/meta/bases/{base.pk}",
        "/api/v2/tables/nope/records",
        "/api/v2/meta/bases/",
    ):
        response = preflight(path, APP, "authorization, xc-token, content-type")
        # Was a 401: the preflight carries no credentials, and DRF refused it.
        assert response.status_code == 200, path
        assert response["Access-Control-Allow-Origin"] == APP
        assert response["Access-Control-Allow-Credentials"] == "true"
        allowed = {
            h.strip() for h in response["Access-Control-Allow-Headers"].split(",")
        }
        assert {"authorization", "xc-token", "content-type"} <= allowed
        assert "PATCH" in response["Access-Control-Allow-Methods"]
        assert response.content == b""


@cors
def test_preflight_from_another_origin_gets_no_cors_headers():
    for origin in ("https://evil.example.com", "http://app.example.com", "null"):
        response = preflight("/api/v2/meta/bases/", origin)
        assert "Access-Control-Allow-Origin" not in response, origin
        assert "Access-Control-Allow-Credentials" not in response, origin


@cors
def test_actual_requests_carry_cors_headers_for_listed_origins_only(api, actor):
    base = base_create(actor=actor, title="Cross")
    ok = api.get(f"/api/v2/meta/bases/{base.pk}", HTTP_ORIGIN=APP)
    assert ok.status_code == 200
    assert ok["Access-Control-Allow-Origin"] == APP
    assert ok["Access-Control-Allow-Credentials"] == "true"
    assert "origin" in ok["Vary"].lower()
    other = api.get(f"/api/v2/meta/bases/{base.pk}", HTTP_ORIGIN="https://evil.test")
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other
    # A refusal is readable by the listed app too (it can tell "sign in again").
    refused = APIClient().get("/api/v2/meta/bases/", HTTP_ORIGIN=APP)
    assert refused.status_code == 401
    assert refused["Access-Control-Allow-Origin"] == APP


@cors
def test_pages_are_not_opened_to_other_origins(web):
    response = web.get("/", HTTP_ORIGIN=APP)
    assert "Access-Control-Allow-Origin" not in response
    assert preflight("/login/", APP).get("Access-Control-Allow-Origin") is None


@override_settings(
    CORS_ALLOWED_ORIGINS=[], CORS_ALLOW_ALL_ORIGINS=True, CORS_ALLOW_CREDENTIALS=False
)
def test_any_origin_never_with_credentials():
    response = preflight("/api/v2/meta/bases/", "https://anyone.example")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response


def test_settings_from_the_environment(monkeypatch):
    import importlib

    from nocoplatform.settings import base

    monkeypatch.setenv("NOCO_CORS_ORIGINS", f"{APP}, http://localhost:5173")
    fresh = importlib.reload(base)
    try:
        assert fresh.CORS_ALLOWED_ORIGINS == [APP, "http://localhost:5173"]
        assert fresh.CORS_ALLOW_CREDENTIALS and not fresh.CORS_ALLOW_ALL_ORIGINS
        monkeypatch.setenv("NOCO_CORS_ORIGINS", "*")
        fresh = importlib.reload(base)
        assert fresh.CORS_ALLOW_ALL_ORIGINS and not fresh.CORS_ALLOW_CREDENTIALS
    finally:
        monkeypatch.delenv("NOCO_CORS_ORIGINS")
        importlib.reload(base)


SPA = "https://spa.example.org"


@cors
def test_a_base_may_list_its_own_origins_without_credentials(api, actor, user):
    base = base_create(actor=actor, title="Cross")
    other = base_create(actor=actor, title="Other")
    from bases import schema_services
    from permissions.checks import SYSTEM

    table = schema_services.table_create(actor=SYSTEM, base=base, title="things")
    response = api.patch(
        f"/api/v2/meta/bases/{base.pk}",
        {"cors_origins": [SPA + "/", "HTTP://localhost:5173"]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["cors_origins"] == [SPA, "http://localhost:5173"]
    for path in (f"/api/v2/meta/bases/{base.pk}", f"/api/v2/tables/{table.pk}/records"):
        answer = preflight(path, SPA)
        assert answer["Access-Control-Allow-Origin"] == SPA, path
        assert "Access-Control-Allow-Credentials" not in answer, path
        real = api.get(path, HTTP_ORIGIN=SPA)
        assert real.status_code == 200 and real["Access-Control-Allow-Origin"] == SPA
        assert "Access-Control-Allow-Credentials" not in real
    # Only that base's paths, not another base's nor the rest of the API.
    for path in (f"/api/v2/meta/bases/{other.pk}", "/api/v2/meta/bases/"):
        assert "Access-Control-Allow-Origin" not in preflight(path, SPA), path
    assert "Access-Control-Allow-Origin" not in preflight(
        "/api/v2/tables/nope/records", SPA
    )
    # The installation's origins keep their credentials on that base too.
    assert (
        preflight(f"/api/v2/meta/bases/{base.pk}", APP)[
            "Access-Control-Allow-Credentials"
        ]
        == "true"
    )


@pytest.mark.parametrize(
    "value",
    [
        "https://x.example",
        ["https://x.example/path"],
        ["ftp://x.example"],
        ["https://user@x.example"],
        ["*"],
        ["https://x.example:99999"],
        [f"https://{i}.example" for i in range(21)],
    ],
)
def test_base_origins_are_checked(api, actor, value):
    base = base_create(actor=actor, title="Cross")
    response = api.patch(
        f"/api/v2/meta/bases/{base.pk}", {"cors_origins": value}, format="json"
    )
    assert response.status_code == 400, value


def test_only_owners_change_a_base_s_origins(world):  # noqa: F811
    from tests.permissions.conftest import token_client

    response = token_client(world.tokens["editor"]).patch(
        f"/api/v2/meta/bases/{world.base.pk}", {"cors_origins": [SPA]}, format="json"
    )
    assert response.status_code == 403
