"""Who is calling, and how to sign in: for apps on other origins (docs/integration.md)."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from permissions import oidc
from permissions.jwt_auth import ExternalToken
from permissions.models import ApiToken


class AuthProvidersApi(APIView):
    authentication_classes: list = []  # public: a stale token must not hide the list
    permission_classes = [AllowAny]

    @extend_schema(
        summary="The OpenID Connect providers one can sign in with",
        description="Each item's `login_url` starts the browser sign-in (authorization "
        "code with PKCE); after it the browser holds a session on this site.",
        responses={200: dict},
        tags=["Auth"],
        auth=[],
    )
    def get(self, request: Request) -> Response:
        return Response(
            {
                "list": [
                    {
                        "name": p.name,
                        "label": p.label,
                        "login_url": reverse("oidc_login", args=[p.name]),
                    }
                    for p in oidc.providers().values()
                ]
            }
        )


class MeApi(APIView):
    @extend_schema(
        summary="The user this request acts as, and by which credentials",
        description="`via` is `session`, `api_token` or `jwt` (an identity provider's "
        "token: `issuer` and `subject` say whose).",
        responses={200: dict},
        tags=["Auth"],
    )
    def get(self, request: Request) -> Response:
        user, auth = request.user, request.auth
        out = {"id": user.pk, "username": user.get_username(), "email": user.email}
        if isinstance(auth, ExternalToken):
            out |= {"via": "jwt", "issuer": auth.issuer, "subject": auth.subject}
        elif isinstance(auth, ApiToken):
            out |= {"via": "api_token", "token_id": auth.pk}
        else:
            out["via"] = "session"
        return Response(out)
