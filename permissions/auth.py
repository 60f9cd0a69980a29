"""API token authentication: `xc-token: <token>` (NocoDB's header) or `Authorization: Bearer`."""

from django.contrib.auth import get_user_model
from django.db import connection
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
    User = get_user_model()
    token_fields = ApiToken._meta.concrete_fields
    user_fields = User._meta.concrete_fields
    cols = [f"t.{connection.ops.quote_name(f.column)}" for f in token_fields]
    cols += [f"u.{connection.ops.quote_name(f.column)}" for f in user_fields]
    sql = (
        f"SELECT {', '.join(cols)} FROM {ApiToken._meta.db_table} t "
        f"JOIN {User._meta.db_table} u ON u.{User._meta.pk.column} = t.user_id "
        "WHERE t.token_hash = %s AND t.revoked_at IS NULL"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [token_hash])
        row = cur.fetchone()
    if row is None:
        return None, None
    n = len(token_fields)
    token = ApiToken.from_db("default", [f.attname for f in token_fields], row[:n])
    user = User.from_db("default", [f.attname for f in user_fields], row[n:])
    token.user = user
    return token, user


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
