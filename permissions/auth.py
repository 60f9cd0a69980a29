"""API token authentication: `xc-token: <token>` (NocoDB's header) or `Authorization: Bearer`."""

from django.utils import timezone
from rest_framework import authentication, exceptions

from permissions.models import ApiToken, hash_token


def token_from_headers(request) -> str | None:
    raw = request.META.get("HTTP_XC_TOKEN")
    if raw:
        return raw.strip()
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _token_and_user(token_hash: str):
    """One query for the token and its user (this runs on every API request)."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=token_hash, revoked_at__isnull=True)
        .first()
    )
    return (token, token.user) if token is not None else (None, None)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        raw = token_from_headers(request)
        if raw is None:
            return None
        token, user = _token_and_user(hash_token(raw))
        if token is None or not user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        now = timezone.now()
        # Write last_used_at at most once a minute: no write on every request.
        if (
            token.last_used_at is None
            or (now - token.last_used_at).total_seconds() > 60
        ):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
