"""Where ready tasks wait: an in-process deque, or a Redis list shared by several processes."""

from __future__ import annotations

from collections import deque
from typing import Protocol


class TaskBuffer(Protocol):
    """A FIFO of serialised tasks. ``pop`` never blocks waiting for a task: it returns None when empty."""

    kind: str

    async def push(self, item: str) -> None: ...

    async def pop(self) -> str | None: ...

    async def size(self) -> int: ...

    async def close(self) -> None: ...


class MemoryBuffer:
    """In-process buffer (one service process)."""

    kind = "memory"

    def __init__(self) -> None:
        self._items: deque[str] = deque()

    async def push(self, item: str) -> None:
        self._items.append(item)

    async def pop(self) -> str | None:
        try:
            return self._items.popleft()
        except IndexError:
            return None

    async def size(self) -> int:
        return len(self._items)

    async def close(self) -> None:
        return None


class RedisBuffer:
    """A Redis list (RPUSH / LPOP): tasks survive a service restart and can be shared."""

    kind = "redis"

    def __init__(self, url: str, key: str) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.key = key

    async def push(self, item: str) -> None:
        await self._redis.rpush(self.key, item)

    async def pop(self) -> str | None:
        value = await self._redis.lpop(self.key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    async def size(self) -> int:
        return int(await self._redis.llen(self.key))

    async def close(self) -> None:
        await self._redis.aclose()


def make_buffer(redis_url: str | None, key: str) -> TaskBuffer:
    """A Redis buffer when ``redis_url`` is set, else an in-process one."""
    return RedisBuffer(redis_url, key) if redis_url else MemoryBuffer()
