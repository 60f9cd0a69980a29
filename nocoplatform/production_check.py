"""What the production profile needs before it starts (`manage.py check_production`, `make serve`).

Each problem says what is wrong and what to set. Errors stop `make serve`; warnings are printed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from django.conf import settings

LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
MIN_SECRET_LENGTH = 32
NEW_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"


@dataclass(frozen=True)
class Problem:
    error: bool  # False: a warning
    message: str


def _meta_db() -> list[Problem]:
    from django.db import connections

    engine = settings.DATABASES["default"]["ENGINE"]
    if not engine.endswith("postgresql"):
        return [
            Problem(
                True,
                f"the meta DB is {engine.rsplit('.', 1)[-1]}, not PostgreSQL: set "
                "DATABASE_URL=postgresql://user:password@host:5432/dbname (SQLite lets one "
                "process write at a time; several web processes need PostgreSQL)",
            )
        ]
    try:
        connections["default"].ensure_connection()
    except Exception as exc:
        return [Problem(True, f"the meta DB (DATABASE_URL) does not answer: {exc}")]
    return []


def _redis() -> list[Problem]:
    url = os.environ.get("REDIS_URL")
    if not url:
        return [
            Problem(
                True,
                "REDIS_URL is not set: set REDIS_URL=redis://host:6379/0 (cache, the channel "
                "layer that carries realtime across processes, and Celery's broker)",
            )
        ]
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except Exception as exc:
        return [Problem(True, f"Redis (REDIS_URL) does not answer: {exc}")]
    return []


def _secrets() -> list[Problem]:
    found = []
    secret = os.environ.get("NOCO_SECRET_KEY", "")
    if not secret:
        found.append(
            Problem(
                True,
                "NOCO_SECRET_KEY is not set (the key generated into var/ is for one machine "
                f"and is lost with it): set it to a random string, e.g. `{NEW_KEY}`",
            )
        )
    elif len(secret) < MIN_SECRET_LENGTH or secret.startswith("django-insecure"):
        found.append(
            Problem(
                True,
                f"NOCO_SECRET_KEY is too weak (under {MIN_SECRET_LENGTH} characters or a "
                f"placeholder): use a random string, e.g. `{NEW_KEY}`",
            )
        )
    encryption = os.environ.get("NOCO_ENCRYPTION_KEY", "")
    if not encryption:
        found.append(
            Problem(
                True,
                "NOCO_ENCRYPTION_KEY is not set: it encrypts database passwords at rest; "
                "left unset it is the secret key, and rotating that key would make them "
                f"unreadable. Set it to another random string (`{NEW_KEY}`) and keep it",
            )
        )
    elif encryption == secret:
        found.append(
            Problem(
                False,
                "NOCO_ENCRYPTION_KEY equals NOCO_SECRET_KEY: rotating the secret key will "
                "then make stored database passwords unreadable",
            )
        )
    return found


def _web() -> list[Problem]:
    found = []
    if settings.DEBUG:
        found.append(Problem(True, "DEBUG is on: the production profile turns it off"))
    if "*" in settings.ALLOWED_HOSTS:
        found.append(
            Problem(
                False,
                "ALLOWED_HOSTS holds '*': any Host header is believed (links in password "
                "reset mails, for one); set ALLOWED_HOSTS=your.domain",
            )
        )
    elif not set(settings.ALLOWED_HOSTS) - LOCAL_HOSTS:
        found.append(
            Problem(
                False,
                "ALLOWED_HOSTS holds only local addresses: set ALLOWED_HOSTS=your.domain "
                "(and CSRF_TRUSTED_ORIGINS=https://your.domain), or every other host name "
                "answers 400",
            )
        )
    if not os.environ.get("NOCO_TRUSTED_PROXIES"):
        found.append(
            Problem(
                False,
                "NOCO_TRUSTED_PROXIES is not set: behind a reverse proxy set it to the "
                "proxy's address (e.g. 127.0.0.1), or every visitor shares its address in "
                "the per-address limits and HTTPS is not recognised",
            )
        )
    return found


def problems() -> list[Problem]:
    found = []
    module = os.environ.get("DJANGO_SETTINGS_MODULE", "")
    if not module.endswith(".production"):
        found.append(
            Problem(
                True,
                f"DJANGO_SETTINGS_MODULE is {module or 'unset'}: set "
                "DJANGO_SETTINGS_MODULE=nocoplatform.settings.production",
            )
        )
    return found + _meta_db() + _redis() + _secrets() + _web()
