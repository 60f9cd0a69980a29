"""The production profile's Redis-backed pieces work against the real Redis."""

import asyncio
import importlib
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
