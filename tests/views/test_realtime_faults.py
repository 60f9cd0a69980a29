"""Realtime on a real Redis that breaks: hung (SIGSTOP), restarted empty; and what a write costs
in Redis connections and commands (issues 16 and 23).

Each test starts its own `redis-server` on a free port (tests/redis_process.py), never the
machine's shared one, and points the channel layer at it exactly as settings/base.py does for
REDIS_URL. Sockets are real consumers (WebsocketCommunicator) on this test's event loop — the
websocket server's part. Writes go through the REST API in a plain thread of their own, with no
event loop around them: what a WSGI worker of the production profile (granian) does.
"""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest
from channels.layers import channel_layers
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import connections

from nocoplatform.routing import websocket_urlpatterns
from tests.redis_process import RedisProcess
from views.realtime import broadcast, publisher, registry

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faults]

router = URLRouter(websocket_urlpatterns)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def redis_layer(redis_server, settings):
    """The channel layer on this test's Redis, configured as settings/base.py does it."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": redis_server.url, "socket_timeout": 30}],
                "prefix": "noco-fault-" + secrets.token_hex(3),
                "capacity": 1000,
            },
        }
    }
    channel_layers.backends.clear()
    yield redis_server
    publisher.shutdown()
    channel_layers.backends.clear()
    broadcast._local.clear()


@pytest.fixture
def tasks(demo):
    return demo.tables.get(title="tasks")


async def connect(table, user, client="tab"):
    comm = WebsocketCommunicator(router, f"/ws/tables/{table.pk}/?client={client}")
    comm.scope["user"] = user
    ok, _ = await comm.connect(timeout=5)
    assert ok
    hello = await comm.receive_json_from(timeout=5)
    assert hello["type"] == "hello"
    return comm


async def heard(comm, kind: str, within: float) -> dict | None:
    """The next message of this type arriving within `within` seconds, else None.

    Polls with receive_nothing: a timed-out receive would cancel the consumer."""
    deadline = time.monotonic() + within
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        if await comm.receive_nothing(timeout=min(left, 0.1), interval=0.01):
            continue
        msg = await comm.receive_json_from(timeout=1)
        if msg["type"] == kind:
            return msg


def patcher(api, table, field="name"):
    """A PATCH of one record through the API, run in a fresh thread with no event loop (as a
    WSGI worker runs it); returns (status, seconds)."""

    def patch(record_id: int, name: str):
        t0 = time.monotonic()
        try:
            r = api.patch(
                f"/api/v2/tables/{table.pk}/records",
                {"Id": record_id, field: name},
                format="json",
            )
            return r.status_code, time.monotonic() - t0
        finally:
            connections.close_all()

    async def run(record_id: int, name: str, limit: float | None = None):
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(None, patch, record_id, name)
        if limit is None:
            return await future
        done, _ = await asyncio.wait({future}, timeout=limit)
        if not done:
            return None, future  # still waiting: the caller decides
        return future.result()

    return run


def run(coro_fn, limit: float = 90):
    """Run a scenario on a loop of its own, bounded: a hang fails the test instead of the run.

    Tasks left behind (the hub's reader, a consumer) are cancelled and given 5 s; one that
    ignores its cancellation (seen once after a Redis restart, in channels_redis's receive) is
    left to die with the loop rather than hold the suite, as asyncio.run would."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(coro_fn(), limit))
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=5))
        loop.close()


def test_writes_answer_at_once_while_redis_is_hung(redis_layer, projects, user, api):
    """Issue 16: a PATCH took 30 s (the layer's socket timeout) while Redis was SIGSTOPped."""
    write = patcher(api, projects)

    async def scenario():
        watcher = await connect(projects, user, "watcher")
        status, _ = await write(1, "before the hang")
        assert status == 200
        assert await heard(watcher, "rows.updated", 5), "realtime works before the hang"

        redis_layer.hang()
        took = []
        try:
            # Longer than a send may take (publisher.SEND_TIMEOUT), writes all along.
            for i in range(10):
                status, seconds = await write(2, f"during the hang {i}", limit=3)
                assert status == 200, (
                    f"PATCH {i} still waiting after 3 s with Redis hung (status {status})"
                )
                took.append(seconds)
                await asyncio.sleep(0.3)
        finally:
            redis_layer.resume()
        assert max(took) < 0.5, took

        # Those writes' messages were dropped, not queued behind the hang: once Redis
        # answers, the socket is told to re-fetch instead.
        assert await heard(watcher, "resync", 8), "no resync after the hang"
        # And writes reach the socket again.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status, _ = await write(3, "after the hang")
            assert status == 200
            if await heard(watcher, "rows.updated", 0.5):
                break
        else:
            pytest.fail("no update reached the socket within 10 s of Redis resuming")
        await watcher.disconnect()

    run(scenario)


def test_realtime_recovers_within_5_s_of_redis_restarting_empty(
    redis_layer, projects, user, api
):
    """Issue 16: after Redis restarted empty, a table that had sockets stayed deaf for good."""
    write = patcher(api, projects)

    async def scenario():
        old = await connect(projects, user, "old")
        status, _ = await write(1, "before the restart")
        assert status == 200
        assert await heard(old, "rows.updated", 5)

        redis_layer.restart_empty()
        back = time.monotonic()
        fresh = await connect(projects, user, "fresh")  # a new or reconnecting tab
        n = 0
        while time.monotonic() - back < 5:
            n += 1
            status, _ = await write(2, f"after the restart {n}")
            assert status == 200
            if await heard(fresh, "rows.updated", 0.25):
                break
        else:
            pytest.fail("a new socket on the table heard nothing within 5 s")
        # The socket from before the restart lived through it and hears that write too.
        assert await heard(old, "rows.updated", 1)
        await old.disconnect()
        await fresh.disconnect()

    run(scenario)


def test_socket_from_before_a_restart_is_told_to_resync(
    redis_layer, projects, user, api
):
    """Writes made while Redis was away never reach the socket: it is told to re-fetch."""
    write = patcher(api, projects)

    async def scenario():
        tab = await connect(projects, user, "tab")
        redis_layer.kill()
        status, seconds = await write(4, "while Redis was down")
        assert status == 200 and seconds < 0.5
        redis_layer.start()
        msg = await heard(tab, "resync", 5)
        assert msg == {"type": "resync", "table": projects.pk}
        await tab.disconnect()

    run(scenario)


def test_writes_open_a_constant_number_of_redis_connections(
    redis_layer, projects, user, api
):
    """Issue 23: 1,138 PATCHes opened 1,141 Redis connections (a fresh event loop, so a fresh
    pool, per write)."""
    write = patcher(api, projects)

    async def scenario():
        watcher = await connect(projects, user, "watcher")
        status, _ = await write(1, "warm up")
        assert status == 200
        assert await heard(watcher, "rows.updated", 5)
        before = redis_layer.stats()["total_connections_received"]
        for i in range(40):
            status, _ = await write(1 + i % 5, f"edit {i}")
            assert status == 200
        # Every one was published (and so used a connection) before counting.
        for _ in range(40):
            assert await heard(watcher, "rows.updated", 5), "an update went missing"
        opened = redis_layer.stats()["total_connections_received"] - before
        # INFO itself is one connection each (the counting client).
        assert opened <= 3, f"40 writes opened {opened} Redis connections"
        await watcher.disconnect()

    run(scenario)


def test_no_redis_traffic_for_a_table_nobody_watches(
    redis_layer, projects, tasks, user, api
):
    """Issue 23: every write sent a group_send to Redis, watched or not."""
    unwatched = patcher(api, tasks, "title")
    watched = patcher(api, projects)

    async def scenario():
        watcher = await connect(projects, user, "watcher")
        status, _ = await watched(1, "warm up")
        assert status == 200
        assert await heard(watcher, "rows.updated", 5)
        await asyncio.sleep(1.5)  # the publisher has read who watches what by now

        zrange = redis_layer.calls("zrange")  # group_send reads the group's members
        before, t0 = redis_layer.stats()["total_commands_processed"], time.monotonic()
        for i in range(60):
            status, _ = await unwatched(1 + i % 5, f"nobody sees {i}")
            assert status == 200
        await asyncio.sleep(0.3)
        commands = redis_layer.stats()["total_commands_processed"] - before
        elapsed = time.monotonic() - t0
        assert redis_layer.calls("zrange") == zrange, (
            "a group_send for an unwatched table"
        )
        # What remains is the periodic work (hub keep-alive, registry reads and refreshes,
        # the layer's blocking receive, these INFO calls): a few per second. A publish per
        # write would be at least 4 commands each, 240 here.
        assert commands <= 6 + 8 * elapsed, (commands, elapsed)

        # The watched table still is: its writes do reach Redis and the socket.
        status, _ = await watched(2, "seen")
        assert status == 200
        assert await heard(watcher, "rows.updated", 5)
        assert redis_layer.calls("zrange") > zrange
        await watcher.disconnect()

    run(scenario)


def test_a_new_publisher_sends_nothing_for_an_unwatched_table(
    redis_layer, projects, tasks, user, api
):
    """Until its first read of the registry a publisher counts every table as watched (a
    process that just started loses nothing), but what it queued meanwhile is looked at again
    after that read: a new process's first write to a table nobody watches reaches no Redis
    (seen in the production-profile test: a granian worker's first PATCH was published)."""
    unwatched = patcher(api, tasks, "title")
    watched = patcher(api, projects)

    async def scenario():
        watcher = await connect(projects, user, "watcher")
        publisher.shutdown()  # the next write starts a publisher that has read nothing
        status, _ = await unwatched(1, "a new publisher's first write")
        assert status == 200
        pub = publisher.for_layer(channel_layers["default"])
        assert await asyncio.to_thread(pub.flush, 5)
        assert pub.watched is not None, "the publisher never read the registry"
        assert str(tasks.pk) not in pub.watched
        assert (pub.sent, pub.dropped) == (0, 0), "a publish for an unwatched table"
        # The watched table's writes still go out, from the same new publisher.
        status, _ = await watched(1, "seen")
        assert status == 200
        assert await heard(watcher, "rows.updated", 5)
        assert pub.sent >= 1
        await watcher.disconnect()

    run(scenario)


def test_a_socket_that_dies_leaves_the_hub(projects, user):
    """However a socket ends (here its task is cancelled, as a crashed or killed connection's
    is), it leaves this process's hub and socket count: a dead member would keep the process
    from joining the table's group again for the sockets that come after it."""
    from views.realtime.hub import hub

    channel_layers.backends.clear()  # the in-memory layer, this loop's own

    async def scenario():
        comm = await connect(projects, user, "doomed")
        h = await hub()
        assert len(h.groups[f"table.{projects.pk}"]) == 1
        assert str(projects.pk) in broadcast._local
        comm.future.cancel()
        with pytest.raises(asyncio.CancelledError):
            await comm.future
        assert f"table.{projects.pk}" not in h.groups
        assert str(projects.pk) not in broadcast._local

    try:
        run(scenario)
    finally:
        channel_layers.backends.clear()
        broadcast._local.clear()


def test_a_process_that_exits_sends_its_last_messages_first(redis_layer, tmp_path):
    """A management command's (or a stopping worker's) last write still reaches the sockets:
    the publisher's queue is flushed at exit (at most publisher.EXIT_WAIT seconds)."""
    import subprocess
    import sys

    from channels.layers import get_channel_layer

    from tests.conftest import LIVE_ROOT

    layer = get_channel_layer()
    prefix = layer.prefix
    script = (
        "import django; django.setup()\n"
        "from views.realtime import broadcast\n"
        "broadcast.send('table.exit1', {'type': 'table.rows', 'event': 'rows.updated',"
        " 'table': 'exit1', 'ids': ['1'], 'many': False, 'fields': [], 'origin': ''})\n"
    )

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add("table.exit1", channel)
        # As a socket's hub does when it joins: the table is registered as watched, so
        # the command's publisher (which reads the registry first) sends to it.
        await registry.register(layer, ["exit1"])
        env = {
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.local",
            "NOCO_VAR_DIR": str(tmp_path),
            "REDIS_URL": redis_layer.url,
            "NOCO_CHANNELS_PREFIX": prefix,
        }
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", script],
            cwd=LIVE_ROOT,
            env=env,
            capture_output=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr.decode()
        message = await asyncio.wait_for(layer.receive(channel), 5)
        assert message["ids"] == ["1"] and message["group"] == "table.exit1"

    run(scenario)
