"""API tokens over REST: list, create (secret shown once), revoke."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bases import selectors
from nocoplatform.errors import Forbidden, InvalidInput
from permissions.checks import actor_from_request
from permissions.models import ApiToken
from permissions.services import api_token_create, api_token_revoke


def token_json(token: ApiToken) -> dict:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "base_id": token.base_id,
        "read_only": token.read_only,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "revoked": token.revoked_at is not None,
    }


class TokenListApi(APIView):
    @extend_schema(
        summary="Your API tokens (never their secrets)",
        responses={200: dict},
        tags=["Tokens"],
    )
    def get(self, request: Request) -> Response:
        tokens = ApiToken.objects.filter(user=request.user, revoked_at__isnull=True)
        return Response({"list": [token_json(t) for t in tokens]})

    @extend_schema(
        summary="Create an API token; the answer carries the secret this once",
        request=dict,
        responses={201: dict},
        tags=["Tokens"],
    )
    def post(self, request: Request) -> Response:
        actor = actor_from_request(request)
        if actor.token is not None:
            raise Forbidden("API tokens cannot create other tokens; use the web app.")
        data = request.data if isinstance(request.data, dict) else {}
        base = None
        if data.get("base_id"):
            base = selectors.base_get(actor=actor, base_id=str(data["base_id"]))
        read_only = data.get("read_only", False)
        if not isinstance(read_only, bool):
            raise InvalidInput("`read_only` must be true or false.")
        token, raw = api_token_create(
            user=request.user, name=data.get("name", ""), base=base, read_only=read_only
        )
        return Response(token_json(token) | {"token": raw}, status=201)


class TokenDetailApi(APIView):
    @extend_schema(
        summary="Revoke an API token", responses={200: dict}, tags=["Tokens"]
    )
    def delete(self, request: Request, token_id: int) -> Response:
        actor = actor_from_request(request)
        if actor.token is not None and actor.token.pk != token_id:
            raise Forbidden("API tokens can only revoke themselves.")
        api_token_revoke(user=request.user, token_id=token_id)
        return Response({"revoked": True})
