"""Single-use, expiring values (login nonces, miner challenges): in Redis when configured."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import redis.asyncio


class OneTimeStore(Protocol):
    """Put a value under a key for ``ttl_s`` seconds; ``take`` returns it at most once."""

    async def put(self, key: str, value: str, ttl_s: int) -> None: ...

    async def take(self, key: str) -> str | None: ...

    async def close(self) -> None: ...


class MemoryOneTimeStore:
    """In-process store, bounded in size (the oldest entries go first)."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._items: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._max = max_entries

    async def put(self, key: str, value: str, ttl_s: int) -> None:
        now = time.monotonic()
        while self._items:
            oldest_key, (_, expires) = next(iter(self._items.items()))
            if expires > now and len(self._items) < self._max:
                break
            del self._items[oldest_key]
        self._items[key] = (value, now + ttl_s)

    async def take(self, key: str) -> str | None:
        item = self._items.pop(key, None)
        if item is None or item[1] <= time.monotonic():
            return None
        return item[0]

    async def close(self) -> None:
        self._items.clear()


class RedisOneTimeStore:
    """Redis store, shared by several worker-API processes (``SET … EX`` then ``GETDEL``).

    It borrows connections from ``pool`` (a bounded pool that waits, ``dojo.redis_pools``); a Redis
    error reaches the app's error handler as a 503.
    """

    def __init__(self, pool: redis.asyncio.BlockingConnectionPool, prefix: str) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis(connection_pool=pool)
        self._prefix = prefix

    async def put(self, key: str, value: str, ttl_s: int) -> None:
        await self._redis.set(self._prefix + key, value, ex=max(1, int(ttl_s)))

    async def take(self, key: str) -> str | None:
        raw = await self._redis.getdel(self._prefix + key)
        return raw.decode() if isinstance(raw, bytes) else raw

    async def close(self) -> None:
        await self._redis.aclose()  # the pool is the app's to close


def make_one_time_store(
    pool: redis.asyncio.BlockingConnectionPool | None, prefix: str = "dojo:worker:once:"
) -> OneTimeStore:
    """Redis-backed when there is a Redis pool, in-process otherwise."""
    if pool is not None:
        return RedisOneTimeStore(pool, prefix)
    return MemoryOneTimeStore()
