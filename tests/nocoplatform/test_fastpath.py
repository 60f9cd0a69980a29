"""Token requests to the API skip the page middleware but answer exactly as before."""

import pytest
from rest_framework.test import APIClient

from bases.services import base_create

pytestmark = pytest.mark.django_db


def test_token_request_skips_session_middleware_and_keeps_security_headers(api, actor):
    base = base_create(actor=actor, title="Fast")
    response = api.get(f"/api/v2/meta/bases/{base.pk}")
    assert response.status_code == 200 and response.json()["id"] == base.pk
    assert (
        response["X-Content-Type-Options"] == "nosniff"
    )  # SecurityMiddleware still ran
    assert "X-Frame-Options" not in response  # the page-only middleware did not
    assert "sessionid" not in response.cookies


def test_unknown_api_path_with_a_token_is_the_usual_404(api):
    assert api.get("/api/v2/nothing-here").status_code == 404


def test_bad_token_is_401_on_the_fast_path():
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION="Bearer nope")
    response = c.get("/api/v2/meta/bases/")
    assert response.status_code == 401 and response.json()["error"] == "INVALID_TOKEN"


def test_session_requests_still_need_csrf(user):
    """Without a token the normal chain runs, CSRF included."""
    c = APIClient(enforce_csrf_checks=True)
    c.force_login(user)
    response = c.post("/api/v2/meta/bases/", {"title": "x"}, format="json")
    assert response.status_code == 403
