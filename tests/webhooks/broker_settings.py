"""The `make run` profile with Redis as the Celery broker only (channel layer in memory).

test_faults.py freezes Redis to show that publishing webhooks never holds a write; with this
profile the write's only use of Redis is that publish. Realtime's own publishing to a hung
Redis is tested with the realtime consumers (tests/views/).
"""

from nocoplatform.settings.local import *  # noqa: F403

CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
