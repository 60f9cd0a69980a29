"""Pages as a user meets them: login, sign-up, home, new base, table, settings, tokens."""

import pytest
from django.test import override_settings

from bases.models import Base
from bases.services import base_create
from permissions.checks import Actor
from permissions.models import ApiToken

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response.url.startswith("/login/")
    page = client.get("/login/")
    assert page.status_code == 200 and b"Log in" in page.content


def test_login_with_email_and_wrong_password_message(client, user):
    bad = client.post("/login/", {"username": user.username, "password": "wrong"})
    assert bad.status_code == 200 and b"correct" in bad.content
    assert user.username.encode() in bad.content  # typed value kept
    good = client.post(
        "/login/", {"username": user.username, "password": "pw-ada-12345"}
    )
    assert good.status_code == 302 and good.url == "/"


def test_signup_creates_account_then_login(client):
    response = client.post(
        "/signup/",
        {
            "email": "new@example.com",
            "password1": "a-long-pass-9876",
            "password2": "a-long-pass-9876",
        },
    )
    # To the login page, as for an address that has an account (tests/views/test_sign_up.py).
    assert response.status_code == 302 and response.url.startswith("/login/")
    login = client.post(
        "/login/", {"username": "new@example.com", "password": "a-long-pass-9876"}
    )
    assert login.status_code == 302
    assert client.get("/").status_code == 200


def test_signup_keeps_typed_email_on_error(client):
    response = client.post(
        "/signup/",
        {
            "email": "new@example.com",
            "password1": "a-long-pass-9876",
            "password2": "different-9876",
        },
    )
    assert response.status_code == 200
    assert b'value="new@example.com"' in response.content


@override_settings(NOCO_SIGNUP_ENABLED=False)
def test_signup_can_be_switched_off(client):
    assert client.get("/signup/").status_code == 404
    assert b"Sign up" not in client.get("/login/").content


def test_home_lists_only_my_bases(web, user, other_user):
    base_create(actor=Actor(user=user), title="Mine")
    base_create(actor=Actor(user=other_user), title="Secret of Bob")
    page = web.get("/").content.decode()
    assert "Mine" in page and "Secret of Bob" not in page


def test_new_base_from_scratch_then_table_and_field(web):
    response = web.post(
        "/bases/new/", {"title": "Shop", "mode": "scratch", "allow_data_edit": "on"}
    )
    assert response.status_code == 302
    base = Base.objects.get(title="Shop")
    response = web.post(f"/bases/{base.pk}/", {"title": "Orders"})
    assert response.status_code == 302
    table = base.tables.get(title="Orders")
    response = web.post(
        f"/bases/{base.pk}/tables/{table.pk}/", {"title": "Total", "uidt": "Currency"}
    )
    assert response.status_code == 302
    page = web.get(f"/bases/{base.pk}/tables/{table.pk}/").content.decode()
    assert "Total" in page and "Currency" in page


def test_new_base_connection_error_is_shown_with_input_kept(web):
    response = web.post(
        "/bases/new/",
        {
            "title": "Remote",
            "mode": "url",
            "url": "postgresql://me:hunter2@127.0.0.1:1/app",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Connection refused" in page
    assert 'value="Remote"' in page
    assert not Base.objects.filter(title="Remote").exists()


def test_connection_test_partial(web, tmp_path):
    response = web.post(
        "/bases/connection-test",
        {
            "title": "x",
            "mode": "fields",
            "kind": "sqlite3",
            "path": str(tmp_path / "nope.db"),
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert (
        b"No SQLite file" in response.content
        and b"UNKNOWN_DATABASE" in response.content
    )


def test_other_users_base_pages_are_404(web, other_user):
    theirs = base_create(actor=Actor(user=other_user), title="Theirs")
    for url in (
        f"/bases/{theirs.pk}/",
        f"/bases/{theirs.pk}/settings/",
        f"/bases/{theirs.pk}/sync/",
    ):
        assert web.get(url).status_code == 404, url


def test_settings_page_never_shows_password(web, user, sqlite_db):
    sqlite_db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
    response = web.post(
        "/bases/new/",
        {"title": "Ext", "mode": "url", "url": sqlite_db.url, "allow_data_edit": "on"},
    )
    assert response.status_code == 302, response.content
    base = Base.objects.get(title="Ext")
    page = web.get(f"/bases/{base.pk}/settings/").content.decode()
    assert "Data source" in page
    response = web.post(f"/bases/{base.pk}/settings/", {"allow_data_edit": ""})
    assert response.status_code == 302
    assert base.sources.get().allow_data_edit is False
    diff = web.get(f"/bases/{base.pk}/sync/", HTTP_HX_REQUEST="true").content.decode()
    assert "matches the database" in diff


def test_tokens_page_shows_secret_once(web, user):
    response = web.post("/account/tokens/", {"name": "laptop"})
    page = response.content.decode()
    assert "will not be shown again" in page
    token = ApiToken.objects.get(user=user)
    secret = page.split('id="new-token">')[1].split("<")[0]
    assert secret.startswith("nc_")
    again = web.get("/account/tokens/").content.decode()
    assert secret not in again and token.prefix in again
    web.post(f"/account/tokens/{token.pk}/revoke")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_password_change(web, user):
    response = web.post(
        "/account/password/",
        {
            "old_password": "pw-ada-12345",
            "new_password1": "n3w-secret-pass!",
            "new_password2": "n3w-secret-pass!",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("n3w-secret-pass!")
