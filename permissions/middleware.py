"""`request.actor`: who a request acts for, set once for every view.

The actor is resolved on first access (a lazy object), so a request that never asks costs
nothing more than before, and an API view asks after DRF has authenticated it: DRF copies the
authenticated user and token onto the Django request, so the actor carries the API token
that narrows its user's rights. A page request acts for the session user (anonymous when
nobody is signed in). Views type their request as `HtmxHttpRequest` (django-htmx's
suggested annotation, with `actor` added).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject
from django_htmx.middleware import HtmxDetails

from permissions.checks import Actor, actor_from_request


class HtmxHttpRequest(HttpRequest):
    """A request that passed django-htmx's HtmxMiddleware and ActorMiddleware."""

    actor: Actor
    htmx: HtmxDetails


def lazy_actor(request: HttpRequest) -> Actor:
    """The request's actor, built from its user and API token when first used."""
    return SimpleLazyObject(lambda: actor_from_request(request))  # type: ignore[return-value]


class ActorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.actor = lazy_actor(request)
        return self.get_response(request)
