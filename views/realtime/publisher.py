"""One publisher per process: committed writes reach the channel layer off the request thread.

A write's observer (broadcast.py) only appends its message to a bounded in-memory queue and
returns. A daemon thread owning ONE long-lived event loop sends the messages in order, so
channels_redis — which keeps its connection pool per event loop — reuses the same connection
for every write: a constant number of Redis connections per process. (`async_to_sync` per
write, in a WSGI worker, made a fresh loop, hence a fresh pool and a new connection, per write.)

Nothing here makes a request wait on Redis:
- a full queue (Redis slow, a burst) drops the message at once;
- every send has SEND_TIMEOUT seconds; a failed or timed-out send opens the circuit: for PAUSE
  seconds messages are dropped at once instead of queueing behind the same timeout;
- the group of every dropped message is remembered, and once Redis answers again it is sent
  one `table.resync` (or `access.changed` for a base's access group): its sockets re-check and
  their pages re-fetch what they show.
Realtime is best-effort; pages catch up by re-fetching (docs/realtime.md, "Guarantees").

It also reads which tables are watched (registry.py) every READ_EVERY seconds, so `watches()`,
asked on the request thread, is a dict look-up. Until the first read answers it says yes
(publish everything), so a process that just started loses nothing; a table's message queued
meanwhile is looked at again when its turn comes, after that read, and not sent if no socket
watches the table (a new process's first writes to an unwatched table cost no Redis traffic
either; a socket that registers later catches up by its re-fetch, consumer.CATCHUP).
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import logging
import os
import threading
import time

from views.realtime import registry

log = logging.getLogger(__name__)

CAPACITY = 1000  # messages waiting to be sent; more are dropped
SEND_TIMEOUT = 1.0  # seconds one send (or registry read) may take
PAUSE = 2.0  # seconds messages are dropped after a failed send, before trying again
LOG_EVERY = 30.0  # seconds between two warnings about dropped messages
EXIT_WAIT = 2.0  # seconds a process that exits waits for its last messages to go out


class Publisher:
    def __init__(self, layer):
        self.layer = layer
        self.pid = os.getpid()
        self.uses_registry = registry.supported(layer)
        # table id -> when its registration runs out (epoch s); None: not read yet (all count)
        self.watched: dict[str, float] | None = None
        self.queue: collections.deque = collections.deque()
        self.lock = threading.Lock()
        self.lost: dict[str, dict] = {}  # group -> the message that re-syncs it
        self.down_until = 0.0  # monotonic time until which the circuit is open
        self.broken = False  # the last call to Redis failed
        self.sent = self.dropped = 0
        self.sending = (
            False  # a message is on its way (taken from the queue, not yet sent)
        )
        self.logged_at = 0.0
        self.closed = False
        self.loop = asyncio.new_event_loop()
        self.wake = asyncio.Event()
        self.thread = threading.Thread(
            target=self._run, name="realtime-publisher", daemon=True
        )
        self.thread.start()

    # --- the request thread's side ---------------------------------------------------------
    def watches(self, table_id: str) -> bool:
        watched = self.watched
        if watched is None:
            return True
        until = watched.get(table_id)
        return until is not None and until > time.time()

    def watches_any(self) -> bool:
        watched = self.watched
        now = time.time()
        return watched is None or any(until > now for until in watched.values())

    def submit(self, group: str, message: dict) -> None:
        """Queue `message` for `group`; never blocks, never raises."""
        with self.lock:
            if self.closed:
                return
            if len(self.queue) >= CAPACITY or time.monotonic() < self.down_until:
                self._drop(group, message)
                return
            # Queued before the first registry read: `watches()` said yes without knowing.
            blind = self.uses_registry and self.watched is None
            self.queue.append((group, message, blind))
            first = len(self.queue) == 1
        if first:
            self._wake()

    def stop(self, wait: bool = False) -> None:
        with self.lock:
            self.closed = True
            self.queue.clear()
        self._wake()
        if wait:
            self.thread.join(timeout=SEND_TIMEOUT + 5)

    def flush(self, timeout: float) -> bool:
        """Wait (at most `timeout` s) until every queued message went out or was dropped."""
        deadline = time.monotonic() + timeout
        while self.alive():
            with self.lock:
                if not self.queue and not self.sending:
                    return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def alive(self) -> bool:
        return not self.closed and self.thread.is_alive()

    def _wake(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self.wake.set)
        except RuntimeError:  # the loop is closed: the publisher stopped
            pass

    def _drop(self, group: str, message: dict) -> None:
        """Count a message not sent and remember to re-sync its group (lock held)."""
        self.dropped += 1
        if message.get("type") == "access.changed":
            self.lost[group] = message
        else:
            self.lost[group] = {"type": "table.resync", "group": group}
        now = time.monotonic()
        if now - self.logged_at >= LOG_EVERY:
            self.logged_at = now
            log.warning(
                "realtime: %d message(s) dropped so far (Redis down, slow or hung); "
                "their tables re-sync when it answers",
                self.dropped,
            )

    # --- the publisher thread ---------------------------------------------------------------
    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except Exception:
            log.exception("realtime publisher stopped")
        finally:
            with self.lock:
                self.closed = True
            try:
                self.loop.close()  # channels_redis closes this loop's connections with it
            except Exception:
                log.debug(
                    "realtime publisher: closing its connections failed", exc_info=True
                )

    async def _main(self) -> None:
        next_read = 0.0
        while not self.closed:
            if self.uses_registry and time.monotonic() >= next_read:
                await self._read_registry()
                next_read = time.monotonic() + registry.READ_EVERY
            if self.lost and self._up():
                await self._resync()
            self.wake.clear()
            await self._drain()
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=registry.READ_EVERY)
            except TimeoutError:
                pass

    def _still_watched(self, group: str) -> bool:
        """Whether a message queued before the first registry read is worth a send, now that
        the read has answered: a table's group only while a socket watches the table (in the
        registry, or one of this process's own); any other group always."""
        from views.realtime import broadcast  # it imports this module

        table = broadcast.table_of(group)
        return table is None or self.watches(table) or broadcast.watched_here(table)

    def _up(self) -> bool:
        return time.monotonic() >= self.down_until

    async def _call(self, awaitable):
        """One call to Redis, bounded; a failure opens the circuit for PAUSE seconds."""
        try:
            result = await asyncio.wait_for(awaitable, SEND_TIMEOUT)
        except Exception as exc:
            self.down_until = time.monotonic() + PAUSE
            if not self.broken:
                log.warning("realtime: Redis did not answer (%r); pausing sends", exc)
            self.broken = True
            raise
        if self.broken:
            self.broken = False
            log.warning("realtime: Redis answers again (%d dropped)", self.dropped)
        return result

    async def _drain(self) -> None:
        while True:
            with self.lock:
                if not self.queue:
                    self.sending = False
                    return
                group, message, blind = self.queue.popleft()
                if not self._up():
                    self._drop(group, message)
                    continue
                if blind and not self._still_watched(group):
                    continue  # queued before the first registry read; nobody to tell
                self.sending = True
            try:
                await self._call(self.layer.group_send(group, message))
                self.sent += 1
            except Exception:
                with self.lock:
                    self._drop(group, message)

    async def _resync(self) -> None:
        with self.lock:
            lost, self.lost = self.lost, {}
        pending = list(lost.items())
        while pending:
            group, message = pending[0]
            try:
                await self._call(self.layer.group_send(group, message))
            except Exception:
                with self.lock:
                    for g, m in pending:
                        self.lost.setdefault(g, m)
                return
            pending.pop(0)

    async def _read_registry(self) -> None:
        if not self._up():
            return
        try:
            found = await self._call(registry.read(self.layer))
        except Exception:
            return  # keep what we knew: Redis coming back empty must not lose a watcher
        # Registrations are kept until they run out even when the set lost them (Redis
        # restarted empty): the hubs re-register within seconds, and meanwhile writes to
        # the tables they watch are still published.
        now = time.time()
        merged = {t: u for t, u in (self.watched or {}).items() if u > now}
        for table, until in found.items():
            merged[table] = max(until, merged.get(table, 0.0))
        self.watched = merged


_lock = threading.Lock()
_current: Publisher | None = None


def for_layer(layer) -> Publisher:
    """This process's publisher for `layer` (a new one after a fork or a new layer)."""
    global _current
    current = _current
    if (
        current is not None
        and current.layer is layer
        and current.pid == os.getpid()
        and current.alive()
    ):
        return current
    with _lock:
        current = _current
        if (
            current is None
            or current.layer is not layer
            or current.pid != os.getpid()
            or not current.alive()
        ):
            if current is not None and current.pid == os.getpid():
                current.stop()
            current = _current = Publisher(layer)
    return current


@atexit.register
def _at_exit() -> None:
    """A short-lived process (a management command, a worker being stopped) sends what its
    last writes queued before it goes; daemon threads still run while atexit does."""
    current = _current
    if current is not None and current.pid == os.getpid():
        current.flush(EXIT_WAIT)


def shutdown() -> None:
    """Stop this process's publisher (tests, between channel layers)."""
    global _current
    with _lock:
        current, _current = _current, None
    if current is not None and current.pid == os.getpid():
        current.stop(wait=True)
