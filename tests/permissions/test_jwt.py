"""Bearer JWTs from an external identity provider, verified against its JWKS served over real
HTTP by the test (tests/idp.py), with real RSA and EC keys."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from rest_framework.test import APIClient

from permissions import jwt_auth
from permissions.auth import credentials_refusal
from permissions.models import ExternalIdentity
from permissions.services import membership_create
from tests.idp import FakeIdP, Key
from tests.permissions.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def idp():
    server = FakeIdP()
    jwt_auth.forget_keys()
    yield server
    server.close()
    jwt_auth.forget_keys()


def issuer_config(idp, **extra) -> dict:
    return {
        "issuer": idp.issuer,
        "audience": "noco-api",
        "jwks_url": idp.url + "/jwks",
        "algorithms": ["RS256", "ES256"],
        **extra,
    }


@pytest.fixture
def configured(idp, settings):
    settings.NOCO_JWT_ISSUERS = [issuer_config(idp)]
    settings.NOCO_JWT_JWKS_TIMEOUT = 0.5
    return idp


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(jwt_auth, "_now", lambda: now[0])
    return now


def bearer(token: str) -> APIClient:
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return c


def refused(response, words: str):
    assert response.status_code == 401, response.content
    body = response.json()
    assert body["error"] == "INVALID_TOKEN"
    assert words in body["message"], body["message"]
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_valid_token_of_a_member_reads_the_base(configured, world):
    user = world.users["viewer"]
    ExternalIdentity.objects.create(issuer=configured.issuer, subject="v-1", user=user)
    c = bearer(configured.token(sub="v-1"))
    response = c.get(f"/api/v2/meta/bases/{world.base.pk}")
    assert response.status_code == 200
    table = world.table("clients")
    assert c.get(f"/api/v2/tables/{table.pk}/records").status_code == 200
    # The same permission checks as for the user's session: a viewer cannot write.
    write = c.post(f"/api/v2/tables/{table.pk}/records", {"name": "x"}, format="json")
    assert write.status_code == 403


def test_ec_keys_verify_too(configured, world):
    ExternalIdentity.objects.create(
        issuer=configured.issuer, subject="o-1", user=world.users["owner"]
    )
    token = configured.keys[1].sign(configured.claims(sub="o-1"))
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    assert bearer(token).get(f"/api/v2/meta/bases/{world.base.pk}").status_code == 200


def test_a_new_subject_becomes_a_user_who_sees_nothing(configured, world):
    c = bearer(configured.token(sub="stranger", email="owner@example.com"))
    assert c.get("/api/v2/meta/bases/").json()["list"] == []
    assert c.get(f"/api/v2/meta/bases/{world.base.pk}").status_code == 404
    table = world.table("clients")
    assert c.get(f"/api/v2/tables/{table.pk}/records").status_code == 404
    link = ExternalIdentity.objects.get(issuer=configured.issuer, subject="stranger")
    # `sub` mapping never links by email, and an unverified email names no account.
    assert link.user != world.users["owner"] and link.user.email == ""
    assert not link.user.has_usable_password()
    # Once invited, the same token sees the base.
    membership_create(base=world.base, user=link.user, role="viewer")
    assert c.get(f"/api/v2/meta/bases/{world.base.pk}").status_code == 200
    assert ExternalIdentity.objects.count() == 1


def test_email_mapping_links_an_existing_account_by_verified_email(
    configured, world, settings
):
    settings.NOCO_JWT_ISSUERS = [issuer_config(configured, user_claim="email")]
    editor = world.users["editor"]
    token = configured.token(
        sub="auth0|77", email="EDITOR@example.com", email_verified=True
    )
    assert bearer(token).get(f"/api/v2/meta/bases/{world.base.pk}").status_code == 200
    assert ExternalIdentity.objects.get(subject="auth0|77").user == editor
    unverified = configured.token(
        sub="auth0|78", email="owner@example.com", email_verified=False
    )
    refused(bearer(unverified).get("/api/v2/meta/bases/"), "verified email")
    silent = configured.token(sub="auth0|79", email="owner@example.com")
    refused(bearer(silent).get("/api/v2/meta/bases/"), "verified email")
    # A provider whose tokens carry no email_verified (Supabase) may be trusted explicitly.
    settings.NOCO_JWT_ISSUERS = [
        issuer_config(configured, user_claim="email", require_email_verified=False)
    ]
    assert bearer(silent).get(f"/api/v2/meta/bases/{world.base.pk}").status_code == 200
    assert ExternalIdentity.objects.get(subject="auth0|79").user == world.users["owner"]


def test_no_new_users_when_the_issuer_may_not_create_them(configured, settings):
    settings.NOCO_JWT_ISSUERS = [issuer_config(configured, create_users=False)]
    refused(bearer(configured.token()).get("/api/v2/meta/bases/"), "No account")


def test_a_disabled_user_is_refused(configured):
    user = make_user("gone@example.com")
    user.is_active = False
    user.save()
    ExternalIdentity.objects.create(issuer=configured.issuer, subject="g", user=user)
    refused(bearer(configured.token(sub="g")).get("/api/v2/meta/bases/"), "disabled")


def test_expired_and_not_yet_valid_tokens(configured):
    now = int(time.time())
    expired = configured.token(iat=now - 7200, exp=now - 3600)
    refused(bearer(expired).get("/api/v2/meta/bases/"), "expired")
    early = configured.token(nbf=now + 3600)
    refused(bearer(early).get("/api/v2/meta/bases/"), "not valid yet")
    no_exp = configured.token(exp=None)
    refused(bearer(no_exp).get("/api/v2/meta/bases/"), "`exp`")


def test_wrong_audience_and_issuer(configured, settings):
    refused(
        bearer(configured.token(aud="another-api")).get("/api/v2/meta/bases/"),
        "audience",
    )
    refused(bearer(configured.token(aud=None)).get("/api/v2/meta/bases/"), "`aud`")
    stranger = configured.token(iss="https://evil.example.com/")
    refused(bearer(stranger).get("/api/v2/meta/bases/"), "issuer")
    # A second configured issuer's key set does not vouch for the first one's tokens.
    other = FakeIdP()
    try:
        settings.NOCO_JWT_ISSUERS = [
            issuer_config(configured),
            {**issuer_config(other), "issuer": "https://other.example/"},
        ]
        forged = other.key.sign(configured.claims(iss=configured.issuer))
        refused(bearer(forged).get("/api/v2/meta/bases/"), "unknown key")
    finally:
        other.close()


def test_wrong_key_is_refused(configured):
    impostor = Key("RSA", kid=configured.key.kid)  # same key id, another key
    refused(
        bearer(impostor.sign(configured.claims())).get("/api/v2/meta/bases/"),
        "signature",
    )
    unknown = Key("RSA")
    refused(
        bearer(unknown.sign(configured.claims())).get("/api/v2/meta/bases/"),
        "unknown key",
    )


def _unsigned(header: dict, claims: dict) -> str:
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


def test_alg_none_and_algorithm_confusion_are_refused(configured):
    none = _unsigned({"alg": "none", "kid": configured.key.kid}, configured.claims())
    refused(bearer(none).get("/api/v2/meta/bases/"), "'none'")
    # HS256 with the issuer's public RSA key as the shared secret (the classic confusion).
    pem = configured.key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forged_header = {"alg": "HS256", "typ": "JWT", "kid": configured.key.kid}
    signing = _unsigned(forged_header, configured.claims())[:-1]
    import hmac
    from hashlib import sha256

    mac = hmac.new(pem, signing.encode(), sha256).digest()
    forged = signing + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    refused(bearer(forged).get("/api/v2/meta/bases/"), "'HS256'")
    # An allowed algorithm against a key of another family (RS256 naming the EC key).
    mixed = configured.key.sign(configured.claims(), kid=configured.keys[1].kid)
    refused(bearer(mixed).get("/api/v2/meta/bases/"), "does not match its key")


def test_only_pinned_algorithms(configured, settings):
    settings.NOCO_JWT_ISSUERS = [issuer_config(configured, algorithms=["ES256"])]
    refused(bearer(configured.token()).get("/api/v2/meta/bases/"), "'RS256'")


def test_rotated_key_is_fetched_once(configured, clock, world):
    ExternalIdentity.objects.create(
        issuer=configured.issuer, subject="user-1", user=world.users["owner"]
    )
    assert bearer(configured.token()).get("/api/v2/meta/bases/").status_code == 200
    assert bearer(configured.token()).get("/api/v2/meta/bases/").status_code == 200
    assert configured.hits["/jwks"] == 1  # cached
    new = Key("RSA")
    configured.keys = [new, *configured.keys[1:]]  # the provider rotates
    clock[0] += 31  # past the refetch interval since the first fetch
    c = bearer(new.sign(configured.claims()))
    assert c.get("/api/v2/meta/bases/").status_code == 200
    assert configured.hits["/jwks"] == 2
    assert c.get("/api/v2/meta/bases/").status_code == 200
    assert configured.hits["/jwks"] == 2


def test_unknown_key_ids_refetch_at_most_once_per_interval(configured, clock):
    assert bearer(configured.token()).get("/api/v2/meta/bases/").status_code == 200
    clock[0] += 60
    for _ in range(5):
        stranger = Key("RSA")
        refused(
            bearer(stranger.sign(configured.claims())).get("/api/v2/meta/bases/"),
            "unknown key",
        )
    assert configured.hits["/jwks"] == 2  # the first fetch, then one refetch only
    clock[0] += 31
    refused(
        bearer(Key("RSA").sign(configured.claims())).get("/api/v2/meta/bases/"),
        "unknown key",
    )
    assert configured.hits["/jwks"] == 3


def test_jwks_down_is_a_clear_401(configured, clock):
    configured.down = True
    response = bearer(configured.token()).get("/api/v2/meta/bases/")
    refused(response, "could not be fetched")
    # Not asked again at every request while it is down.
    refused(bearer(configured.token()).get("/api/v2/meta/bases/"), "could not be")
    assert configured.hits["/jwks"] == 1
    configured.down = False
    clock[0] += 31
    assert bearer(configured.token()).get("/api/v2/meta/bases/").status_code == 200


def test_jwks_unreachable_or_hanging_is_a_clear_401(configured, clock):
    configured.hang = 2  # longer than NOCO_JWT_JWKS_TIMEOUT (0.5 s)
    started = time.monotonic()
    refused(bearer(configured.token()).get("/api/v2/meta/bases/"), "could not be")
    assert time.monotonic() - started < 1.8
    configured.hang = 0
    configured.close()  # connection refused
    clock[0] += 31
    refused(bearer(configured.token()).get("/api/v2/meta/bases/"), "could not be")


def test_cached_keys_outlive_an_outage(configured, clock, settings):
    assert bearer(configured.token()).get("/api/v2/meta/bases/").status_code == 200
    configured.down = True
    clock[0] += settings.NOCO_JWT_JWKS_TTL + 1
    assert bearer(configured.token()).get("/api/v2/meta/bases/").status_code == 200
    assert configured.hits["/jwks"] == 2  # tried, failed, kept the keys


def test_api_tokens_still_work_beside_jwts(configured, api):
    assert api.get("/api/v2/meta/bases/").status_code == 200
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION="Bearer nc_not-a-jwt")
    assert c.get("/api/v2/meta/bases/").json()["message"].startswith("Invalid or")


def test_without_issuers_a_jwt_is_just_an_invalid_api_token(idp):
    response = bearer(idp.token()).get("/api/v2/meta/bases/")
    assert response.status_code == 401
    assert idp.hits.get("/jwks") is None


def test_large_bodies_are_refused_before_reading_unless_the_jwt_is_valid(configured):
    """nocoplatform.asgi_guard asks credentials_refusal before reading a large body."""
    meta = {"HTTP_AUTHORIZATION": f"Bearer {configured.token()}"}
    assert credentials_refusal(meta, None) is None
    bad = {"HTTP_AUTHORIZATION": f"Bearer {configured.token(aud='x')}"}
    code, message = credentials_refusal(bad, None)
    assert code == "INVALID_TOKEN" and "audience" in message


@pytest.mark.parametrize(
    "change, words",
    [
        ({"algorithms": ["HS256"]}, "not allowed"),
        ({"algorithms": ["none"]}, "not allowed"),
        ({"jwks_url": "http://idp.example.com/jwks"}, "https"),
        ({"audience": ""}, "audience"),
        ({"user_claim": "name"}, "user_claim"),
        ({"colour": "blue"}, "unknown keys"),
    ],
)
def test_configuration_mistakes_stop_the_start(change, words):
    item = {
        "issuer": "https://idp.example.com/",
        "audience": "api",
        "jwks_url": "https://idp.example.com/jwks",
        **change,
    }
    with pytest.raises(ImproperlyConfigured, match=words):
        jwt_auth.parse_issuer(item)


def test_issuers_from_the_environment(monkeypatch):
    from nocoplatform import env

    monkeypatch.setenv("NOCO_JWT_ISSUERS", '[{"issuer": "https://x/"}]')
    assert env.get_json_list("NOCO_JWT_ISSUERS") == [{"issuer": "https://x/"}]
    monkeypatch.setenv("NOCO_JWT_ISSUERS", "{not json")
    with pytest.raises(ImproperlyConfigured):
        env.get_json_list("NOCO_JWT_ISSUERS")


@override_settings(NOCO_JWT_ISSUERS=[])
def test_openapi_documents_the_jwt_scheme(api):
    doc = api.get("/api/v2/meta/openapi.json").json()
    scheme = doc["components"]["securitySchemes"]["externalJwt"]
    assert scheme["bearerFormat"] == "JWT"


def test_me_says_which_identity(configured, world):
    ExternalIdentity.objects.create(
        issuer=configured.issuer, subject="who", user=world.users["editor"]
    )
    me = bearer(configured.token(sub="who")).get("/api/v2/auth/me").json()
    assert me == {
        "id": world.users["editor"].pk,
        "username": "editor@example.com",
        "email": "editor@example.com",
        "via": "jwt",
        "issuer": configured.issuer,
        "subject": "who",
    }


def test_system_check_reports_a_bad_configuration(settings):
    from permissions.apps import external_identity_settings

    settings.NOCO_JWT_ISSUERS = [{"issuer": "https://x/", "algorithms": ["HS256"]}]
    settings.NOCO_OIDC_PROVIDERS = [{"name": "x"}]
    errors = external_identity_settings()
    assert [e.id for e in errors] == ["permissions.E101", "permissions.E102"]
    settings.NOCO_JWT_ISSUERS = []
    settings.NOCO_OIDC_PROVIDERS = []
    assert external_identity_settings() == []
