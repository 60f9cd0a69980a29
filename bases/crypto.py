"""Encryption at rest for data-source credentials (Fernet, key from settings)."""

import base64
import hashlib

import orjson
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    digest = hashlib.sha256(settings.NOCO_ENCRYPTION_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_json(value: dict) -> str:
    return _fernet().encrypt(orjson.dumps(value)).decode()


def decrypt_json(token: str) -> dict:
    try:
        return orjson.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise ValueError(
            "stored credentials cannot be decrypted: NOCO_ENCRYPTION_KEY changed"
        ) from exc
