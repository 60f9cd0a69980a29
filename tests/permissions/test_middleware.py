"""request.actor (permissions/middleware.py): lazy, the session user on pages, the token's
user and token on API views (both through the browser middleware and the token fast path)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory

from permissions.checks import Actor
from permissions.middleware import ActorMiddleware
from permissions.services import api_token_create
from tests.permissions.conftest import make_user, session_client, token_client


def test_actor_is_built_on_first_use_from_the_request_user():
    seen = {}

    def view(request):
        seen["before"] = request.__dict__["actor"]._wrapped
        request.user = AnonymousUser()  # set after the middleware ran: still used
        seen["actor"] = request.actor
        return HttpResponse()

    ActorMiddleware(view)(RequestFactory().get("/"))
    from django.utils.functional import empty

    assert seen["before"] is empty
    assert isinstance(seen["actor"], Actor)
    assert seen["actor"].token is None and not seen["actor"].is_authenticated


@pytest.mark.django_db
def test_pages_act_for_the_session_user(world):
    # A viewer's members page shows the base to them (their role), an outsider's is 404.
    url = f"/bases/{world.base.pk}/members/"
    assert session_client(world.users["viewer"]).get(url).status_code == 200
    assert session_client(world.users["outsider"]).get(url).status_code == 404


@pytest.mark.django_db
def test_api_views_act_with_the_token(world):
    """A read-only token narrows its user on request.actor: its owner may create a view over
    the session, not with the token."""
    url = f"/api/v2/meta/tables/{next(iter(world.tables.values())).pk}/views"
    client = token_client(world.tokens["readonly"])
    assert client.get(url).status_code == 200
    r = client.post(url, {"title": "by token", "type": "grid"}, format="json")
    assert r.status_code == 403
    owner = session_client(world.users["owner"])
    r = owner.post(url, {"title": "by session", "type": "grid"}, format="json")
    assert r.status_code == 201


@pytest.mark.django_db
def test_a_token_user_is_not_the_session_user(world):
    """A token sent with another user's session acts for the token's user."""
    _, raw = api_token_create(user=make_user("solo@example.com"), name="solo")
    client = token_client(raw)
    client.force_login(world.users["owner"])
    url = f"/api/v2/meta/tables/{next(iter(world.tables.values())).pk}/views"
    assert client.get(url).status_code == 404
