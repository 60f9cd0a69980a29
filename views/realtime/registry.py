"""Which tables some socket watches, across processes: one sorted set in Redis.

`<prefix>:watched` holds table ids, each scored with the (epoch) time its registration runs
out. A websocket process's hub registers a table when its first socket on it joins (before the
socket is accepted) and refreshes all its tables every REFRESH seconds; a registration lasts
TTL seconds, so a process that dies stops counting within TTL. Every process's publisher reads
the set every READ_EVERY seconds (publisher.py) and publishes only for the tables in it: a table
nobody watches costs no Redis traffic at all.

Only layers that keep their state in Redis have it (channels_redis's RedisChannelLayer); with
any other layer `supported()` is False and every table counts as watched.
"""

from __future__ import annotations

import time

TTL = 30.0  # seconds a registration lasts
REFRESH = 10.0  # seconds between a hub's refreshes of its tables
READ_EVERY = 1.0  # seconds between a publisher's reads of the set


def supported(layer) -> bool:
    return all(hasattr(layer, a) for a in ("connection", "consistent_hash", "prefix"))


def _redis(layer, key: str):
    """The Redis connection (of the running loop) that holds `key`, as the layer picks it."""
    return layer.connection(layer.consistent_hash(key))


def key(layer) -> str:
    return f"{layer.prefix}:watched"


async def register(layer, table_ids) -> None:
    """Mark these tables watched for TTL seconds from now (one round trip)."""
    table_ids = list(table_ids)
    if not table_ids:
        return
    k = key(layer)
    now = time.time()
    pipe = _redis(layer, k).pipeline(transaction=False)
    pipe.zadd(k, {t: now + TTL for t in table_ids})
    pipe.zremrangebyscore(k, "-inf", now)  # the tables whose registrations ran out
    pipe.expire(k, int(TTL * 2))  # an installation that stopped leaves nothing behind
    await pipe.execute()


async def read(layer) -> dict[str, float]:
    """The watched tables: {table id: when its registration runs out (epoch seconds)}."""
    k = key(layer)
    rows = await _redis(layer, k).zrangebyscore(k, time.time(), "+inf", withscores=True)
    return {member.decode(): score for member, score in rows}
