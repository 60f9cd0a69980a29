"""Bearer JWTs from external identity providers (Auth0, Supabase, Keycloak) for the API.

A token is accepted only from an issuer listed in NOCO_JWT_ISSUERS, signed with one of that
issuer's pinned asymmetric algorithms by a key of its JWKS, unexpired, already valid, and for
one of its audiences. The header's `alg` is never trusted on its own: `none` and every HMAC
algorithm are refused at configuration time, the token's `alg` must be one the issuer pins, and
the key it names must be of that algorithm's family (no RSA public key used as an HMAC secret).

The JWKS is fetched with a short timeout and kept for NOCO_JWT_JWKS_TTL seconds; a token naming
a key not in it makes one fetch at most every NOCO_JWT_JWKS_REFETCH_INTERVAL seconds (rotation
without letting made-up key ids hammer the provider). A provider that cannot be reached while
we hold its keys is ridden out with them; without keys, the answer is a 401 saying so.

The user is the one linked to the token's (issuer, sub), or, with `user_claim: "email"`, the
account of its verified email (permissions/external.py). Such a user is an ordinary user: the
same permission checks as for a session apply, and a user who is a member of nothing sees
nothing.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework import authentication, exceptions

from permissions.external import IdentityRefused, user_for_identity

log = logging.getLogger(__name__)

# Asymmetric only: an issuer's JWKS is public, so an HMAC "key" from it would be anyone's.
ALLOWED_ALGORITHMS = {
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
}
_KEY_TYPE = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
MAX_JWKS_BYTES = 512 * 1024
_now = time.monotonic  # tests move the clock
UNAVAILABLE = (
    "The identity provider's signing keys could not be fetched; try again later."
)


class TokenRefused(Exception):
    """Why a token is not accepted (the 401's message)."""


@dataclass(frozen=True)
class Issuer:
    issuer: str
    audience: tuple[str, ...]
    jwks_url: str
    algorithms: tuple[str, ...]
    user_claim: str = "sub"  # "sub": linked identities; "email": accounts by email
    email_claim: str = "email"
    require_email_verified: bool = True
    create_users: bool = True
    leeway: int = 30


def _as_tuple(value) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value or ())


def parse_issuer(item: dict) -> Issuer:
    """One NOCO_JWT_ISSUERS entry, checked: a mistake must stop the start, not open a door."""
    where = f"NOCO_JWT_ISSUERS ({item.get('issuer')!r})"
    unknown = set(item) - set(Issuer.__dataclass_fields__)
    if unknown:
        raise ImproperlyConfigured(f"{where}: unknown keys {sorted(unknown)}.")
    for key in ("issuer", "audience", "jwks_url"):
        if not item.get(key):
            raise ImproperlyConfigured(f"{where}: `{key}` is required.")
    algorithms = _as_tuple(item.get("algorithms") or ["RS256"])
    bad = [a for a in algorithms if a not in ALLOWED_ALGORITHMS]
    if bad:
        raise ImproperlyConfigured(
            f"{where}: algorithms {bad} are not allowed; use asymmetric ones "
            f"({', '.join(sorted(ALLOWED_ALGORITHMS))})."
        )
    url = urlsplit(item["jwks_url"])
    loopback = url.hostname in ("localhost", "127.0.0.1", "::1")
    if url.scheme != "https" and not (url.scheme == "http" and loopback):
        raise ImproperlyConfigured(f"{where}: jwks_url must be https.")
    issuer = Issuer(
        issuer=str(item["issuer"]),
        audience=_as_tuple(item["audience"]),
        jwks_url=str(item["jwks_url"]),
        algorithms=algorithms,
        user_claim=str(item.get("user_claim", "sub")),
        email_claim=str(item.get("email_claim", "email")),
        require_email_verified=bool(item.get("require_email_verified", True)),
        create_users=bool(item.get("create_users", True)),
        leeway=int(item.get("leeway", 30)),
    )
    if issuer.user_claim not in ("sub", "email"):
        raise ImproperlyConfigured(f"{where}: user_claim is `sub` or `email`.")
    return issuer


_parsed: list = [None, {}]  # [the settings value parsed, its issuers]


def issuers() -> dict[str, Issuer]:
    """The configured issuers by their `iss` (parsed once per settings value; holding the
    value keeps its identity from being reused by another)."""
    raw = getattr(settings, "NOCO_JWT_ISSUERS", None) or []
    if _parsed[0] is not raw:
        _parsed[:] = [raw, {i.issuer: i for i in map(parse_issuer, raw)}]
    return _parsed[1]


@dataclass(frozen=True)
class SigningKey:
    key: object  # a cryptography public key
    kty: str  # RSA, EC, OKP
    alg: str | None  # the algorithm the JWKS pins this key to, if it does


class KeySet:
    """One issuer's JWKS, cached and refetched as the module docstring says."""

    def __init__(self, url: str):
        self.url = url
        self.keys: dict[str | None, SigningKey] = {}
        self.fetched_at: float | None = None
        self.last_attempt: float | None = None
        self.lock = threading.Lock()

    def key(self, kid: str | None) -> SigningKey:
        with self.lock:
            now = _now()
            if (
                self.fetched_at is None
                or now - self.fetched_at > settings.NOCO_JWT_JWKS_TTL
            ):
                self._refresh(now)
            found = self._find(kid)
            if found is None and self._may_refetch(now):
                self._refresh(now)
                found = self._find(kid)
        if found is None:
            raise TokenRefused("The token is signed by an unknown key.")
        return found

    def _find(self, kid):
        if kid is None and len(self.keys) == 1:
            return next(iter(self.keys.values()))
        return self.keys.get(kid)

    def _may_refetch(self, now) -> bool:
        return (
            self.last_attempt is None
            or now - self.last_attempt >= settings.NOCO_JWT_JWKS_REFETCH_INTERVAL
        )

    def _refresh(self, now):
        if not self._may_refetch(now):
            # A failed attempt was just made: keep the keys we have until the next one, and
            # do not hammer a provider that is down.
            if self.keys:
                return
            raise TokenRefused(UNAVAILABLE)
        self.last_attempt = now
        try:
            keys = _fetch_jwks(self.url)
        except Exception as exc:  # noqa: BLE001 - any failure: the provider is unreachable
            log.warning("JWKS %s could not be fetched: %s", self.url, exc)
            if self.keys:
                return  # ride it out with the keys we have
            raise TokenRefused(UNAVAILABLE)
        self.keys, self.fetched_at = keys, now


def _fetch_jwks(url: str) -> dict:
    # An admin-set URL, https or loopback only (parse_issuer): no file: or custom schemes.
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(  # noqa: S310
        request, timeout=settings.NOCO_JWT_JWKS_TIMEOUT
    ) as response:
        body = response.read(MAX_JWKS_BYTES + 1)
    if len(body) > MAX_JWKS_BYTES:
        raise ValueError("JWKS too large")
    keys = {}
    for data in json.loads(body).get("keys", []):
        if data.get("use", "sig") != "sig" or data.get("kty") == "oct":
            continue  # encryption keys and shared secrets never verify a token
        try:
            jwk = jwt.PyJWK(data)
        except jwt.PyJWKError:
            continue  # a key type we cannot use; the others still can be
        keys[data.get("kid")] = SigningKey(jwk.key, data["kty"], data.get("alg"))
    if not keys:
        raise ValueError("JWKS has no usable signing key")
    return keys


_keysets: dict[str, KeySet] = {}
_keysets_lock = threading.Lock()


def keyset(url: str) -> KeySet:
    with _keysets_lock:
        return _keysets.setdefault(url, KeySet(url))


def forget_keys() -> None:
    """Drop every cached JWKS (tests)."""
    with _keysets_lock:
        _keysets.clear()


def looks_like_jwt(raw: str) -> bool:
    # API tokens are URL-safe base64 (no dots); a compact JWS has exactly two.
    return raw.count(".") == 2 and raw.startswith("eyJ")


def verify(raw: str) -> tuple[Issuer, dict]:
    """The token's issuer and verified claims, or TokenRefused."""
    try:
        header = jwt.get_unverified_header(raw)
        unverified = jwt.decode(raw, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise TokenRefused("The token is not a well-formed JWT.")
    issuer = issuers().get(unverified.get("iss"))
    if issuer is None:
        raise TokenRefused("The token's issuer is not accepted here.")
    alg = header.get("alg")
    if alg not in issuer.algorithms:
        raise TokenRefused(f"The token's algorithm {alg!r} is not accepted.")
    key = keyset(issuer.jwks_url).key(header.get("kid"))
    if key.kty != _KEY_TYPE[alg[:2]] or key.alg not in (None, alg):
        raise TokenRefused("The token's algorithm does not match its key.")
    try:
        claims = jwt.decode(
            raw,
            key=key.key,
            algorithms=[alg],
            audience=list(issuer.audience),
            issuer=issuer.issuer,
            leeway=issuer.leeway,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenRefused("The token has expired.")
    except jwt.ImmatureSignatureError:
        raise TokenRefused("The token is not valid yet.")
    except jwt.InvalidAudienceError:
        raise TokenRefused("The token is not meant for this API (audience).")
    except jwt.InvalidIssuerError:
        raise TokenRefused("The token's issuer is not accepted here.")
    except jwt.InvalidSignatureError:
        raise TokenRefused("The token's signature does not verify.")
    except jwt.MissingRequiredClaimError as exc:
        raise TokenRefused(f"The token has no `{exc.claim}` claim.")
    except jwt.PyJWTError as exc:
        raise TokenRefused(f"The token is not valid: {exc}.")
    return issuer, claims


def user_for_token(raw: str):
    """(user, issuer, claims) of a valid token, or TokenRefused."""
    issuer, claims = verify(raw)
    email = claims.get(issuer.email_claim)
    verified = claims.get("email_verified")
    try:
        user = user_for_identity(
            issuer=issuer.issuer,
            subject=str(claims["sub"]),
            email=email if isinstance(email, str) else None,
            email_verified=verified is True
            or (verified is None and not issuer.require_email_verified),
            link_by_email=issuer.user_claim == "email",
            create=issuer.create_users,
        )
    except IdentityRefused as exc:
        raise TokenRefused(exc.message)
    return user, issuer, claims


@dataclass(frozen=True)
class ExternalToken:
    """request.auth of a JWT-authenticated request (not an ApiToken: no token scope)."""

    issuer: str
    subject: str


class ExternalJwtAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <JWT>` from a configured issuer; other bearer values are left
    to ApiTokenAuthentication."""

    def authenticate(self, request):
        raw = bearer_jwt(request.META)
        if raw is None:
            return None
        try:
            user, issuer, claims = user_for_token(raw)
        except TokenRefused as exc:
            raise exceptions.AuthenticationFailed(str(exc))
        return user, ExternalToken(issuer=issuer.issuer, subject=str(claims["sub"]))

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


def bearer_jwt(meta: dict) -> str | None:
    """The JWT in the Authorization header when issuers are configured, else None."""
    if not getattr(settings, "NOCO_JWT_ISSUERS", None):
        return None
    scheme, _, value = meta.get("HTTP_AUTHORIZATION", "").partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not looks_like_jwt(value):
        return None
    return value
