"""Sign in with OpenID Connect providers (NOCO_OIDC_PROVIDERS), through Authlib.

The authorization-code flow with PKCE (S256), `state` and `nonce`: Authlib makes all three,
keeps them in the session and checks them on the way back, then verifies the ID token's
signature against the provider's JWKS (pinned to asymmetric algorithms here), its issuer,
audience, expiry and nonce. An identity is linked to an existing account only by an email the
provider marks verified (permissions/external.py); a provider may limit sign-in to email
domains, and give new users a role on one base.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from permissions.jwt_auth import ALLOWED_ALGORITHMS

ROLES = ("owner", "creator", "editor", "commenter", "viewer")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


@dataclass(frozen=True)
class Provider:
    name: str  # in URLs: /login/oidc/<name>/
    label: str  # "Sign in with <label>"
    issuer: str
    client_id: str
    client_secret: str
    allowed_domains: tuple[str, ...] = ()  # empty: any verified email
    default_base: str | None = None  # new users join this base...
    default_role: str | None = None  # ...with this role
    create_users: bool = True
    scope: str = "openid email profile"

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    def allows(self, email: str) -> bool:
        if not self.allowed_domains:
            return True
        domain = email.rpartition("@")[2].lower()
        return domain in self.allowed_domains


def parse_provider(item: dict) -> Provider:
    where = f"NOCO_OIDC_PROVIDERS ({item.get('name')!r})"
    unknown = set(item) - set(Provider.__dataclass_fields__)
    if unknown:
        raise ImproperlyConfigured(f"{where}: unknown keys {sorted(unknown)}.")
    for key in ("name", "issuer", "client_id", "client_secret"):
        if not item.get(key):
            raise ImproperlyConfigured(f"{where}: `{key}` is required.")
    if not _NAME.match(str(item["name"])):
        raise ImproperlyConfigured(
            f"{where}: `name` is lower-case letters, digits and dashes."
        )
    issuer = str(item["issuer"])
    loopback = re.match(r"^http://(localhost|127\.0\.0\.1|\[::1\])[:/]", issuer)
    if not (issuer.startswith("https://") or loopback):
        raise ImproperlyConfigured(f"{where}: the issuer URL must be https.")
    role = item.get("default_role") or None
    base = item.get("default_base") or None
    if role is not None and role not in ROLES:
        raise ImproperlyConfigured(f"{where}: default_role is one of {ROLES}.")
    if bool(role) != bool(base):
        raise ImproperlyConfigured(
            f"{where}: default_base and default_role go together."
        )
    domains = item.get("allowed_domains") or ()
    if isinstance(domains, str):
        domains = [domains]
    return Provider(
        name=str(item["name"]),
        label=str(item.get("label") or item["name"]),
        issuer=issuer,
        client_id=str(item["client_id"]),
        client_secret=str(item["client_secret"]),
        allowed_domains=tuple(d.strip().lower().lstrip("@") for d in domains),
        default_base=str(base) if base else None,
        default_role=role,
        create_users=bool(item.get("create_users", True)),
        scope=str(item.get("scope") or "openid email profile"),
    )


_parsed: list = [None, {}]


def providers() -> dict[str, Provider]:
    raw = getattr(settings, "NOCO_OIDC_PROVIDERS", None) or []
    if _parsed[0] is not raw:
        _parsed[:] = [raw, {p.name: p for p in map(parse_provider, raw)}]
    return _parsed[1]


_clients: dict = {}
_clients_lock = threading.Lock()


def client(provider: Provider):
    """Authlib's client for a provider, one per process (it caches the discovery document
    and the JWKS; an unknown key id makes it fetch the JWKS again)."""
    from authlib.integrations.django_client import OAuth

    key = provider
    with _clients_lock:
        app = _clients.get(key)
        if app is None:
            oauth = OAuth()
            app = oauth.register(
                name=f"oidc-{provider.name}",
                client_id=provider.client_id,
                client_secret=provider.client_secret,
                server_metadata_url=provider.discovery_url,
                client_kwargs={
                    "scope": provider.scope,
                    "code_challenge_method": "S256",
                    "default_timeout": settings.NOCO_OIDC_TIMEOUT,
                },
            )
            _clients[key] = app
    return app


def metadata(provider: Provider) -> dict:
    """The provider's discovery document, checked: its issuer must be the configured one,
    and ID tokens are accepted only with asymmetric algorithms (never `none`, never HMAC)."""
    app = client(provider)
    data = app.load_server_metadata()
    if data.get("issuer") != provider.issuer:
        app.server_metadata.clear()
        raise OidcError(
            "The provider's discovery document names another issuer than configured."
        )
    offered = data.get("id_token_signing_alg_values_supported") or ["RS256"]
    data["id_token_signing_alg_values_supported"] = [
        a for a in offered if a in ALLOWED_ALGORITHMS
    ] or ["RS256"]
    return data


def forget_clients() -> None:
    with _clients_lock:
        _clients.clear()


class OidcError(Exception):
    """A sign-in that cannot go on (the page says why)."""
