"""Production profile: PostgreSQL meta DB (DATABASE_URL), Redis for cache, channels and Celery."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SESSION_COOKIE_SECURE = env.get_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True

_redis = env.get("REDIS_URL")
if _redis:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _redis,
        }
    }
    # CHANNEL_LAYERS: channels_redis on REDIS_URL, set in base.py for every profile.
