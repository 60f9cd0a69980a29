"""Production profile: PostgreSQL meta DB (DATABASE_URL), Redis for cache, channels and Celery."""

from .base import *  # noqa: F403
from .base import NOCO_REDIS_PREFIX, env

DEBUG = False
SESSION_COOKIE_SECURE = env.get_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
# HSTS (docs/security.md, "Browser hardening"): browsers that saw it over HTTPS use only HTTPS
# for this host for that long. SecurityMiddleware sends it on HTTPS responses only, so behind a
# TLS-terminating proxy it needs the proxy's scheme header trusted (or the proxy sets it).
# Subdomains are left out unless asked for: other services on them may not serve HTTPS yet.
SECURE_HSTS_SECONDS = env.get_int("NOCO_HSTS_SECONDS", 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.get_bool("NOCO_HSTS_INCLUDE_SUBDOMAINS", False)
if not SECURE_HSTS_INCLUDE_SUBDOMAINS:
    # `check --deploy` warns when subdomains are left out: that is this profile's choice.
    SILENCED_SYSTEM_CHECKS = ["security.W005"]

_redis = env.get("REDIS_URL")
if _redis:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _redis,
            "KEY_PREFIX": NOCO_REDIS_PREFIX,  # several installations on one Redis
            # A hung Redis must not hold requests: its callers fall back or fail fast.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    # CHANNEL_LAYERS: channels_redis on REDIS_URL, set in base.py for every profile.
