"""Signing up answers the same whether or not the address has an account already."""

import re
from urllib.parse import quote

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-pass-9876"


def signup(email, client=None, next_url=""):
    client = client or Client()
    data = {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    if next_url:
        data["next"] = next_url
    response = client.post("/signup/", data)
    return client, response


def _text(content: bytes, email: str) -> str:
    """A page with the address and the (per-visitor) CSRF tokens blanked."""
    return re.sub(r"[A-Za-z0-9]{64}", "TOKEN", content.decode().replace(email, "EMAIL"))


def _visible(client, response, email):
    """What the visitor sees: status, where they are sent and the page there."""
    assert response.status_code == 302
    page = client.get(response["Location"])
    return (
        response["Location"].replace(quote(email, safe=""), "EMAIL"),
        page.status_code,
        _text(page.content, email),
    )


def test_existing_and_new_addresses_get_the_same_answer(user):
    existing_client, existing = signup(user.email)
    new_client, new = signup("fresh@example.com")
    assert _visible(existing_client, existing, user.email) == _visible(
        new_client, new, "fresh@example.com"
    )
    # Case does not matter either.
    assert _visible(*signup("ADA@Example.com"), "ada@example.com") == _visible(
        *signup("other@example.com"), "other@example.com"
    )


def test_existing_account_is_left_alone(user, django_user_model):
    signup(user.email)
    user.refresh_from_db()
    assert user.check_password("pw-ada-12345") and not user.check_password(PASSWORD)
    assert django_user_model.objects.filter(email__iexact=user.email).count() == 1


def test_signup_does_not_sign_in_and_the_new_account_logs_in(django_user_model):
    client, response = signup("new@example.com", next_url="/bases/new/")
    assert response["Location"].startswith("/login/")
    assert client.get("/").status_code == 302  # not signed in by the sign-up itself
    page = client.get(response["Location"]).content.decode()
    assert "log in with it" in page and 'value="new@example.com"' in page
    login = client.post(
        response["Location"],
        {"username": "new@example.com", "password": PASSWORD, "next": "/bases/new/"},
    )
    assert login.status_code == 302 and login["Location"] == "/bases/new/"
    assert django_user_model.objects.get(email="new@example.com").username == (
        "new@example.com"
    )


def test_an_address_used_as_a_username_counts_as_taken(django_user_model):
    django_user_model.objects.create_user(
        username="admin@example.com", password="pw-x-12345"
    )
    _, response = signup("admin@example.com")
    assert response.status_code == 302
    assert (
        django_user_model.objects.filter(username__iexact="admin@example.com").count()
        == 1
    )


class CountingHasher(MD5PasswordHasher):
    """MD5 (the test hasher), counting how often a password is hashed."""

    algorithm = "md5"
    calls = 0

    def encode(self, password, salt):
        CountingHasher.calls += 1
        return super().encode(password, salt)


def test_both_answers_hash_a_password(user, settings):
    """The existing-address path does the same slow work as creating an account, so the
    time taken does not tell the two apart."""
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    CountingHasher.calls = 0
    signup("someone-new@example.com")
    new_calls, CountingHasher.calls = CountingHasher.calls, 0
    signup(user.email)
    assert new_calls == CountingHasher.calls == 1


def test_form_errors_are_the_same_for_both(user):
    data = {"password1": PASSWORD, "password2": "different-9876"}
    a = Client().post("/signup/", {**data, "email": user.email})
    b = Client().post("/signup/", {**data, "email": "nobody@example.com"})
    assert a.status_code == b.status_code == 200
    assert _text(a.content, user.email) == _text(b.content, "nobody@example.com")
