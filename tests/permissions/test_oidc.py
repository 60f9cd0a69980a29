"""Sign in with OpenID Connect against a provider faked by the test (tests/idp.py): real HTTP
for discovery, JWKS and the token endpoint, ID tokens signed with real keys, PKCE checked by
the provider."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured

from permissions import oidc
from permissions.models import ExternalIdentity, Membership
from tests.idp import FakeIdP, Key
from tests.permissions.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def idp(settings, world):
    server = FakeIdP()
    oidc.forget_clients()
    settings.NOCO_OIDC_PROVIDERS = [provider_config(server)]
    settings.NOCO_OIDC_TIMEOUT = 1
    yield server
    server.close()
    oidc.forget_clients()


def provider_config(idp, **extra) -> dict:
    return {
        "name": "keycloak",
        "label": "Keycloak",
        "issuer": idp.issuer,
        "client_id": idp.client_id,
        "client_secret": idp.client_secret,
        **extra,
    }


def start(client, next_url: str = "") -> dict:
    """Click "Sign in with Keycloak": the redirect's query, as the provider receives it."""
    suffix = f"?next={next_url}" if next_url else ""
    response = client.get(f"/login/oidc/keycloak/{suffix}")
    assert response.status_code == 302, response.content
    location = urlsplit(response["Location"])
    assert location.path == "/authorize"
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def finish(client, idp, params: dict, **claims):
    """The provider signs the user in and sends the browser back with a code."""
    code = idp.issue_code(params, **claims)
    return client.get(
        "/login/oidc/keycloak/callback/", {"code": code, "state": params["state"]}
    )


def signed_in_as(client):
    user_id = client.session.get("_auth_user_id")
    return get_user_model().objects.get(pk=user_id) if user_id else None


def test_full_flow_with_pkce_state_and_nonce_creates_a_user_who_sees_nothing(
    client, idp, world
):
    params = start(client, next_url="/account/tokens/")
    assert params["response_type"] == "code"
    assert params["client_id"] == idp.client_id
    assert params["code_challenge_method"] == "S256" and params["code_challenge"]
    assert params["state"] and params["nonce"]
    assert "openid" in params["scope"].split()
    assert params["redirect_uri"] == "http://testserver/login/oidc/keycloak/callback/"
    response = finish(
        client, idp, params, sub="kc-1", email="new@corp.example", email_verified=True
    )
    assert response.status_code == 302 and response["Location"] == "/account/tokens/"
    user = signed_in_as(client)
    assert user.email == "new@corp.example" and not user.has_usable_password()
    assert ExternalIdentity.objects.get(issuer=idp.issuer, subject="kc-1").user == user
    assert not Membership.objects.filter(user=user).exists()
    assert client.get(f"/bases/{world.base.pk}/").status_code == 404
    assert idp.hits["/token"] == 1 and idp.hits["/jwks"] == 1
    # Signing in again finds the same account through the link.
    client.logout()
    finish(
        client,
        idp,
        start(client),
        sub="kc-1",
        email="x@corp.example",
        email_verified=True,
    )
    assert signed_in_as(client) == user  # by the link, not by email


def test_an_existing_account_is_linked_by_verified_email_only(client, idp, world):
    editor = world.users["editor"]
    params = start(client)
    response = finish(
        client,
        idp,
        params,
        sub="kc-2",
        email="Editor@Example.com",
        email_verified=False,
    )
    assert response.status_code == 400 and signed_in_as(client) is None
    assert b"verified email" in response.content
    assert not ExternalIdentity.objects.exists()
    response = finish(
        client, idp, start(client), sub="kc-2", email="Editor@Example.com"
    )  # no email_verified claim at all
    assert response.status_code == 400 and signed_in_as(client) is None
    finish(
        client,
        idp,
        start(client),
        sub="kc-2",
        email="Editor@Example.com",
        email_verified=True,
    )
    assert signed_in_as(client) == editor
    assert client.get(f"/bases/{world.base.pk}/").status_code == 200


def test_allowed_domains_and_default_role(client, idp, world, settings):
    settings.NOCO_OIDC_PROVIDERS = [
        provider_config(
            idp,
            allowed_domains=["corp.example"],
            default_base=str(world.base.pk),
            default_role="viewer",
        )
    ]
    response = finish(
        client,
        idp,
        start(client),
        sub="kc-3",
        email="a@other.example",
        email_verified=True,
    )
    assert response.status_code == 400 and b"other.example" in response.content
    assert signed_in_as(client) is None
    finish(
        client,
        idp,
        start(client),
        sub="kc-4",
        email="b@corp.example",
        email_verified=True,
    )
    user = signed_in_as(client)
    assert Membership.objects.get(user=user, base=world.base).role == "viewer"
    # An existing member keeps their role: the default is for new users only.
    client.logout()
    editor = make_user("c@corp.example")
    Membership.objects.create(base=world.base, user=editor, role="editor")
    finish(
        client,
        idp,
        start(client),
        sub="kc-5",
        email="c@corp.example",
        email_verified=True,
    )
    assert signed_in_as(client) == editor
    assert Membership.objects.get(user=editor, base=world.base).role == "editor"


def test_state_is_checked_and_used_once(client, idp):
    params = start(client)
    forged = {**params, "state": "not-the-state"}
    response = finish(
        client, idp, forged, sub="kc-6", email="d@x.example", email_verified=True
    )
    assert response.status_code == 400 and signed_in_as(client) is None
    # Another browser (no session) cannot complete someone else's sign-in.
    from django.test import Client

    stranger = Client()
    response = finish(
        stranger, idp, params, sub="kc-6", email="d@x.example", email_verified=True
    )
    assert response.status_code == 400 and signed_in_as(stranger) is None
    ok = finish(
        client, idp, params, sub="kc-6", email="d@x.example", email_verified=True
    )
    assert ok.status_code == 302 and signed_in_as(client) is not None
    client.logout()
    replay = finish(
        client, idp, params, sub="kc-6", email="d@x.example", email_verified=True
    )
    assert replay.status_code == 400 and signed_in_as(client) is None


@pytest.mark.parametrize(
    "claims",
    [
        {"nonce": "another-nonce"},
        {"aud": "another-client", "azp": "another-client"},
        {"iss": "https://evil.example/"},
        {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
    ],
    ids=["nonce", "audience", "issuer", "expired"],
)
def test_bad_id_tokens_are_refused(client, idp, claims):
    response = finish(
        client,
        idp,
        start(client),
        sub="kc-7",
        email="e@x.example",
        email_verified=True,
        **claims,
    )
    assert response.status_code == 400, claims
    assert signed_in_as(client) is None
    assert not ExternalIdentity.objects.exists()


def test_id_token_signed_by_another_key_is_refused(client, idp):
    response = finish(
        client,
        idp,
        start(client),
        key=Key("RSA"),
        sub="kc-8",
        email="f@x.example",
        email_verified=True,
    )
    assert response.status_code == 400 and signed_in_as(client) is None


def test_a_wrong_pkce_verifier_is_refused_by_the_provider(client, idp):
    params = start(client)
    params["code_challenge"] = "A" * 43  # the provider saw another challenge
    response = finish(
        client, idp, params, sub="kc-9", email="g@x.example", email_verified=True
    )
    assert response.status_code == 400 and signed_in_as(client) is None


def test_provider_down_and_unknown_provider(client, idp):
    idp.down = True
    response = client.get("/login/oidc/keycloak/")
    assert response.status_code == 502
    assert b"cannot be reached" in response.content
    assert client.get("/login/oidc/nobody/").status_code == 404
    assert client.get("/login/oidc/nobody/callback/").status_code == 404


def test_next_must_stay_on_this_site(client, idp):
    params = start(client, next_url="https://evil.example/")
    response = finish(
        client, idp, params, sub="kc-10", email="h@x.example", email_verified=True
    )
    assert response["Location"] == "/"


def test_login_page_shows_the_providers(client, idp):
    page = client.get("/login/?next=/account/tokens/").content.decode()
    assert "Sign in with Keycloak" in page
    assert 'href="/login/oidc/keycloak/?next=/account/tokens/"' in page


def test_no_providers_no_buttons(client, settings):
    settings.NOCO_OIDC_PROVIDERS = []
    assert "Sign in with" not in client.get("/login/").content.decode()


@pytest.mark.parametrize(
    "change, words",
    [
        ({"issuer": "http://idp.example.com/"}, "https"),
        ({"name": "Bad Name"}, "name"),
        ({"default_role": "viewer"}, "go together"),
        ({"default_base": "b1", "default_role": "king"}, "default_role"),
        ({"client_secret": ""}, "client_secret"),
        ({"colour": "blue"}, "unknown keys"),
    ],
)
def test_configuration_mistakes_stop_the_start(change, words):
    item = {
        "name": "corp",
        "issuer": "https://idp.example.com/",
        "client_id": "c",
        "client_secret": "s",
        **change,
    }
    with pytest.raises(ImproperlyConfigured, match=words):
        oidc.parse_provider(item)


def test_providers_and_me_api(client, idp, world):
    from rest_framework.test import APIClient

    listed = APIClient().get("/api/v2/auth/providers").json()["list"]
    assert listed == [
        {"name": "keycloak", "label": "Keycloak", "login_url": "/login/oidc/keycloak/"}
    ]
    finish(
        client,
        idp,
        start(client),
        sub="kc-11",
        email="i@x.example",
        email_verified=True,
    )
    me = client.get("/api/v2/auth/me").json()
    assert me["email"] == "i@x.example" and me["via"] == "session"
    doc = client.get("/api/v2/meta/openapi.json").json()
    assert {"/api/v2/auth/providers", "/api/v2/auth/me"} <= set(doc["paths"])


def test_a_hanging_provider_is_given_up_on(client, idp):
    idp.hang = 3  # NOCO_OIDC_TIMEOUT is 1 s here
    started = time.monotonic()
    response = client.get("/login/oidc/keycloak/")
    assert response.status_code == 502
    assert time.monotonic() - started < 2.5
