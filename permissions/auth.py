"""API token authentication: `xc-token: <token>` (NocoDB's header) or `Authorization: Bearer`."""

from datetime import timedelta
from importlib import import_module
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.db import connection
from django.db.models.base import ModelState
from django.utils import timezone
from rest_framework import authentication, exceptions

from permissions import authcache
from permissions.models import ApiToken, hash_token

# Write last_used_at at most once a minute: no write on every request.
TOUCH_EVERY = timedelta(seconds=60)
_USER_FIELDS = {
    "id",
    "username",
    "email",
    "first_name",
    "last_name",
    "is_active",
    "is_staff",
    "is_superuser",
}
_TOKEN_FIELDS = {"id", "user_id", "name", "prefix", "base_id", "read_only"}


def _in_model_order(model, wanted: set[str]) -> list:
    """The wanted concrete fields in the model's own order, as Model.from_db expects them."""
    return [f for f in model._meta.concrete_fields if f.attname in wanted]


def token_from_headers(request) -> str | None:
    raw = request.META.get("HTTP_XC_TOKEN")
    if raw:
        return raw.strip()
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


_sql_cache: list = []


def _sql() -> tuple[str, list, list]:
    # Raw SQL, built once: this runs on every API request, and compiling the equivalent ORM
    # query cost more than the round trip itself (bench/RESULTS.md). Identifiers come from the
    # models' metadata; the only values are bound parameters.
    if not _sql_cache:
        user = get_user_model()
        u = connection.ops.quote_name
        t_fields = _in_model_order(ApiToken, _TOKEN_FIELDS)
        u_fields = _in_model_order(user, _USER_FIELDS)
        t_cols = ", ".join(f"t.{u(f.column)}" for f in t_fields)
        u_cols = ", ".join(f"u.{u(f.column)}" for f in u_fields)
        # When the URL names a table, the same round trip reads what every records request
        # needs next: the table's metadata version, its base, the user's role there and their
        # table overrides (bases.metacache.get_table takes them from the user object instead of
        # querying; keep the two column lists in step).
        sql = (
            f"SELECT {t_cols}, {u_cols}, "
            f"(t.{u('last_used_at')} IS NULL OR t.{u('last_used_at')} < %s), "
            "s.meta_version, tb.base_id, m.role, r.role, "
            "EXISTS (SELECT 1 FROM permissions_tablerole r2 "
            "JOIN bases_table t2 ON t2.id = r2.table_id "
            "WHERE r2.user_id = t.user_id AND t2.base_id = tb.base_id) "
            f"FROM {u(ApiToken._meta.db_table)} t "
            f"JOIN {u(user._meta.db_table)} u ON u.{u(user._meta.pk.column)} = t.{u('user_id')} "
            "LEFT JOIN bases_table tb ON tb.id = %s "
            "LEFT JOIN bases_datasource s ON s.id = tb.source_id "
            "LEFT JOIN permissions_membership m "
            "ON m.base_id = tb.base_id AND m.user_id = t.user_id "
            "LEFT JOIN permissions_tablerole r ON r.table_id = tb.id AND r.user_id = t.user_id "
            f"WHERE t.{u('token_hash')} = %s AND t.{u('revoked_at')} IS NULL"
        )
        _sql_cache.append((sql, t_fields, u_fields))
    return _sql_cache[0]


def _token_and_user(token_hash: str, now, table_id: str | None = None):
    """The token, its user and whether last_used_at is due for a write: one query, or none
    when this process's cache (permissions.authcache, PostgreSQL meta DB) has the answer.

    With `table_id`, what bases.metacache.get_table would read next is remembered on the user
    instead: the table's meta_version, its base, the user's base role, their override for this
    table and whether they have any override in the base (None when there is no such table)."""
    cache = authcache.current()
    key = (token_hash, table_id)
    hit = cache.get(key) if cache is not None else None
    if hit is not None:
        token, user, version_row = hit
        token, user, stale = _copy(token), _copy(user), False
    else:
        generation = cache.generation() if cache is not None else None
        sql, t_fields, u_fields = _sql()
        row = _fetch_one(sql, [now - TOUCH_EVERY, table_id, token_hash])
        if row is None:
            return None, None, False
        n, m = len(t_fields), len(t_fields) + len(u_fields)
        token = _instance(ApiToken, t_fields, row[:n])
        user = _instance(get_user_model(), u_fields, row[n:m])
        stale = bool(row[m])
        version_row = None
        if table_id is not None:
            version_row = tuple(row[m + 1 :])
            if version_row[-1] is not None:
                version_row = (*version_row[:-1], bool(version_row[-1]))  # SQLite: 0/1
            if version_row[0] is None:
                version_row = None
        if cache is not None:
            cache.put(key, (_copy(token), _copy(user), version_row), generation)
    if table_id is not None:
        # A fresh dict per request: metacache.get_table pops its entry.
        user._noco_table_versions = {table_id: version_row}
    return token, user, stale


def _copy(instance):
    """A model instance of its own for this request (requests add attributes to the user)."""
    clone = instance.__class__.__new__(instance.__class__)
    clone.__dict__ = {
        k: v for k, v in instance.__dict__.items() if not k.startswith("_noco")
    }
    state = clone._state = ModelState()
    state.db, state.adding = instance._state.db, False
    return clone


def _fetch_one(sql: str, params: list, db=connection):
    if db.vendor == "postgresql":
        # A prepared statement on the server: planning this seven-table join took about 0.5 ms
        # of PostgreSQL's CPU on every API request, eight times its execution (bench/RESULTS.md).
        # Django's cursors bind client-side and never prepare; psycopg's own cursor does, once
        # per pooled connection, where the settings allow it (NOCO_PG_PREPARE).
        import psycopg

        db.ensure_connection()
        with db.wrap_database_errors, psycopg.Cursor(db.connection) as cur:
            cur.execute(sql, params, prepare=True)
            return cur.fetchone()
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()


def _instance(model, fields: list, values):
    # SQLite answers 0/1 for booleans; every other column here needs no conversion.
    values = [
        bool(v) if f.get_internal_type() == "BooleanField" else v
        for f, v in zip(fields, values, strict=True)
    ]
    return model.from_db(connection.alias, [f.attname for f in fields], values)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        raw = token_from_headers(request)
        if raw is None:
            return None
        now = timezone.now()
        kwargs = (getattr(request, "parser_context", None) or {}).get("kwargs") or {}
        table_id = kwargs.get("table_id")
        token, user, stale = _token_and_user(
            hash_token(raw), now, str(table_id) if table_id is not None else None
        )
        if token is None or not user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        if stale:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


def credentials_refusal(meta: dict, session_key: str | None) -> tuple[str, str] | None:
    """(code, message) of the 401 a request with these credentials gets, or None when they
    are valid: an external JWT (permissions/jwt_auth.py), an API token (`meta`: the request's HTTP_XC_TOKEN / HTTP_AUTHORIZATION), else a
    signed-in session. As ApiTokenAuthentication and DRF's SessionAuthentication decide, but
    without the request itself: nocoplatform.asgi_guard asks before a large body is read."""
    from permissions import jwt_auth

    jwt_raw = jwt_auth.bearer_jwt(meta)
    if jwt_raw is not None:
        try:
            jwt_auth.user_for_token(jwt_raw)
        except jwt_auth.TokenRefused as exc:
            return "INVALID_TOKEN", str(exc)
        return None
    raw = token_from_headers(SimpleNamespace(META=meta))
    if raw is not None:
        token, user, _ = _token_and_user(hash_token(raw), timezone.now())
        if token is None or not user.is_active:
            return "INVALID_TOKEN", "Invalid or revoked API token."
        return None
    if session_key:
        store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        user_id = store.get(SESSION_KEY)
        model = get_user_model()
        if (
            user_id is not None
            and model._default_manager.filter(pk=user_id, is_active=True).exists()
        ):
            return None
    return "AUTHENTICATION_REQUIRED", "Authentication credentials were not provided."
