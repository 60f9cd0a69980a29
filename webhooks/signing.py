"""Standard Webhooks signing (https://www.standardwebhooks.com/).

Every call carries `webhook-id` (the event id, the same on every attempt, for de-duplication),
`webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature`:
`v1,<base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>`, the secret being the base64 part
of `whsec_...`. Receivers check it with any Standard Webhooks library or the README snippet.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from bases.crypto import decrypt_json, encrypt_json

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def seal(secret: str) -> str:
    """The secret as stored: Fernet-encrypted, never in clear."""
    return encrypt_json({"secret": secret})


def unseal(stored: str) -> str:
    return decrypt_json(stored)["secret"]


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(
    secret: str, msg_id: str, timestamp: str | int, body: bytes, header: str
) -> bool:
    """True when one of the space-separated `v1,` signatures in `header` matches."""
    expected = sign(secret, msg_id, int(timestamp), body)
    return any(hmac.compare_digest(expected, part) for part in header.split())
