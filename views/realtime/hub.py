"""Per-process fan-out: a process joins each table's group ONCE and hands every message to its
own sockets directly, instead of every socket being a member of the group.

With 100 sockets on a table, a write is then one group_send (one queue put, or one Redis message
per process) and 100 in-process calls — not 100 channel-layer messages each read by its own
task. Messages carry their `group` (broadcast.send adds it) so the hub knows whose they are.
One hub per event loop and channel layer (tests make a new loop and layer per test).
"""

from __future__ import annotations

import asyncio
import logging
import time

from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

REJOIN = 3600.0  # re-add the hub's memberships hourly (channel-layer groups expire)

_hubs: dict[int, Hub] = {}


class Hub:
    def __init__(self, layer):
        self.layer = layer
        self.channel: str | None = None
        self.groups: dict[str, set] = {}
        self.joined_at = time.monotonic()
        self.task: asyncio.Task | None = None

    async def start(self):
        # The default prefix: channels_redis pops all of a process's channels from ONE Redis
        # key derived from it; another prefix would be starved while a socket's receive waits.
        self.channel = await self.layer.new_channel()
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def add(self, consumer, groups: list[str]) -> None:
        if time.monotonic() - self.joined_at > REJOIN:
            self.joined_at = time.monotonic()
            for group in self.groups:
                await self.layer.group_add(group, self.channel)
        for group in groups:
            members = self.groups.setdefault(group, set())
            if not members:
                await self.layer.group_add(group, self.channel)
            members.add(consumer)

    async def remove(self, consumer, groups: list[str]) -> None:
        for group in groups:
            members = self.groups.get(group)
            if members is None:
                continue
            members.discard(consumer)
            if not members:
                del self.groups[group]
                await self.layer.group_discard(group, self.channel)

    async def _read(self):
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # the layer (Redis) hiccuped: try again shortly
                log.exception("realtime hub: receive failed")
                await asyncio.sleep(0.5)
                continue
            members = self.groups.get(message.get("group", ""))
            if not members:
                continue
            handler_name = message["type"].replace(".", "_")
            if message["type"] == "presence.join":
                await self._roster(message, members)
            for consumer in list(members):
                handler = getattr(consumer, handler_name, None)
                if handler is None:
                    continue
                try:
                    await handler(message)
                except Exception:
                    log.exception("realtime hub: %s failed", handler_name)

    async def _roster(self, join: dict, members: set) -> None:
        """Answer a newcomer with everyone of this process on the table, in ONE message (not
        one per socket: 100 sockets joining would otherwise make 10,000 messages)."""
        who = [
            {"who": c.me, "focus": c.focus}
            for c in members
            if c.me is not None  # a shared view's visitor: not shown
            and c.me["client"] != join["who"]["client"]
        ]
        if not who:
            return
        try:
            await self.layer.send(
                join["reply_to"], {"type": "presence.roster", "people": who}
            )
        except Exception:
            log.exception("realtime hub: roster not sent")


async def hub() -> Hub:
    """This event loop's hub on the current channel layer."""
    loop = asyncio.get_running_loop()
    layer = get_channel_layer()
    current = _hubs.get(id(loop))
    if current is None or current.layer is not layer or current.task.done():
        current = Hub(layer)
        _hubs[id(loop)] = current
        await current.start()
    return current
