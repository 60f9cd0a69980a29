"""Signing in: wrong passwords are limited per account and per address (django-axes), and
every page that checks a password counts towards the same limits."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client

from permissions.services import api_token_create

pytestmark = pytest.mark.django_db
RIGHT = "pw-ada-12345"


def login(client, username, password="wrong-password", **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


@pytest.fixture
def limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    return 3


def test_wrong_passwords_lock_the_account_with_a_page_saying_when(client, user, limit):
    for _ in range(limit - 1):
        assert login(client, user.username).status_code == 200
    locked = login(client, user.username)
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many failed sign-ins" in page and "Try again after" in page
    assert 0 < int(locked["Retry-After"]) <= 15 * 60
    # Even the right password now waits, from this address and from any other.
    assert login(client, user.username, RIGHT).status_code == 429
    elsewhere = Client(REMOTE_ADDR="198.51.100.20")
    assert login(elsewhere, user.username, RIGHT).status_code == 429
    # Another account from another address is not affected.
    assert login(elsewhere, "bob@example.com").status_code == 200


def test_one_address_trying_many_accounts_is_locked(client, user, limit):
    c = Client(REMOTE_ADDR="198.51.100.30")
    for n in range(limit - 1):
        assert login(c, f"guess{n}@example.com").status_code == 200
    assert login(c, "guess-last@example.com").status_code == 429
    assert login(c, user.username, RIGHT).status_code == 429
    # The account itself is fine from elsewhere.
    assert login(client, user.username, RIGHT).status_code == 302


def test_rotating_addresses_do_not_escape_the_account_limit(user, limit):
    for n in range(limit):
        login(Client(REMOTE_ADDR=f"198.51.100.{n + 1}"), user.username)
    assert (
        login(Client(REMOTE_ADDR="203.0.113.1"), user.username, RIGHT).status_code
        == 429
    )


def test_case_and_spaces_are_the_same_account(user, limit):
    variants = ["ADA@example.com", " ada@EXAMPLE.com", "Ada@Example.Com "]
    for n, name in enumerate(variants):
        login(Client(REMOTE_ADDR=f"198.51.100.{n + 1}"), name)
    assert (
        login(Client(REMOTE_ADDR="203.0.113.1"), user.username, RIGHT).status_code
        == 429
    )


def test_forwarded_for_is_not_an_escape_without_trusted_proxies(user, limit, settings):
    settings.NOCO_TRUSTED_PROXIES = []
    c = Client(REMOTE_ADDR="127.0.0.1")
    for n in range(limit):
        login(c, f"guess{n}@example.com", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert (
        login(c, user.username, RIGHT, HTTP_X_FORWARDED_FOR="203.0.113.77").status_code
        == 429
    )


def test_the_lock_ends_after_the_cool_off(client, user, limit):
    from axes.models import AccessAttempt

    for _ in range(limit):
        login(client, user.username)
    assert login(client, user.username, RIGHT).status_code == 429
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.first().attempt_time - timedelta(minutes=16)
    )
    assert login(client, user.username, RIGHT).status_code == 302


def test_an_admin_lifts_the_lock(client, user, limit):
    for _ in range(limit):
        login(client, user.username)
    assert login(client, user.username, RIGHT).status_code == 429
    call_command("axes_reset_username", user.username)
    assert login(client, user.username, RIGHT).status_code == 302


def test_success_does_not_wipe_an_address_count(client, user, other_user, limit):
    """Logging into one's own account must not reset the count of guesses at others."""
    c = Client(REMOTE_ADDR="198.51.100.40")
    for n in range(limit - 1):
        login(c, f"guess{n}@example.com")
    assert login(c, other_user.username, "pw-bob-12345").status_code == 302
    c.logout()
    assert login(c, "guess-again@example.com").status_code == 429


def test_api_tokens_keep_working_while_the_password_is_locked(client, user, limit):
    _, raw = api_token_create(user=user, name="ci")
    for _ in range(limit):
        login(client, user.username)
    assert login(client, user.username, RIGHT).status_code == 429
    api = Client(HTTP_XC_TOKEN=raw)
    assert api.get("/api/v2/meta/bases/").status_code == 200


def test_password_change_counts_wrong_old_passwords(web, user, limit):
    def change(old):
        return web.post(
            "/account/password/",
            {
                "old_password": old,
                "new_password1": "n3w-pass-987!",
                "new_password2": "n3w-pass-987!",
            },
        )

    for _ in range(limit - 1):
        assert change("wrong").status_code == 200
    assert change("wrong").status_code == 429
    # Locked: the right old password is refused too, and so is the login page.
    assert change(RIGHT).status_code == 429
    user.refresh_from_db()
    assert user.check_password(RIGHT)
    assert (
        login(Client(REMOTE_ADDR="203.0.113.5"), user.username, RIGHT).status_code
        == 429
    )


def test_one_right_password_change_still_works(web, user, limit):
    response = web.post(
        "/account/password/",
        {
            "old_password": RIGHT,
            "new_password1": "n3w-pass-987!",
            "new_password2": "n3w-pass-987!",
        },
    )
    assert response.status_code == 302


def test_the_admin_login_shares_the_limits(client, user, limit):
    user.is_staff = True
    user.save()
    for _ in range(limit - 1):
        response = client.post(
            "/admin/login/", {"username": user.username, "password": "wrong"}
        )
        assert response.status_code == 200
    assert (
        client.post(
            "/admin/login/", {"username": user.username, "password": "wrong"}
        ).status_code
        == 429
    )
    assert (
        login(Client(REMOTE_ADDR="203.0.113.9"), user.username, RIGHT).status_code
        == 429
    )
