"""Per-process fan-out: a process joins each table's group ONCE and hands every message to its
own sockets directly, instead of every socket being a member of the group.

With 100 sockets on a table, a write is then one group_send (one queue put, or one Redis message
per process) and 100 in-process calls — not 100 channel-layer messages each read by its own
task. Messages carry their `group` (broadcast.send adds it) so the hub knows whose they are.
One hub per event loop and channel layer (tests make a new loop and layer per test).

On Redis, the hub also keeps its state there alive, because Redis may lose it (restarted empty,
flushed) or be away for a while:
- joining a group registers its table as watched (registry.py) before the socket is accepted,
  and the keeper refreshes those registrations every registry.REFRESH seconds;
- every KEEP_EVERY seconds the keeper renews a mark key of this hub; when the mark is gone
  (Redis lost our state) or a call to Redis failed meanwhile, it joins all its groups and
  registers all its tables again, then tells its sockets to re-sync (`table.resync`): messages
  may have been lost, so their pages re-fetch what they show;
- each call to Redis is bounded (TIMEOUT); while Redis is known to be away, sockets still
  connect (their groups are joined by the keeper when it answers again).
A socket's consumer leaves the hub in every path, exceptions included (consumer.py).

Presence of a process that died without saying goodbye (SIGKILL, a lost machine) expires: see
"liveness" below.
"""

from __future__ import annotations

import asyncio
import logging
import time
from itertools import islice

from channels.layers import get_channel_layer
from django.conf import settings

from views.realtime import registry
from views.realtime.broadcast import MAX_IDS, table_of

log = logging.getLogger(__name__)

REJOIN = 3600.0  # re-add the hub's memberships hourly (channel-layer groups expire)
KEEP_EVERY = 1.0  # seconds between the keeper's checks that Redis still holds our state
TIMEOUT = 2.0  # seconds one of the hub's calls to Redis may take
REJOIN_TIMEOUT = 10.0  # seconds joining every group again may take
# A fan-out taking D > BUSY seconds makes the table's next one wait min(GATHER,
# GATHER_FACTOR * D) (_send_out).
BUSY = 0.002
GATHER = 0.1
GATHER_FACTOR = 4
# People named to a table's sockets; beyond, only their number (see _presence).
SHOWN = 25
COUNT_EVERY = 1.0  # seconds between two `count` messages of a table
# Another process's people on a table are dropped after this many seconds without a word from
# it (settings.NOCO_PRESENCE_EXPIRE); each process beats three times per period (_beat).
EXPIRE = 15.0
BEATS_PER_EXPIRY = 3

_hubs: dict[int, Hub] = {}


class Hub:
    def __init__(self, layer, clock=time.monotonic):
        self.layer = layer
        self.clock = clock  # presence liveness only (tests set their own)
        self.channel: str | None = None
        self.groups: dict[str, set] = {}
        self.joined_at = time.monotonic()
        self.registered_at = 0.0
        self.task: asyncio.Task | None = None
        self.keeper: asyncio.Task | None = None
        self.lock = asyncio.Lock()  # joins and leaves reach the layer in their order
        self.on_redis = registry.supported(layer)
        self.healthy = True  # the last call to the layer answered
        self.dirty = False  # a call failed: memberships may be missing in the layer
        self.marked = False  # our mark was set in Redis at least once
        self.background: set[asyncio.Task] = set()
        # group -> client -> {who, focus, hub: the hub channel of the process holding it}
        self.people: dict[str, dict[str, dict]] = {}
        # group -> hub channel of another process -> when we last heard from it there
        self.heard: dict[str, dict[str, float]] = {}
        self.expire = float(getattr(settings, "NOCO_PRESENCE_EXPIRE", EXPIRE))
        self.beat_every = self.expire / BEATS_PER_EXPIRY
        self.beat_at = 0.0
        self.beating: asyncio.Task | None = None
        self.swept_at = clock()
        self.counting: set[str] = set()  # groups with a `count` message due
        self.outbox: dict[str, list[dict]] = {}  # group -> messages waiting (_send_out)

    async def start(self):
        # The default prefix: channels_redis pops all of a process's channels from ONE Redis
        # key derived from it; another prefix would be starved while a socket's receive waits.
        self.channel = await self.layer.new_channel()
        loop = asyncio.get_running_loop()
        self.task = loop.create_task(self._read())
        self.keeper = loop.create_task(self._keep())

    # --- membership ---------------------------------------------------------------------
    async def add(self, consumer, groups: list[str]) -> list[str]:
        """Hand the groups' messages to `consumer` from now on; the groups this process was
        not on before (it then asks the others who is there: presence)."""
        new = []
        for group in groups:
            members = self.groups.setdefault(group, set())
            if not members:
                new.append(group)
            members.add(consumer)
        if not new:
            return new
        if not self.healthy:
            self.dirty = True  # the keeper joins them once Redis answers
            return new
        try:
            async with self.lock:
                await asyncio.wait_for(self._join(new), TIMEOUT)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._broken("join", exc)
        return new

    def remove(self, consumer, groups: list[str]) -> None:
        """Forget the consumer now (no await: safe in any `finally`); groups left empty are
        left in the layer by a task of their own."""
        empty = []
        for group in groups:
            members = self.groups.get(group)
            if members is None:
                continue
            members.discard(consumer)
            if not members:
                del self.groups[group]
                self.people.pop(group, None)  # no longer told: forget
                self.heard.pop(group, None)
                empty.append(group)
        if empty:
            self._spawn(self._leave(empty))

    async def _join(self, groups: list[str]) -> None:
        for group in groups:
            await self.layer.group_add(group, self.channel)
        if self.on_redis:
            await registry.register(self.layer, _tables(groups))

    async def _leave(self, groups: list[str]) -> None:
        async with self.lock:
            groups = [
                g for g in groups if g not in self.groups
            ]  # joined again meanwhile
            if not groups or not self.healthy:
                return
            try:
                for group in groups:
                    await asyncio.wait_for(
                        self.layer.group_discard(group, self.channel), TIMEOUT
                    )
            except Exception as exc:  # the group expires in the layer by itself
                self._broken("leave", exc)

    # --- messages -----------------------------------------------------------------------
    async def _read(self):
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: the keeper restores our groups
                stopping()
                self._broken("receive", exc)
                await asyncio.sleep(0.5)
                continue
            group = message.get("group", "")
            if group in self.groups:
                self._enqueue(group, message)

    # --- fan-out, coalesced under load --------------------------------------------------
    # Each table's messages go to its sockets in order from one task (`_send_out`). While it
    # hands a batch to the sockets, new messages wait in the table's outbox. After a fan-out
    # that took D > BUSY seconds (many sockets) the next one waits min(GATHER,
    # GATHER_FACTOR * D): a busy table's fan-outs then take at most a fifth of the process's
    # time, each carrying every write since the last (consecutive `table.rows` of the same
    # kind, fields and origin become one message with their ids together), and the process
    # keeps time for the writes themselves. A small table's message goes out at once.
    # Measured (bench/RESULTS.md, 2 cores, 1,000 sockets over two processes, 50 edits/s):
    # p95 edit-to-client 0.5-0.6 s with every fan-out as soon as the last ended, 0.19-0.20 s
    # with the wait; 100 sockets: 19 ms.

    def _enqueue(self, group: str, message: dict) -> None:
        box = self.outbox.get(group)
        if box is None:
            self.outbox[group] = [message]
            self._spawn(self._send_out(group))
        else:
            box.append(message)

    async def _send_out(self, group: str) -> None:
        while True:
            box = self.outbox.get(group)
            if not box:
                self.outbox.pop(group, None)
                return
            self.outbox[group] = []
            started = time.monotonic()
            for message in coalesce(box):
                members = self.groups.get(group)
                if members:
                    await self._deliver(message, members)
            took = time.monotonic() - started
            if took > BUSY:
                await asyncio.sleep(min(GATHER, took * GATHER_FACTOR))

    async def _deliver(self, message: dict, members: set) -> None:
        # `hub.*`: liveness between hubs, never handed to a socket. Not `presence.*`: a hub of
        # the previous release (a rolling deploy) would take it for a person's message.
        if message["type"].startswith(("presence.", "hub.")):
            for event in self._presence(message, members):
                await self._hand(event, members)
            return
        await self._hand(message, members)

    async def _hand(self, message: dict, members: set) -> None:
        handler_name = message["type"].replace(".", "_")
        for consumer in list(members):
            handler = getattr(consumer, handler_name, None)
            if handler is None:
                continue
            try:
                await handler(message)
            except Exception:
                log.exception("realtime hub: %s failed", handler_name)

    # --- presence -----------------------------------------------------------------------
    # The hub keeps who is on each of its tables (all processes' people: every join, leave
    # and focus reaches every process through the table's group). Only the first SHOWN of
    # them are named to the sockets (join, leave, focus, one at a time); the others are a
    # number (`count` of everyone, at most one per COUNT_EVERY seconds per table). A newcomer
    # gets the state in ONE message (`here`). Without the cap 1,000 sockets joining a table would make
    # 500,000 messages; with it, at most SHOWN per join.

    def snapshot(self, group: str, client: str) -> tuple[list[dict], int]:
        """(the first SHOWN people on the group's table but `client`, how many in all with
        `client`)."""
        people = self.people.get(group, {})
        shown = [p for c, p in islice(people.items(), SHOWN) if c != client]
        return shown, len(people) - (client in people) + 1

    def _presence(self, message: dict, members: set) -> list[dict]:
        """Apply a presence message to the table's state; the messages its sockets get."""
        group = message["group"]
        people = self.people.setdefault(group, {})
        kind = message["type"]
        origin = message.get("hub")
        if origin not in (None, self.channel) and not message.get("expired"):
            known = origin in self.heard.get(group, ())
            self.heard.setdefault(group, {})[origin] = self.clock()
            if kind == "hub.beat" and not known:
                # A live process we hold nobody of (its people expired while it or Redis
                # was slow, or its roster was lost): ask it who is there.
                self._spawn(self._ask(group, origin))
        if kind in ("hub.beat", "hub.ask"):
            if kind == "hub.ask":
                self._spawn(self._roster(group, message["reply_to"], members))
            return []
        if (
            kind == "presence.roster"
        ):  # other processes' people, for a new hub on the table
            out = []
            for person in message["people"]:
                out += self._presence(
                    {"type": "presence.join", "group": group, "hub": origin, **person},
                    members,
                )
            return out
        client = message["who"]["client"]
        if kind == "presence.join":
            if message.get("fresh") and message.get("reply_to") != self.channel:
                self._spawn(
                    self._roster(group, message["reply_to"], members, but=client)
                )
            person = people.get(client)
            if person is not None:
                # The same tab again, maybe through another process (it reconnected after
                # its process died): its entry lives as long as that process now.
                person["hub"] = origin or person["hub"]
                return []
            people[client] = {
                "who": message["who"],
                "focus": message.get("focus"),
                "hub": origin,
            }
            self._count_later(group)
            if len(people) > SHOWN:
                return []
            return [message] + self._focus_of(group, client)
        if kind == "presence.leave":
            person = people.get(client)
            if person is None:
                return []
            if origin is not None and person["hub"] not in (None, origin):
                return []  # the tab is on another process now: its old socket's leave
            was_shown = _position(people, client) < SHOWN
            del people[client]
            self._count_later(group)
            if not was_shown:
                return []
            out = [message]
            if len(people) >= SHOWN:  # the next one in line is named now
                promoted = next(islice(people, SHOWN - 1, None))
                who = people[promoted]["who"]
                out += [
                    {"type": "presence.join", "group": group, "who": who, "promoted": 1}
                ]
                out += self._focus_of(group, promoted)
            return out
        if kind == "presence.focus":
            person = people.get(client)
            if person is None:
                return []
            person["focus"] = message.get("focus")
            return [message] if _position(people, client) < SHOWN else []
        return [message]

    def _focus_of(self, group: str, client: str) -> list[dict]:
        person = self.people[group][client]
        if person["focus"] is None:
            return []
        return [
            {
                "type": "presence.focus",
                "group": group,
                "who": person["who"],
                "focus": person["focus"],
            }
        ]

    def _count_later(self, group: str) -> None:
        """How many are on the table (the page shows "+N" for those not named), sent at most
        once per COUNT_EVERY seconds whatever the joins and leaves meanwhile."""
        if group not in self.counting:
            self.counting.add(group)
            self._spawn(self._count(group))

    async def _count(self, group: str) -> None:
        await asyncio.sleep(COUNT_EVERY)
        self.counting.discard(group)
        members = self.groups.get(group)
        if members:
            count = len(self.people.get(group, {}))
            await self._hand(
                {"type": "presence.count", "group": group, "count": count}, members
            )

    async def _roster(
        self, group: str, reply_to: str, members: set, but: str | None = None
    ) -> None:
        """Answer a process new on the table (or one that lost our people) with this
        process's people but `but`, in ONE message."""
        who = [
            {"who": c.me, "focus": c.focus}
            for c in list(members)
            if c.me is not None  # a shared view's visitor: not shown
            and c.me["client"] != but
        ]
        if not who:
            return
        message = {
            "type": "presence.roster",
            "group": group,
            "hub": self.channel,
            "people": who,
        }
        try:
            await asyncio.wait_for(self.layer.send(reply_to, message), TIMEOUT)
        except Exception:
            log.warning("realtime hub: roster not sent", exc_info=True)

    async def _ask(self, group: str, origin: str) -> None:
        message = {"type": "hub.ask", "group": group, "reply_to": self.channel}
        try:
            await asyncio.wait_for(self.layer.send(origin, message), TIMEOUT)
        except Exception:
            log.warning("realtime hub: roster not asked", exc_info=True)

    # --- liveness: people of a process that died expire -------------------------------
    # A process killed without its sockets' leaves (SIGKILL, OOM, a lost machine) would stay
    # present in the others' hubs. So every hub with people on a table sends that table ONE
    # `hub.beat` {hub} every `expire / 3` seconds — per process and table, not per
    # socket: 1,000 sockets of one table over two processes make 2 beats per 5 s — and each
    # hub drops the people of a process it has not heard from on a table for `expire`
    # seconds (settings.NOCO_PRESENCE_EXPIRE, 15 s: three missed beats), telling its
    # sockets as for a leave (`leave`, then `count`). Any presence message of a process
    # counts as a beat. A beat from a process whose people were dropped (it was only slow)
    # makes the hub ask it for its roster again. A graceful stop still sends each socket's
    # leave at once (consumer.disconnect).

    def tick(self) -> None:
        """The keeper's presence work: expire silent processes' people, beat when due."""
        self.sweep()
        now = self.clock()
        if now - self.beat_at >= self.beat_every and self.healthy:
            if self.beating is None or self.beating.done():
                self.beat_at = now
                self.beating = asyncio.get_running_loop().create_task(self._beat())

    def sweep(self) -> None:
        """Drop the people of processes silent on a table for `expire` seconds."""
        now = self.clock()
        late = now - self.swept_at - 2 * KEEP_EVERY
        self.swept_at = now
        if late > 0 or not self.healthy:
            # This process was stalled or deaf (Redis away): the others' silence is not
            # theirs. Count it from now.
            for heard in self.heard.values():
                for origin, at in heard.items():
                    heard[origin] = max(at, now - self.expire / 2)
            return
        for group, heard in list(self.heard.items()):
            silent = {o for o, at in heard.items() if now - at > self.expire}
            if not silent:
                continue
            for origin in silent:
                del heard[origin]
            for client, person in list(self.people.get(group, {}).items()):
                if person["hub"] in silent:
                    log.info("realtime hub: %s expired (process silent)", client)
                    self._enqueue(
                        group,
                        {
                            "type": "presence.leave",
                            "group": group,
                            "who": person["who"],
                            "hub": person["hub"],
                            "expired": True,
                        },
                    )

    async def _beat(self) -> None:
        for group, members in list(self.groups.items()):
            if table_of(group) is None or not any(
                getattr(c, "me", None) is not None for c in list(members)
            ):
                continue
            try:
                await asyncio.wait_for(
                    self.layer.group_send(
                        group,
                        {"type": "hub.beat", "group": group, "hub": self.channel},
                    ),
                    TIMEOUT,
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._broken("presence beat", exc)
                return

    # --- keeping our state in the layer -------------------------------------------------
    async def _keep(self):
        while True:
            await asyncio.sleep(KEEP_EVERY)
            try:
                self.tick()
            except Exception:
                log.exception("realtime hub: presence liveness failed")
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                stopping()
                self._broken("keep-alive", exc)

    async def check(self) -> None:
        """Join every group again when the layer may have lost them; refresh registrations."""
        if not self.on_redis:
            if time.monotonic() - self.joined_at > REJOIN:
                await self._rejoin()
            return
        mark = f"{self.layer.prefix}:hub:{self.channel}"
        redis = self.layer.connection(self.layer.consistent_hash(mark))
        kept = await asyncio.wait_for(redis.expire(mark, int(registry.TTL)), TIMEOUT)
        lost = (self.marked and not kept) or self.dirty
        if lost or not kept or time.monotonic() - self.joined_at > REJOIN:
            self.dirty = False  # failures from here on count again
            await self._rejoin()
            await asyncio.wait_for(redis.set(mark, b"1", ex=int(registry.TTL)), TIMEOUT)
            self.marked = True
        elif time.monotonic() - self.registered_at >= registry.REFRESH:
            await asyncio.wait_for(
                registry.register(self.layer, _tables(self.groups)), TIMEOUT
            )
            self.registered_at = time.monotonic()
        if not self.healthy:
            log.warning("realtime hub: the channel layer answers again")
        self.healthy = True
        if lost:
            self._spawn(self._resync())

    async def _rejoin(self) -> None:
        async with self.lock:
            await asyncio.wait_for(self._join(list(self.groups)), REJOIN_TIMEOUT)
        self.joined_at = self.registered_at = time.monotonic()

    async def _resync(self) -> None:
        """Tell every socket of this process that messages may have been lost."""
        for group, members in list(self.groups.items()):
            if table_of(group) is not None:
                await self._deliver({"type": "table.resync", "group": group}, members)

    def _broken(self, what: str, exc: Exception) -> None:
        if self.healthy:
            log.warning("realtime hub: %s failed (%r); will join again", what, exc)
        self.healthy = False
        self.dirty = True

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)


def stopping() -> None:
    """Raise CancelledError when the running task is being cancelled.

    A loop that retries on errors must check this: channels_redis's receive can answer a
    cancellation with another exception (a KeyError from its buffer clean-up), and the retry
    would then outlive the cancellation — an event loop that never finishes closing."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def coalesce(messages: list[dict]) -> list[dict]:
    """Consecutive `table.rows` messages of one kind, written fields and origin as one
    (their ids together, in order; "many" past broadcast.MAX_IDS). Only those: merging writes
    of different fields would tell a socket that a row changed when only fields hidden from
    it did."""
    out: list[dict] = []
    for message in messages:
        last = out[-1] if out else None
        if (
            last is not None
            and message["type"] == "table.rows" == last["type"]
            and message["event"] == last["event"]
            and message.get("fields") == last.get("fields")
            and message.get("origin") == last.get("origin")
        ):
            if last.get("_merged") is None:
                last = out[-1] = {**last, "ids": list(last["ids"]), "_merged": True}
            last["many"] = last.get("many") or message.get("many")
            if not last["many"]:
                seen = set(last["ids"])
                last["ids"] += [i for i in message["ids"] if i not in seen]
                last["many"] = len(last["ids"]) > MAX_IDS
            if last["many"]:
                last["ids"] = []
            continue
        out.append(message)
    return out


def _position(people: dict, client: str) -> int:
    """Where `client` stands in the table's join order (only the first SHOWN matter)."""
    for i, c in enumerate(islice(people, SHOWN)):
        if c == client:
            return i
    return SHOWN


def _tables(groups) -> list[str]:
    return [t for t in map(table_of, groups) if t is not None]


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
