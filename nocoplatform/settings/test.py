"""Test profile: fast hashing, throwaway folders; external services from TEST_* variables."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import env

_tmp = Path(tempfile.mkdtemp(prefix="noco-test-"))
VAR_DIR = _tmp
NOCO_STORE_DIR = _tmp / "store"
MEDIA_ROOT = str(_tmp / "media")
STORAGES = {
    **STORAGES,  # noqa: F405
    "attachments": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": None},
    },
}
SECRET_KEY = "test-secret-key-not-for-production-use-0123456789abcdef"
NOCO_ENCRYPTION_KEY = "test-encryption-key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(_tmp / "meta.sqlite3"),
    }
}
ALLOWED_HOSTS = ["*"]
NOCO_STORE_URL = None
NOCO_CONNECT_TIMEOUT = 3
TEST_POSTGRES_URL = env.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
TEST_MYSQL_URL = env.get("TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
TEST_REDIS_URL = env.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# Tests connect SQLite files made in the temp folder, and the machine's PostgreSQL and MariaDB
# on 127.0.0.1, as ordinary (non-admin) users; tests/bases/test_connect_network.py switches
# private addresses off and the rate limit on.
NOCO_SQLITE_ALLOWED_DIRS = [tempfile.gettempdir()]
NOCO_SOURCES_ALLOW_PRIVATE = True
NOCO_CONNECTION_TESTS_PER_MINUTE = 0
# Outage memory off by default in tests (they break and mend databases at will); the test of
# the fail-fast behaviour turns it on.
NOCO_UNAVAILABLE_RETRY_AFTER = 0
# Webhooks: tests deliver synchronously (webhooks.delivery.run_due) to a receiver on loopback,
# with small timeouts and backoff; the SSRF tests switch ALLOW_PRIVATE off.
NOCO_WEBHOOKS_RUNNER = "manual"
NOCO_WEBHOOKS_ALLOW_PRIVATE = True
NOCO_WEBHOOKS_TIMEOUT = 1.0
NOCO_WEBHOOKS_BACKOFF_BASE = 0.01
NOCO_WEBHOOKS_BACKOFF_MAX = 0.05
NOCO_WEBHOOKS_MAX_ATTEMPTS = 3
NOCO_WEBHOOKS_DISABLE_AFTER = 2
# In-process test clients never fetch static files; without finders whitenoise does not index
# the static folders for every new client (the live-server tests use the local profile).
WHITENOISE_USE_FINDERS = False
# A test request under a loaded machine can take 500 ms: recording it would add statements to
# tests that count them. tests/ops/test_slowlog.py turns the log on where it is the subject.
NOCO_SLOW_REQUEST_MS = 0
