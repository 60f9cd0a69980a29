"""Per-base CORS origins: a base's owner may let pages of more origins call its API.

The installation's NOCO_CORS_ORIGINS hold for every path under /api/ (django-cors-headers).
A base's `cors_origins` add origins for the paths that name the base or one of its tables
(`/api/v2/meta/bases/{baseId}/…`, `/api/v2/tables/{tableId}/…`), and never with credentials:
a base owner's choice must not let another site send a visitor's session cookie. The API's
own authentication still decides what any request may see.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.urls import Resolver404, resolve

from nocoplatform.errors import InvalidInput

MAX_ORIGINS = 20


def clean_origins(value) -> list[str]:
    """`https://app.example.com[:port]` items, lower-cased, without duplicates."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput("`cors_origins` is a list of origins.")
    if len(value) > MAX_ORIGINS:
        raise InvalidInput(f"At most {MAX_ORIGINS} CORS origins per base.")
    out: list[str] = []
    for raw in value:
        origin = raw.strip().rstrip("/").lower()
        try:
            url = urlsplit(origin)
            url.port  # noqa: B018 - raises on a bad port
        except ValueError:
            url = None
        if (
            url is None
            or url.scheme not in ("http", "https")
            or not url.hostname
            or url.path
            or url.query
            or url.fragment
            or url.username is not None
        ):
            raise InvalidInput(
                f"{raw!r} is not an origin (scheme://host[:port], nothing after)."
            )
        if origin not in out:
            out.append(origin)
    return out


def base_origin_allowed(sender, request, **kwargs) -> bool:
    """django-cors-headers' check_request_enabled: is the request's origin one its base
    lists? Marks the request so that the answer carries no credentials."""
    origin = request.headers.get("origin")
    if not origin or not request.path_info.startswith("/api/"):
        return False
    base_id = _base_of(request.path_info)
    if base_id is None:
        return False
    from bases.models import Base

    origins = (
        Base.objects.filter(pk=base_id).values_list("cors_origins", flat=True).first()
    )
    if origins and origin.lower() in origins:
        request._noco_base_cors = True
        return True
    return False


def _base_of(path: str) -> str | None:
    try:
        kwargs = resolve(path).kwargs
    except Resolver404:
        return None
    if "base_id" in kwargs:
        return str(kwargs["base_id"])
    if "table_id" in kwargs:
        from bases.models import Table

        return (
            Table.objects.filter(pk=kwargs["table_id"])
            .values_list("base_id", flat=True)
            .first()
        )
    return None
