"""Presence of a process that died: its people expire from the other processes' hubs.

The other process is played by messages on the real (in-memory) channel layer, sent as a web
process's hub and sockets send them (`hub` names the sender); the hub's liveness clock is the
test's own, ticked a second at a time as the keeper ticks it.
"""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer

from tests.views.test_realtime import connect, next_presence, nothing_of
from views.realtime import broadcast
from views.realtime.broadcast import table_group
from views.realtime.hub import hub

pytestmark = pytest.mark.django_db(transaction=True)

OTHER = "specific.other-process!hub"  # another process's hub channel
THIRD = "specific.third-process!hub"


@pytest.fixture(autouse=True)
def fresh_layer():
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()
    broadcast._local.clear()


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def person(client):
    return {
        "client": client,
        "user": 99,
        "name": client,
        "initials": "X",
        "color": "red",
    }


async def from_other(table, kind, origin=OTHER, **fields):
    group = table_group(table.pk)
    await get_channel_layer().group_send(
        group, {"type": kind, "group": group, "hub": origin, **fields}
    )


def test_people_of_a_silent_process_expire_and_beats_keep_them(projects, user):
    async def scenario():
        watcher = await connect(projects, user, "watcher")
        h = await hub()
        clock = h.clock = Clock()
        h.swept_at = clock.now
        expire = h.expire
        assert expire == 15

        def tick(seconds):
            for _ in range(int(seconds)):
                clock.now += 1
                h.sweep()

        await from_other(projects, "presence.join", who=person("far"), reply_to=OTHER)
        assert (await next_presence(watcher, "join"))["who"]["client"] == "far"
        # Beats keep the person however long: expiry counts from the last one.
        for _ in range(4):
            tick(expire - 2)
            await from_other(projects, "hub.beat")
            await nothing_of(watcher, "presence", wait=0.1)
        # Any presence message of the process counts as one too.
        tick(expire - 2)
        await from_other(projects, "presence.focus", who=person("far"), focus=None)
        assert (await next_presence(watcher, "focus"))["who"]["client"] == "far"
        tick(expire - 2)
        await nothing_of(watcher, "presence", wait=0.2)
        # Then silence: gone after `expire` seconds, told as a leave, then the count.
        tick(3)
        leave = await next_presence(watcher, "leave")
        assert leave["who"]["client"] == "far"
        assert (await next_presence(watcher, "count"))["count"] == 1
        assert h.snapshot(table_group(projects.pk), "watcher") == ([], 1)
        await watcher.disconnect()

    async_to_sync(scenario)()


def test_a_tab_that_moved_to_another_process_stays(projects, user):
    """Its process died, the tab reconnected through another one: the dead process's expiry
    (or its old socket's late leave) does not take it away."""

    async def scenario():
        watcher = await connect(projects, user, "watcher")
        h = await hub()
        clock = h.clock = Clock()
        h.swept_at = clock.now
        await from_other(projects, "presence.join", who=person("mover"), reply_to=OTHER)
        assert (await next_presence(watcher, "join"))["who"]["client"] == "mover"
        await from_other(
            projects, "presence.join", THIRD, who=person("mover"), reply_to=THIRD
        )
        await from_other(projects, "presence.leave", who=person("mover"))  # OTHER's
        for _ in range(int(h.expire) - 1):
            clock.now += 1
            h.sweep()
            await from_other(projects, "hub.beat", THIRD)
        clock.now += 2
        h.sweep()
        await nothing_of(watcher, "presence", wait=0.3)
        assert [
            p["who"]["client"]
            for p in h.snapshot(table_group(projects.pk), "watcher")[0]
        ] == ["mover"]
        await watcher.disconnect()

    async_to_sync(scenario)()


def test_a_stalled_hub_does_not_blame_the_others(projects, user):
    """When this process itself heard nothing for a while (its loop stalled, Redis away),
    the others' silence is not theirs: nobody expires at once."""

    async def scenario():
        watcher = await connect(projects, user, "watcher")
        h = await hub()
        clock = h.clock = Clock()
        h.swept_at = clock.now
        await from_other(projects, "presence.join", who=person("far"), reply_to=OTHER)
        assert (await next_presence(watcher, "join"))["who"]["client"] == "far"
        clock.now += 3 * h.expire  # one sweep after a long stall
        h.sweep()
        await nothing_of(watcher, "presence", wait=0.3)
        # Still silent afterwards: expires within the period.
        for _ in range(int(h.expire)):
            clock.now += 1
            h.sweep()
        assert (await next_presence(watcher, "leave"))["who"]["client"] == "far"
        await watcher.disconnect()

    async_to_sync(scenario)()


def test_a_beat_of_a_process_we_hold_nobody_of_asks_for_its_roster(projects, user):
    """Its people were dropped while it was only slow: its next beat brings them back."""

    async def scenario():
        watcher = await connect(projects, user, "watcher")
        h = await hub()
        layer = get_channel_layer()
        other = await layer.new_channel()
        await from_other(projects, "hub.beat", other)
        ask = await layer.receive(other)
        assert ask["type"] == "hub.ask" and ask["reply_to"] == h.channel
        group = table_group(projects.pk)
        await layer.send(
            ask["reply_to"],
            {
                "type": "presence.roster",
                "group": group,
                "hub": other,
                "people": [{"who": person("back"), "focus": None}],
            },
        )
        assert (await next_presence(watcher, "join"))["who"]["client"] == "back"
        # A known process's beat asks nothing.
        await from_other(projects, "hub.beat", other)
        await nothing_of(watcher, "presence", wait=0.2)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(layer.receive(other), 0.2)
        await watcher.disconnect()

    async_to_sync(scenario)()


def test_this_process_beats_each_table_it_has_people_on(projects, user):
    async def scenario():
        watcher = await connect(projects, user, "watcher")
        h = await hub()
        layer = get_channel_layer()
        listener = await layer.new_channel()
        await layer.group_add(table_group(projects.pk), listener)
        h.beat_at = 0.0
        h.tick()
        while True:
            msg = await layer.receive(listener)
            if msg["type"] == "hub.beat":
                break
        assert msg["hub"] == h.channel and msg["group"] == table_group(projects.pk)
        await watcher.disconnect()

    async_to_sync(scenario)()
