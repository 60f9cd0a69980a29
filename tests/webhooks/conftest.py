"""A real HTTP receiver on loopback and a small table to fire webhooks from."""

from __future__ import annotations

import pytest

from bases.connections import ConnectionConfig
from bases.services import base_connect
from permissions.checks import Actor
from tests.webhooks.receiver import start_receiver
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
