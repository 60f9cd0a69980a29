"""Members, invites and escalation attempts."""

import pytest
from django.core import mail
from rest_framework.test import APIClient

from bases.services import base_create
from permissions.checks import Actor
from permissions.models import Invite, Membership
from tests.permissions.conftest import make_user, session_client, token_client

pytestmark = pytest.mark.django_db


def users_url(w, tail=""):
    return f"/api/v2/meta/bases/{w.base.pk}/users{tail}"


def role(w, who):
    return Membership.objects.get(base=w.base, user=w.users[who]).role


def test_members_list_shows_roles_to_members_only(world):
    w = world
    listed = token_client(w.tokens["viewer"]).get(users_url(w)).json()["users"]["list"]
    assert {m["email"]: m["roles"] for m in listed}["editor@example.com"] == "editor"
    assert token_client(w.tokens["outsider"]).get(users_url(w)).status_code == 404


def test_owner_invites_and_the_link_joins_on_sign_up(
    world, client, django_capture_on_commit_callbacks
):
    w = world
    with django_capture_on_commit_callbacks(execute=True):
        r = token_client(w.tokens["owner"]).post(
            users_url(w), {"email": "New@Example.com", "roles": "editor"}, format="json"
        )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["email"] == "new@example.com" and body["roles"] == "editor"
    assert body["email_sent"] is True  # the test settings have an email backend
    assert body["invite_url"] in mail.outbox[0].body
    link = body["invite_url"].replace("http://testserver", "")
    invite = Invite.objects.get()
    assert link.split("/")[-2] not in invite.token_hash  # stored hashed
    page = client.get(link)
    assert page.status_code == 200 and b"Sign up to join" in page.content
    signup = client.post(
        f"/signup/?next={link}",
        {
            "email": "new@example.com",
            "password1": "a-long-pass-123",
            "password2": "a-long-pass-123",
            "next": link,
        },
    )
    # Sign-up sends to the login page (whether or not the address had an account), which
    # leads back to the invite.
    assert signup.status_code == 302 and signup["Location"].startswith("/login/")
    login = client.post(
        signup["Location"],
        {"username": "new@example.com", "password": "a-long-pass-123", "next": link},
    )
    assert login.status_code == 302 and login["Location"] == link
    joined = client.post(link)
    assert joined.status_code == 302
    assert (
        Membership.objects.get(base=w.base, user__email="new@example.com").role
        == "editor"
    )
    # A used link does not work twice.
    assert client.get(link).status_code == 404


def test_invite_needs_the_invited_email(world):
    w = world
    r = token_client(w.tokens["owner"]).post(
        users_url(w), {"email": "someone@example.com", "roles": "viewer"}, format="json"
    )
    link = r.json()["invite_url"].replace("http://testserver", "")
    other = session_client(w.users["outsider"])
    r = other.post(link)
    assert r.status_code == 200 and b"sign in with that address" in r.content
    assert not Membership.objects.filter(base=w.base, user=w.users["outsider"]).exists()


def test_invite_link_is_shown_when_no_email_backend(world, settings):
    w = world
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    web = session_client(w.users["owner"])
    r = web.post(
        f"/bases/{w.base.pk}/members/",
        {"action": "invite", "email": "shown@example.com", "role": "viewer"},
        follow=True,
    )
    page = r.content.decode()
    assert "shown@example.com" in page and "/invites/" in page
    assert not mail.outbox


def test_creator_invites_up_to_creator_only(world):
    w = world
    c = token_client(w.tokens["creator"])
    assert (
        c.post(
            users_url(w), {"email": "a@example.com", "roles": "creator"}, format="json"
        ).status_code
        == 201
    )
    r = c.post(
        users_url(w), {"email": "b@example.com", "roles": "owner"}, format="json"
    )
    assert r.status_code == 403 and r.json()["error"] == "ROLE_TOO_HIGH"
    assert not Invite.objects.filter(email="b@example.com").exists()
    for who in ("editor", "commenter", "viewer"):
        r = token_client(w.tokens[who]).post(
            users_url(w),
            {"email": f"{who}x@example.com", "roles": "viewer"},
            format="json",
        )
        assert r.status_code == 403
    assert Invite.objects.count() == 1


def test_nobody_raises_themselves(world):
    w = world
    for who in ("editor", "creator", "viewer"):
        r = token_client(w.tokens[who]).patch(
            users_url(w, f"/{w.users[who].pk}"), {"roles": "owner"}, format="json"
        )
        assert r.status_code == 403, who
        assert role(w, who) == who
    # Nor through a table override.
    r = token_client(w.tokens["editor"]).post(
        f"/api/v2/meta/tables/{w.table('clients').pk}/roles",
        {"user_id": w.users["editor"].pk, "roles": "creator"},
        format="json",
    )
    assert r.status_code == 403
    # Nor with a read-only owner token.
    r = token_client(w.tokens["readonly"]).patch(
        users_url(w, f"/{w.users['editor'].pk}"), {"roles": "owner"}, format="json"
    )
    assert r.status_code == 403 and role(w, "editor") == "editor"


def test_owner_changes_roles_and_removes_members(world):
    w = world
    c = token_client(w.tokens["owner"])
    assert (
        c.patch(
            users_url(w, f"/{w.users['viewer'].pk}"), {"roles": "editor"}, format="json"
        ).status_code
        == 200
    )
    assert role(w, "viewer") == "editor"
    assert c.delete(users_url(w, f"/{w.users['commenter'].pk}")).status_code == 200
    assert not Membership.objects.filter(
        base=w.base, user=w.users["commenter"]
    ).exists()
    # Their token no longer reaches the base.
    assert (
        token_client(w.tokens["commenter"])
        .get(f"/api/v2/meta/bases/{w.base.pk}")
        .status_code
        == 404
    )
    # Unknown role is a 400 naming the roles.
    r = c.patch(
        users_url(w, f"/{w.users['viewer'].pk}"), {"roles": "boss"}, format="json"
    )
    assert r.status_code == 400 and "owner" in r.json()["message"]


def test_last_owner_cannot_be_removed_or_demoted(world):
    w = world
    owner_id = w.users["owner"].pk
    c = token_client(w.tokens["owner"])
    r = c.patch(users_url(w, f"/{owner_id}"), {"roles": "creator"}, format="json")
    assert r.status_code == 409 and r.json()["error"] == "LAST_OWNER"
    r = c.delete(users_url(w, f"/{owner_id}"))
    assert r.status_code == 409
    assert role(w, "owner") == "owner"
    # With a second owner, the first may step down.
    c.patch(
        users_url(w, f"/{w.users['creator'].pk}"), {"roles": "owner"}, format="json"
    )
    assert (
        c.patch(
            users_url(w, f"/{owner_id}"), {"roles": "creator"}, format="json"
        ).status_code
        == 200
    )
    # ... and now cannot raise themselves back.
    r = c.patch(users_url(w, f"/{owner_id}"), {"roles": "owner"}, format="json")
    assert r.status_code == 403


def test_members_can_leave(world):
    w = world
    c = session_client(w.users["viewer"])
    assert c.delete(users_url(w, f"/{w.users['viewer'].pk}")).status_code == 200
    assert c.get(f"/api/v2/meta/bases/{w.base.pk}").status_code == 404


def test_ids_from_another_base_are_404(world):
    """IDOR: the owner of another base uses ids of this one through their own base's URLs."""
    w = world
    intruder = make_user("intruder@example.com")
    mine = base_create(actor=Actor(user=intruder), title="Mine")
    c = session_client(intruder)
    t = w.table("clients")
    email = w.field("clients", "email")
    for method, url, body in [
        ("get", f"/api/v2/meta/bases/{mine.pk}/users/{w.users['owner'].pk}", None),
        (
            "patch",
            f"/api/v2/meta/bases/{mine.pk}/users/{w.users['owner'].pk}",
            {"roles": "viewer"},
        ),
        ("delete", f"/api/v2/meta/bases/{mine.pk}/users/{w.users['owner'].pk}", None),
        ("get", f"/api/v2/tables/{t.pk}/records", None),
        ("get", f"/api/v2/tables/{t.pk}/records/1/comments", None),
        ("post", f"/api/v2/tables/{t.pk}/records/1/comments", {"comment": "hi"}),
        ("get", f"/api/v2/meta/tables/{t.pk}/roles", None),
        (
            "put",
            f"/api/v2/meta/columns/{email.pk}/permissions",
            {"hidden_below": "viewer"},
        ),
        ("get", f"/bases/{mine.pk}/tables/{t.pk}/", None),
        ("get", f"/bases/{mine.pk}/tables/{t.pk}/rows/1/comments", None),
    ]:
        r = (
            getattr(c, method)(url, body, format="json")
            if body
            else getattr(c, method)(url)
        )
        assert r.status_code in (404, 405), (method, url, r.status_code)
    # Moving a table override or field rule into their base through the page: 404 too.
    r = c.post(
        f"/bases/{mine.pk}/members/",
        {"action": "field_rule", "field_id": email.pk, "hidden_below": "viewer"},
    )
    assert r.status_code == 404
    assert Membership.objects.filter(base=w.base).count() == 5


def test_members_page_shows_controls_by_role(world):
    w = world
    owner_page = (
        session_client(w.users["owner"])
        .get(f"/bases/{w.base.pk}/members/")
        .content.decode()
    )
    assert 'id="invite-form"' in owner_page and "Table overrides" in owner_page
    creator_page = (
        session_client(w.users["creator"])
        .get(f"/bases/{w.base.pk}/members/")
        .content.decode()
    )
    assert 'id="invite-form"' in creator_page and "Table overrides" not in creator_page
    assert (
        '<option value="owner"'
        not in creator_page.split('id="invite-form"')[1].split("</form>")[0]
    )
    viewer_page = (
        session_client(w.users["viewer"])
        .get(f"/bases/{w.base.pk}/members/")
        .content.decode()
    )
    assert 'id="invite-form"' not in viewer_page and "<select" not in viewer_page
    assert APIClient().get(f"/bases/{w.base.pk}/members/").status_code == 302


def test_bad_ids_are_400_not_500(world):
    w = world
    c = token_client(w.tokens["owner"])
    for body in (
        {"user_id": "abc", "roles": "viewer"},
        {"user_id": None, "roles": "viewer"},
        {"roles": "viewer"},
    ):
        r = c.post(
            f"/api/v2/meta/tables/{w.table('clients').pk}/roles", body, format="json"
        )
        assert r.status_code == 400, (body, r.content)
    web = session_client(w.users["owner"])
    r = web.post(
        f"/bases/{w.base.pk}/members/", {"action": "revoke_invite", "invite_id": "x"}
    )
    assert r.status_code == 200 and b"invite_id" in r.content
    r = web.post(
        f"/bases/{w.base.pk}/members/",
        {"action": "role", "user_id": "1e9", "role": "viewer"},
    )
    assert r.status_code == 200 and b"user_id" in r.content
    r = c.post(users_url(w), ["not", "an", "object"], format="json")
    assert r.status_code == 400


def test_existing_account_joins_by_logging_in(world, client):
    w = world
    r = token_client(w.tokens["owner"]).post(
        users_url(w),
        {"email": "outsider@example.com", "roles": "commenter"},
        format="json",
    )
    link = r.json()["invite_url"].replace("http://testserver", "")
    page = client.get(link).content.decode()
    assert f"/login/?next={link}" in page
    logged_in = client.post(
        f"/login/?next={link}",
        {"username": "outsider@example.com", "password": "pw-12345-xyz", "next": link},
    )
    assert logged_in.status_code == 302 and logged_in["Location"] == link
    assert client.post(link).status_code == 302
    assert (
        Membership.objects.get(base=w.base, user=w.users["outsider"]).role
        == "commenter"
    )
