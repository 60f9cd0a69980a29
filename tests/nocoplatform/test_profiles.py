"""The production profile's Redis-backed pieces work against the real Redis."""

import asyncio
import importlib
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import service_missing


@pytest.fixture
def redis_url():
    import redis

    url = settings.TEST_REDIS_URL
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:
        service_missing("Redis", exc)
    return url


def test_production_settings_use_redis_for_cache_channels_and_celery(
    monkeypatch, redis_url
):
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("NOCO_SECRET_KEY", "x" * 50)
    import nocoplatform.settings.base as base
    import nocoplatform.settings.production as production

    importlib.reload(base)
    prod = importlib.reload(production)
    assert prod.CACHES["default"]["BACKEND"].endswith("RedisCache")
    assert (
        prod.CHANNEL_LAYERS["default"]["BACKEND"]
        == "channels_redis.core.RedisChannelLayer"
    )
    assert prod.CELERY_BROKER_URL == redis_url
    assert prod.DEBUG is False and prod.SESSION_COOKIE_SECURE is True

    from channels_redis.core import RedisChannelLayer

    layer = RedisChannelLayer(
        hosts=[redis_url], prefix="noco-test-" + secrets.token_hex(3)
    )

    async def round_trip():
        await layer.send("probe", {"type": "probe", "n": 1})
        return await layer.receive("probe")

    # Its own thread and loop: browser tests may leave an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, round_trip()).result(timeout=10) == {
            "type": "probe",
            "n": 1,
        }


def test_local_profile_needs_no_redis(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    import nocoplatform.settings.base as base
    import nocoplatform.settings.local as local

    importlib.reload(base)
    local = importlib.reload(local)
    assert (
        local.CHANNEL_LAYERS["default"]["BACKEND"]
        == "channels.layers.InMemoryChannelLayer"
    )
    assert local.CELERY_BROKER_URL == "memory://"


def test_the_token_query_runs_prepared_on_a_postgresql_meta_db(
    monkeypatch, django_db_blocker
):
    """Django turns psycopg's prepared statements off unless OPTIONS ask for them: the PG meta
    DB settings must, or the token query is planned anew on every API request."""
    import psycopg
    from django.db.backends.postgresql.base import DatabaseWrapper

    from permissions.auth import _fetch_one

    monkeypatch.setenv("DATABASE_URL", settings.TEST_POSTGRES_URL)
    monkeypatch.setenv("NOCO_SECRET_KEY", "x" * 50)
    base = importlib.reload(importlib.import_module("nocoplatform.settings.base"))
    options = base.DATABASES["default"]["OPTIONS"]
    assert options["prepare_threshold"] == 5
    monkeypatch.setenv("NOCO_PG_PREPARE", "false")
    base = importlib.reload(base)
    assert "prepare_threshold" not in base.DATABASES["default"]["OPTIONS"]

    config = {**base.DATABASES["default"], "OPTIONS": {"prepare_threshold": 5}}

    def check():
        db = DatabaseWrapper(
            {
                **config,
                "TIME_ZONE": None,
                "AUTOCOMMIT": True,
                "CONN_HEALTH_CHECKS": False,
            },
            "prepare_check",
        )
        try:
            db.ensure_connection()
        except psycopg.OperationalError as exc:
            service_missing("PostgreSQL", exc)
        _check_prepared(db, _fetch_one)

    with django_db_blocker.unblock():
        # Its own thread: browser tests may leave an event loop running in this one, and
        # Django refuses database calls from a thread with a running loop.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(check).result(timeout=30)


def _check_prepared(db, _fetch_one):
    try:
        assert _fetch_one("SELECT %s::int + 1", [41], db) == (42,)
        assert list(db.connection._prepared._names), "the statement was not prepared"
        assert _fetch_one("SELECT %s::int + 1", [1], db) == (2,)
    finally:
        db.close()


def test_server_processes_freeze_the_loaded_app_out_of_the_collector(monkeypatch):
    import gc

    from nocoplatform import gctune

    try:
        monkeypatch.setenv("NOCO_GC_FREEZE", "false")
        gc.unfreeze()
        gctune.tune()
        assert gc.get_freeze_count() == 0
        monkeypatch.setenv("NOCO_GC_FREEZE", "true")
        gctune.tune()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_server_processes_load_the_urlconf_before_the_first_request():
    """The URLconf and the views it names are imported when the server process starts, not
    by the first request (which took ~200 ms longer for it)."""
    import subprocess
    import sys

    code = (
        "import sys, nocoplatform.wsgi; "
        "print('nocoplatform.urls' in sys.modules, 'bases.records_api' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.local"},
    ).stdout
    assert out.split()[-2:] == ["True", "True"]


_HEADERS_SCRIPT = """
import json, django
django.setup()
from django.test import Client
from django.urls import reverse
from django.conf import settings
c = Client(HTTP_HOST="127.0.0.1")
out = {}
for secure in (True, False):
    r = c.get(reverse("login"), secure=secure)
    out[str(secure)] = [r.status_code, r.headers.get("Strict-Transport-Security")]
out["proxy"] = settings.SECURE_PROXY_SSL_HEADER
print(json.dumps(out))
"""


def _production_headers(tmp_path, **environ) -> dict:
    """Ask a production-profile process (its own, so its settings are read from scratch)."""
    import json
    import subprocess
    import sys

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("NOCO_HSTS", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="nocoplatform.settings.production",
        NOCO_VAR_DIR=str(tmp_path),
        NOCO_SECRET_KEY="x" * 50,
        **environ,
    )
    out = subprocess.run(
        [sys.executable, "-c", _HEADERS_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def test_production_profile_sends_hsts_over_https_only(tmp_path):
    seen = _production_headers(tmp_path)
    status, hsts = seen["True"]
    assert status == 200 and hsts == "max-age=31536000"  # a year; no subdomains
    assert seen["False"][1] is None  # never over plain HTTP (RFC 6797 §7.2)
    # Whether a request came over TLS is not taken from a header nobody configured.
    assert seen["proxy"] is None


def test_production_hsts_is_configurable(tmp_path):
    seen = _production_headers(
        tmp_path, NOCO_HSTS_SECONDS="600", NOCO_HSTS_INCLUDE_SUBDOMAINS="true"
    )
    assert seen["True"][1] == "max-age=600; includeSubDomains"
    # 0 turns it off (e.g. while trying HTTPS out: browsers remember the header).
    assert _production_headers(tmp_path, NOCO_HSTS_SECONDS="0")["True"][1] is None


def test_production_profile_passes_the_deploy_check_for_hsts(tmp_path):
    import subprocess
    import sys

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NOCO_HSTS")},
        "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.production",
        "NOCO_VAR_DIR": str(tmp_path),
        "NOCO_SECRET_KEY": "x" * 50,
    }
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert "security.W004" not in out.stdout + out.stderr  # HSTS not set
    assert "security.W005" not in out.stdout + out.stderr  # (subdomains: a choice)
