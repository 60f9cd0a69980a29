"""The production profile's Redis-backed pieces work against the real Redis."""

import asyncio
import importlib
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

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
