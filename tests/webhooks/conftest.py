"""A real HTTP receiver on loopback and a small table to fire webhooks from."""

from __future__ import annotations

import pytest

from bases.connections.config import ConnectionConfig
from bases.services import base_connect
from permissions.checks import Actor
from tests.conftest import service_missing
from tests.webhooks.receiver import start_receiver
from tests.webhooks.stack import RedisServer, Stack
from webhooks import events


@pytest.fixture
def receiver():
    rec, server = start_receiver()
    yield rec
    server.shutdown()
    server.server_close()


@pytest.fixture
def tasks_table(sqlite_db, user):
    """A `tasks` table (id, title, status, points) in a connected SQLite database."""
    sqlite_db.execute(
        "CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT, status TEXT, points INTEGER)"
    )
    base, _ = base_connect(
        actor=Actor(user=user),
        title="Work",
        config=ConnectionConfig.from_url(sqlite_db.url),
    )
    events.forget()
    return base.tables.get(table_name="tasks")


@pytest.fixture
def stack(tmp_path):
    """Make a Stack (web server, Celery workers, beat) on its own var/ folder; stopped after."""
    made = []

    def make(**env) -> Stack:
        s = Stack(tmp_path / f"var{len(made)}", **env)
        s.var.mkdir()
        made.append(s)
        return s

    yield make
    for s in made:
        s.stop_all()


@pytest.fixture
def redis_server(tmp_path):
    """A Redis of this test's own (free port, no persistence), to stop or freeze."""
    server = RedisServer(tmp_path)
    try:
        server.start()
    except (FileNotFoundError, AssertionError) as exc:
        service_missing("redis-server", exc)
    yield server
    server.stop()
