from datetime import timedelta

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from bases.services import base_create
from permissions.checks import Actor
from permissions.models import ApiToken, hash_token
from permissions.services import api_token_create

pytestmark = pytest.mark.django_db


def client_with(header: str, value: str) -> APIClient:
    c = APIClient()
    c.credentials(**{header: value})
    return c


def test_token_is_stored_hashed_and_shown_once(user):
    token, raw = api_token_create(user=user, name="ci")
    assert raw.startswith("nc_") and len(raw) > 40
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.token_hash == hash_token(raw)
    assert raw not in {stored.token_hash, stored.prefix, stored.name}
    listing = client_with("HTTP_XC_TOKEN", raw).get("/api/v2/meta/tokens").json()
    assert raw not in str(listing)
    assert listing["list"][0]["prefix"] == raw[:10]


@pytest.mark.parametrize(
    "header,template", [("HTTP_XC_TOKEN", "{}"), ("HTTP_AUTHORIZATION", "Bearer {}")]
)
def test_both_token_headers_authenticate(user, header, template):
    base = base_create(actor=Actor(user=user), title="Mine")
    _, raw = api_token_create(user=user, name="ci")
    response = client_with(header, template.format(raw)).get("/api/v2/meta/bases/")
    assert response.status_code == 200
    assert [b["id"] for b in response.json()["list"]] == [base.pk]


def test_missing_and_invalid_tokens_are_401_with_error_code(user):
    response = APIClient().get("/api/v2/meta/bases/")
    assert response.status_code == 401
    assert response.json()["error"] == "AUTHENTICATION_REQUIRED"
    response = client_with("HTTP_XC_TOKEN", "nc_wrong").get("/api/v2/meta/bases/")
    assert response.status_code == 401
    assert response.json()["error"] == "INVALID_TOKEN"


def test_revoked_token_stops_working(user):
    token, raw = api_token_create(user=user, name="ci")
    c = client_with("HTTP_XC_TOKEN", raw)
    assert c.get("/api/v2/meta/bases/").status_code == 200
    assert c.delete(f"/api/v2/meta/tokens/{token.pk}").status_code == 200
    assert c.get("/api/v2/meta/bases/").status_code == 401


def test_base_scoped_token_sees_only_its_base(user):
    actor = Actor(user=user)
    one = base_create(actor=actor, title="One")
    two = base_create(actor=actor, title="Two")
    _, raw = api_token_create(user=user, name="scoped", base=one)
    c = client_with("HTTP_XC_TOKEN", raw)
    assert [b["id"] for b in c.get("/api/v2/meta/bases/").json()["list"]] == [one.pk]
    assert c.get(f"/api/v2/meta/bases/{one.pk}").status_code == 200
    response = c.get(f"/api/v2/meta/bases/{two.pk}")
    assert response.status_code == 404 and response.json()["error"] == "BASE_NOT_FOUND"
    # A scoped token cannot create bases either.
    assert (
        c.post("/api/v2/meta/bases/", {"title": "Three"}, format="json").status_code
        == 403
    )


def test_read_only_token_reads_but_cannot_write(user):
    base = base_create(actor=Actor(user=user), title="Mine")
    _, raw = api_token_create(user=user, name="ro", read_only=True)
    c = client_with("HTTP_XC_TOKEN", raw)
    assert c.get(f"/api/v2/meta/bases/{base.pk}/tables").status_code == 200
    response = c.post(
        f"/api/v2/meta/bases/{base.pk}/tables", {"title": "t"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"] == "TOKEN_READ_ONLY"
    assert base.tables.count() == 0
    assert (
        c.patch(
            f"/api/v2/meta/bases/{base.pk}", {"title": "x"}, format="json"
        ).status_code
        == 403
    )
    base.refresh_from_db()
    assert base.title == "Mine"


def test_other_users_base_is_404_like_a_missing_one(user, other_user):
    theirs = base_create(actor=Actor(user=other_user), title="Theirs")
    _, raw = api_token_create(user=user, name="ci")
    c = client_with("HTTP_XC_TOKEN", raw)
    hidden = c.get(f"/api/v2/meta/bases/{theirs.pk}")
    missing = c.get("/api/v2/meta/bases/pdoesnotexist00")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    table_hidden = c.get(f"/api/v2/meta/bases/{theirs.pk}/tables")
    assert table_hidden.status_code == 404


def test_create_api_token_command_prints_a_working_token(user, capsys):
    base = base_create(actor=Actor(user=user), title="Mine")
    call_command("create_api_token", user.email, "--base", base.pk, "--read-only")
    raw = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(token_hash=hash_token(raw))
    assert token.base_id == base.pk and token.read_only
    assert (
        client_with("HTTP_XC_TOKEN", raw)
        .get(f"/api/v2/meta/bases/{base.pk}")
        .status_code
        == 200
    )


def test_token_api_validates_input(user, api):
    response = api.post("/api/v2/meta/tokens", {"name": ""}, format="json")
    assert response.status_code == 403  # tokens cannot mint tokens
    c = APIClient()
    c.force_login(user)
    response = c.post("/api/v2/meta/tokens", {"name": ""}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "INVALID_INPUT"
    response = c.post(
        "/api/v2/meta/tokens", {"name": "x", "read_only": "yes"}, format="json"
    )
    assert response.status_code == 400
    response = c.post("/api/v2/meta/tokens", {"name": "web"}, format="json")
    assert response.status_code == 201 and response.json()["token"].startswith("nc_")


def test_token_use_is_recorded_at_most_once_a_minute(user):
    token, raw = api_token_create(user=user, name="ci")
    c = client_with("HTTP_XC_TOKEN", raw)
    assert c.get("/api/v2/meta/bases/").status_code == 200
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    assert c.get("/api/v2/meta/bases/").status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(
        last_used_at=first - timedelta(minutes=2)
    )
    assert c.get("/api/v2/meta/bases/").status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first - timedelta(minutes=1)


def test_token_of_a_deactivated_user_is_refused(user):
    _, raw = api_token_create(user=user, name="ci")
    user.is_active = False
    user.save()
    r = client_with("HTTP_XC_TOKEN", raw).get("/api/v2/meta/bases/")
    assert r.status_code == 401 and r.json()["error"] == "INVALID_TOKEN"


def test_token_request_acts_as_its_user(user):
    """The user built from the token query is the real one (id, flags), not a blank stand-in."""
    user.is_superuser = True
    user.save()
    token, raw = api_token_create(user=user, name="ci", read_only=True)
    from django.utils import timezone

    from permissions.auth import _token_and_user

    got_token, got_user, _ = _token_and_user(hash_token(raw), timezone.now())
    assert (got_user.pk, got_user.email, got_user.is_superuser, got_user.is_active) == (
        user.pk,
        user.email,
        True,
        True,
    )
    assert (got_token.pk, got_token.read_only, got_token.base_id) == (
        token.pk,
        True,
        None,
    )
