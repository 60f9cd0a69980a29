"""The table socket: `ws/tables/<table id>/?client=<tab id>`, one per browser tab.

Authenticated by the session (Channels' AuthMiddlewareStack). On connect the user must be allowed
`records.read` on the table (else the socket is closed with 4404, as a missing table). Then it
joins the table's group and the base's access group, and announces itself for presence.

Per-recipient filtering happens here, in `_visible_fields` and the handlers:
- a write's `fields` are cut to the fields this user may see; an update that touched none of
  them is not sent at all (so a hidden field's edits leave no trace);
- a change of membership, table role or field rule in the base (access group) makes every socket
  re-check at once: lost access -> `access.revoked` and close(4403); other visible fields ->
  `schema.changed`. As a safety net the check is also repeated at most every RECHECK seconds
  before forwarding a message;
- the tab a write came from (`origin` == this socket's client id) is not sent it again.

A gallery, kanban or calendar page opens its socket with `?view=<id>&q=<search>`: it then
receives rendered cards (`cards`, views/realtime/live.py) instead of `rows.*`, rendered for its
user once per message for all such sockets of this process alike.

Shared-view visitors (no account) use `ShareConsumer` (`/s/<token>/ws`, below): authenticated
by the link's token and, for a link with a password, the signed cookie its page set; they
receive only that view's rows (`shared.rows`), no presence, and a revoked or regenerated link
(or a changed password) closes their socket at once (`share.changed` from notices.py).

Messages from the browser: {"type": "focus", "row": id, "field": field id} when a cell is
selected or edited (`"editing": true`), {"type": "blur"}, {"type": "ping"} (answered "pong").
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch

from views.realtime import broadcast, live, registry
from views.realtime.broadcast import access_group, table_group
from views.realtime.hub import hub

# Seconds between permission re-checks without an access event (a safety net: membership,
# table-role and field-rule changes re-check at once). Spread per socket so 100 sockets do not
# all query the meta DB on the same message.
RECHECK = 120.0
CLIENT_ID_MAX = 64
LAYER_TIMEOUT = 2.0  # seconds a presence message may wait on the channel layer (Redis)
# With the Redis registry of watched tables, other processes learn of a new socket's table
# within registry.READ_EVERY: the grid re-fetches its rows once after this many seconds.
CATCHUP = registry.READ_EVERY + 0.5

log = logging.getLogger(__name__)


def _query(scope) -> dict[str, str]:
    """The socket URL's query parameters, first value of each."""
    raw = parse_qs(scope.get("query_string", b"").decode())
    return {k: v[0] for k, v in raw.items() if v}


def _identity(user, client: str) -> dict:
    name = (
        (user.get_full_name() if hasattr(user, "get_full_name") else "")
        or getattr(user, "email", "")
        or getattr(user, "username", "")
        or "?"
    )
    words = [w for w in name.replace("@", " ").replace(".", " ").split() if w]
    initials = "".join(w[0] for w in words[:2]).upper() or "?"
    hue = int(hashlib.sha256(str(user.pk).encode()).hexdigest()[:4], 16) % 360
    return {
        "client": client,
        "user": user.pk,
        "name": name,
        "initials": initials,
        "color": f"hsl({hue} 70% 45%)",
    }


def _actor_for(scope):
    """The actor this socket acts as. Shared-view visitors (a share token) would go here."""
    from permissions.checks import Actor

    return Actor(user=scope.get("user"))


def _visible_fields(table_id: str, actor) -> tuple[str, set[str]] | None:
    """(base id, ids of the fields the actor may see) or None when the table is not theirs.

    Reads memberships afresh (the user object's permission cache is dropped first)."""
    from bases.models import Table
    from bases.table_meta import TableMeta
    from nocoplatform.errors import DomainError
    from permissions.checks import can, forget

    if not actor.is_authenticated:
        return None
    forget(actor.user)
    table = Table.objects.select_related("base", "source").filter(pk=table_id).first()
    if table is None or not can(actor, "records.read", table):
        return None
    try:
        meta = TableMeta.of(table, actor=actor)
    except DomainError:
        return None
    return table.base_id, {f.id for f in meta.fields}


class TableConsumer(AsyncJsonWebsocketConsumer):
    async def __call__(self, scope, receive, send):
        """Channels' AsyncConsumer.__call__, except that the socket does not read a channel
        of its own (everything reaches it through the process's hub: one reader per process,
        not one per socket), and that it leaves the hub however it ends (a handler's
        exception, a cancelled task): a dead socket must not hold its table's group
        membership in this process."""
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = send
        if self.channel_layer is not None:
            self.channel_name = await self.channel_layer.new_channel()  # a name, no I/O
        try:
            await await_many_dispatch([receive], self.dispatch)
        except StopConsumer:
            pass
        finally:
            self._leave()

    async def connect(self):
        self.table_id = str(self.scope["url_route"]["kwargs"]["table_id"])
        query = parse_qs(self.scope.get("query_string", b"").decode())
        client = (query.get("client") or [""])[0][:CLIENT_ID_MAX]
        self.client = client or self.channel_name
        self.actor = _actor_for(self.scope)
        self.groups_joined: list[str] = []
        self.focus = None
        found = await database_sync_to_async(_visible_fields)(self.table_id, self.actor)
        if found is None:
            await self.close(code=4404)
            return
        self.base_id, self.fields = found
        self.checked = time.monotonic()
        self.recheck_every = RECHECK * (0.75 + random.random() / 2)  # noqa: S311
        self.me = _identity(self.actor.user, self.client)
        self._live_init()
        params = _query(self.scope)
        if params.get("view"):
            self.watch = await database_sync_to_async(live.watch_view)(
                self.table_id, params["view"][:40], self.actor, params.get("q", "")
            )
        # Group messages reach this socket through the process's hub (views/realtime/hub.py).
        self.groups_joined = [table_group(self.table_id), access_group(self.base_id)]
        self.hub = await hub()
        new = await self.hub.add(self, self.groups_joined)
        broadcast.joined(self.table_id)
        await self.accept()
        hello = {"type": "hello", "table": self.table_id, "you": self.me}
        if registry.supported(self.channel_layer):
            hello["catchup"] = CATCHUP
        await self.send_json(hello)
        # Who is here, in one message, from this process's hub (which follows every
        # process's joins); a process new on the table asks the others (`fresh`).
        people, count = self.hub.snapshot(table_group(self.table_id), self.client)
        if people or count > 1:
            await self.presence_here(people, count)
        await self._to_table(
            {
                "type": "presence.join",
                "who": self.me,
                "reply_to": self.hub.channel,
                "fresh": table_group(self.table_id) in new,
            }
        )

    async def _to_table(self, message: dict) -> None:
        """Presence to the table's group: bounded, and lost rather than hold the socket up
        while Redis is away. `hub` names this process (its people expire with it)."""
        group = table_group(self.table_id)
        try:
            await asyncio.wait_for(
                self.channel_layer.group_send(
                    group, {**message, "group": group, "hub": self.hub.channel}
                ),
                LAYER_TIMEOUT,
            )
        except Exception as exc:
            log.info("realtime: %s not sent (%r)", message.get("type"), exc)

    async def disconnect(self, code):
        joined = bool(getattr(self, "groups_joined", None))
        self._leave()
        if joined and self.me is not None:
            await self._to_table({"type": "presence.leave", "who": self.me})

    def _leave(self) -> None:
        """Out of the hub (and this process's count of sockets on the table); no await, so
        it also runs in `__call__`'s `finally`."""
        for task in getattr(self, "rendering", ()):
            task.cancel()
        groups = getattr(self, "groups_joined", None)
        if not groups:
            return
        self.groups_joined = []
        self.hub.remove(self, groups)
        broadcast.left(self.table_id)

    # --- live fragments (views/realtime/live.py) ----------------------------------------
    def _live_init(self) -> None:
        self.watch = None
        self.rendering: set[asyncio.Task] = set()
        self.sending = asyncio.Lock()  # fragments go out in the order of the writes

    def _render_later(self, event: dict) -> None:
        """Render this write for this socket's watch without holding up the hub (it hands
        the message to every socket of the process in turn); sockets that would receive the
        same fragments share one rendering through the event's cache."""
        cache = event.setdefault("_rendered", {})
        key = self.watch.key(self.fields)
        job = cache.get(key)
        if job is None:
            job = cache[key] = asyncio.ensure_future(
                database_sync_to_async(self.watch.render)(
                    event["event"], event["ids"], event.get("many", False)
                )
            )
        task = asyncio.ensure_future(self._send_rendered(job))
        self.rendering.add(task)
        task.add_done_callback(self.rendering.discard)

    async def _send_rendered(self, job) -> None:
        async with self.sending:
            try:
                message = await job
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("realtime: live fragments failed")
                message = {"type": "cards", "refresh": True}
            if not message or not self.fields:
                return
            if message.get("close"):
                await self._stop()
                return
            await self.send_json(message)

    async def _stop(self) -> None:
        """This socket may no longer receive anything."""
        self.fields = set()
        await self.send_json({"type": "access.revoked", "table": self.table_id})
        await self.disconnect(4403)
        await self.close(code=4403)

    # --- from the browser ---------------------------------------------------------------
    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind in ("focus", "blur"):
            focus = None
            if kind == "focus":
                row, field = content.get("row"), content.get("field")
                if not isinstance(row, (str, int)) or not isinstance(field, str):
                    return
                if field not in self.fields:
                    return
                focus = {
                    "row": str(row)[:200],
                    "field": field,
                    "editing": bool(content.get("editing")),
                }
            self.focus = focus
            await self._to_table(
                {"type": "presence.focus", "who": self.me, "focus": focus}
            )

    # --- permission ---------------------------------------------------------------------
    async def _recheck(self, force: bool = False) -> bool:
        """Re-read what this user may see; False (and the socket closed) when nothing."""
        if not force and time.monotonic() - self.checked < self.recheck_every:
            return True
        found = await database_sync_to_async(_visible_fields)(self.table_id, self.actor)
        self.checked = time.monotonic()
        if found is None:
            await self._stop()
            return False
        before = self.fields
        self.base_id, self.fields = found
        if force and before != self.fields:
            await self.send_json({"type": "schema.changed", "table": self.table_id})
        return True

    # --- from the channel layer ---------------------------------------------------------
    async def table_rows(self, event):
        if event.get("origin") and event["origin"] == self.client:
            return
        if not self.fields or not await self._recheck():
            return
        fields = [f for f in event.get("fields") or [] if f in self.fields]
        if event["event"] == "rows.updated" and event.get("fields") and not fields:
            return  # only fields hidden from this user changed
        if self.watch is not None:
            self._render_later(event)
            return
        # The hub hands the same event dict to every socket: encode each variant once.
        cache = event.setdefault("_encoded", {})
        key = tuple(fields)
        text = cache.get(key)
        if text is None:
            text = cache[key] = json.dumps(
                {
                    "type": event["event"],
                    "table": self.table_id,
                    "ids": event["ids"],
                    "many": event.get("many", False),
                    "fields": fields,
                }
            )
        await self.send(text_data=text)

    async def table_notice(self, event):
        if event.get("origin") and event["origin"] == self.client:
            return
        if not self.fields:
            return
        if event["event"] == "schema.changed":
            if not await self._recheck(force=True):
                return
        if event.get("field") is not None and event["field"] not in self.fields:
            return  # about a field hidden from this socket's user (a kanban's stacks)
        message = {
            k: v
            for k, v in event.items()
            if k not in ("type", "origin", "group", "_encoded", "field")
        }
        message["type"] = message.pop("event")
        await self.send_json(message)

    async def access_changed(self, event):
        if self.fields:
            await self._recheck(force=True)

    async def table_resync(self, event):
        """Messages for this table may have been lost (Redis restarted, or was away): check
        access again as after an access change, then have the page re-fetch what it shows."""
        if self.fields and await self._recheck(force=True):
            await self.send_json({"type": "resync", "table": self.table_id})

    async def presence_join(self, event):
        who = event["who"]
        if who["client"] == self.client or not self.fields:
            return
        message = {"type": "presence", "action": "join", "who": who}
        if event.get("promoted"):  # was there, not named: not one more person
            message["promoted"] = True
        await self.send_json(message)

    async def presence_here(self, people: list[dict], count: int) -> None:
        """Everyone named on the table (their focus where this user sees the field) and how
        many people are there in all (this tab included), in one message."""
        here = []
        for person in people:
            focus = person.get("focus")
            if focus is not None and focus["field"] not in self.fields:
                focus = None
            here.append({"who": person["who"], "focus": focus})
        await self.send_json(
            {"type": "presence", "action": "here", "people": here, "count": count}
        )

    async def presence_count(self, event):
        if self.fields:
            await self.send_json(
                {"type": "presence", "action": "count", "count": event["count"]}
            )

    async def presence_leave(self, event):
        if event["who"]["client"] != self.client and self.fields:
            await self.send_json(
                {"type": "presence", "action": "leave", "who": event["who"]}
            )

    async def presence_focus(self, event):
        if event["who"]["client"] == self.client or not self.fields:
            return
        focus = event.get("focus")
        if focus is not None and focus["field"] not in self.fields:
            focus = None  # a cell of a field hidden from this user: no outline
        await self.send_json(
            {"type": "presence", "action": "focus", "who": event["who"], "focus": focus}
        )


class ShareConsumer(TableConsumer):
    """A shared view's visitor: `/s/<token>/ws?client=<tab id>&q=…&sort=…&ff=…&fo=…&fv=…`
    (the page's own parameters, checked as the page checks them).

    The path lies under the link's page (`/s/<token>/`), so the browser sends the signed
    cookie a password-protected link sets there; without it (or with a wrong one) the socket
    is refused (4404) like an unknown link. Visitors see no presence and are not shown to
    members. Before each message, and at once on `share.changed` (the link revoked,
    regenerated or its password changed), on an access change in the base and on a change of
    the view, the link is checked again; when it no longer holds, the socket gets
    `share.revoked` and is closed (4404).
    """

    async def connect(self):
        token = str(self.scope["url_route"]["kwargs"]["token"])
        params = _query(self.scope)
        self.client = params.get("client", "")[:CLIENT_ID_MAX] or self.channel_name
        self.groups_joined = []
        self.focus = None
        self.me = None  # no presence for visitors
        self._live_init()
        watch = await database_sync_to_async(live.watch_share)(
            token, self.scope.get("cookies") or {}, params
        )
        if watch is None:
            await self.close(code=4404)
            return
        self.watch = watch
        self.table_id, self.base_id = watch.table_id, watch.base_id
        self.fields = set(watch.fields)
        self.checked = time.monotonic()
        self.recheck_every = RECHECK * (0.75 + random.random() / 2)  # noqa: S311
        self.groups_joined = [table_group(self.table_id), access_group(self.base_id)]
        self.hub = await hub()
        await self.hub.add(self, self.groups_joined)
        broadcast.joined(self.table_id)
        await self.accept()
        await self.send_json({"type": "hello"})

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def _recheck(self, force: bool = False) -> bool:
        if not force and time.monotonic() - self.checked < self.recheck_every:
            return True
        fields = await database_sync_to_async(live.share_fields)(self.watch)
        self.checked = time.monotonic()
        if fields is None:
            await self._stop()
            return False
        before, self.fields = self.fields, set(fields)
        if force and before != self.fields:
            await self.send_json({"type": "schema.changed"})
        return True

    async def _stop(self) -> None:
        self.fields = set()
        await self.send_json({"type": "share.revoked"})
        await self.disconnect(4404)
        await self.close(code=4404)

    async def table_notice(self, event):
        if not self.fields or event["event"] not in ("schema.changed", "view.changed"):
            return
        if event["event"] == "view.changed" and event.get("view") != self.watch.view_id:
            return
        if not await self._recheck(force=True):
            return
        message = {"type": event["event"], "shared": True}
        if event["event"] == "view.changed":
            message["deleted"] = bool(event.get("deleted"))
        await self.send_json(message)

    async def share_changed(self, event):
        if self.fields and event.get("view") == self.watch.view_id:
            await self._recheck(force=True)

    async def table_resync(self, event):
        if self.fields and await self._recheck(force=True):
            await self.send_json({"type": "resync"})

    async def presence_join(self, event):
        return

    async def presence_count(self, event):
        return

    async def presence_leave(self, event):
        return

    async def presence_focus(self, event):
        return
