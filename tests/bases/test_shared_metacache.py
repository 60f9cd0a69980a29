"""The shared level of the metadata cache (bases/metacache.py) on a real Redis of this test's
own: a process that has not loaded a table takes it from Redis instead of the meta DB, a
change is seen at once (the version is in the key), and a hung Redis costs no error."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from bases import metacache, schema_services
from bases.demo import create_demo_base
from permissions.checks import Actor
from tests.redis_process import RedisProcess

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared_cache(tmp_path):
    redis = RedisProcess(tmp_path)
    redis.start()
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis.url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    metacache.clear()
    metacache._shared_down_until[0] = 0.0
    with override_settings(CACHES=caches, NOCO_META_CACHE_RETRY=30):
        yield redis
    metacache.clear()
    metacache._shared_down_until[0] = 0.0
    redis.resume()
    redis.kill()


def load(table_id):
    """What another process does on its first request for the table."""
    metacache.clear()  # this process forgets: as a process that never loaded it
    with CaptureQueriesContext(connection) as queries:
        table = metacache.get_table(table_id)
    return table, len(queries)


def test_a_process_that_never_loaded_a_table_takes_it_from_redis(
    shared_cache, django_user_model
):
    owner = django_user_model.objects.create_user(
        username="o@example.com", password="pw-o-12345"
    )
    base = create_demo_base(owner)
    projects = base.tables.get(title="projects")
    shared_cache.client().flushall()  # nothing shared yet
    first, from_db = load(projects.pk)  # loads from the meta DB, stores in Redis
    second, from_redis = load(projects.pk)
    assert from_redis < from_db and from_redis == 1  # only the version check
    assert [f.title for f in second._table_meta.fields] == [
        f.title for f in first._table_meta.fields
    ]
    # A change is seen at once: its version is another key.
    schema_services.field_create(
        actor=Actor(user=owner),
        table=projects,
        data={"title": "extra", "uidt": "Number"},
    )
    third, queries = load(projects.pk)
    assert "extra" in [f.title for f in third._table_meta.fields] and queries > 1
    # No decrypted connection setting rides along to Redis.
    assert "_config" not in third.source.__dict__


def test_a_hung_redis_costs_no_error_and_is_skipped_for_a_while(
    shared_cache, django_user_model
):
    owner = django_user_model.objects.create_user(
        username="o@example.com", password="pw-o-12345"
    )
    base = create_demo_base(owner)
    tasks = base.tables.get(title="tasks")
    load(tasks.pk)
    shared_cache.hang()
    t0 = time.monotonic()
    table, _ = load(tasks.pk)  # Redis times out: the meta DB answers
    assert table is not None and "title" in [f.title for f in table._table_meta.fields]
    assert time.monotonic() - t0 < 3
    t1 = time.monotonic()
    table, _ = load(tasks.pk)  # skipped at once now
    assert table is not None and time.monotonic() - t1 < 0.5
