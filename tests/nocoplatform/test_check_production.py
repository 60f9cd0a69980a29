"""`manage.py check_production` (run by `make serve`): says what the production profile misses,
and passes on a complete one, checked against the real PostgreSQL and Redis."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings

from tests.conftest import LIVE_ROOT

CLEARED = (
    "DATABASE_URL",
    "REDIS_URL",
    "NOCO_SECRET_KEY",
    "NOCO_ENCRYPTION_KEY",
    "ALLOWED_HOSTS",
    "NOCO_TRUSTED_PROXIES",
)


def check(tmp_path, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in CLEARED}
    base["NOCO_VAR_DIR"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, "manage.py", "check_production"],
        cwd=LIVE_ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_unconfigured_machine_is_told_everything_it_misses(tmp_path):
    done = check(tmp_path, DJANGO_SETTINGS_MODULE="nocoplatform.settings.local")
    assert done.returncode == 1
    err = done.stderr
    assert "DJANGO_SETTINGS_MODULE=nocoplatform.settings.production" in err
    assert "not PostgreSQL: set DATABASE_URL=postgresql://" in err
    assert "REDIS_URL is not set" in err
    assert "NOCO_SECRET_KEY is not set" in err
    assert "NOCO_ENCRYPTION_KEY is not set" in err
    assert "warning: ALLOWED_HOSTS holds '*'" in err  # the local profile's default
    assert "warning: NOCO_TRUSTED_PROXIES is not set" in err
    assert "Production settings: OK" not in done.stdout


def test_weak_keys_and_services_that_do_not_answer_are_named(tmp_path):
    done = check(
        tmp_path,
        DJANGO_SETTINGS_MODULE="nocoplatform.settings.production",
        DATABASE_URL="postgresql://postgres@127.0.0.1:1/nothing",
        REDIS_URL="redis://127.0.0.1:1/0",
        NOCO_SECRET_KEY="change-me",
        NOCO_ENCRYPTION_KEY="change-me",
    )
    assert done.returncode == 1
    assert "the meta DB (DATABASE_URL) does not answer" in done.stderr
    assert "Redis (REDIS_URL) does not answer" in done.stderr
    assert "NOCO_SECRET_KEY is too weak" in done.stderr
    assert "warning: NOCO_ENCRYPTION_KEY equals NOCO_SECRET_KEY" in done.stderr
    assert "warning: ALLOWED_HOSTS holds only local addresses" in done.stderr
    assert "DJANGO_SETTINGS_MODULE" not in done.stderr


@pytest.mark.usefixtures("db")
def test_a_complete_production_profile_passes(tmp_path):
    import redis

    try:
        redis.Redis.from_url(settings.TEST_REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:
        from tests.conftest import service_missing

        service_missing("Redis", exc)
    done = check(
        tmp_path,
        DJANGO_SETTINGS_MODULE="nocoplatform.settings.production",
        DATABASE_URL=settings.TEST_POSTGRES_URL,
        REDIS_URL=settings.TEST_REDIS_URL,
        NOCO_SECRET_KEY="s" * 50,
        NOCO_ENCRYPTION_KEY="e" * 50,
        ALLOWED_HOSTS="noco.example.com",
        NOCO_TRUSTED_PROXIES="127.0.0.1",
    )
    assert done.returncode == 0, done.stderr
    assert "Production settings: OK" in done.stdout
    assert "missing" not in done.stderr and "warning" not in done.stderr
