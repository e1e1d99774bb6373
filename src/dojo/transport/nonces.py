"""Replay protection for ``btauth/1``: which (hotkey, nonce) pairs were already accepted.

The in-process store is the SDK's ``InMemoryNonceStore``. ``RedisNonceStore`` shares the seen
set between server processes with one ``SET key 1 NX PX ttl`` per request: the first process
to store a pair wins, every later attempt (in any process) sees a replay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bittensor.http_auth import DEFAULT_ALLOWED_SKEW, DEFAULT_MAX_AGE, InMemoryNonceStore, NonceStore

from dojo.errors import NonceStoreUnavailable
from dojo.redis_pools import async_pool, sync_pool

if TYPE_CHECKING:
    import redis
    import redis.asyncio

# Entries must outlive the verifier's freshness window (max age + future skew); keep a margin.
DEFAULT_RETENTION_S = 60.0
DEFAULT_PREFIX = "dojo:nonce:"

__all__ = [
    "DEFAULT_PREFIX",
    "AsyncNonceStore",
    "InMemoryNonceStore",
    "NonceStore",
    "NonceStoreUnavailable",
    "RedisNonceStore",
    "make_nonce_store",
]


@runtime_checkable
class AsyncNonceStore(Protocol):
    """A nonce store that can also be consulted without blocking the event loop."""

    async def acheck_and_store(self, hotkey_ss58: str, nonce_ns: int) -> bool: ...


class RedisNonceStore:
    """A ``NonceStore`` on Redis, shared by every process that uses the same URL and prefix.

    ``check_and_store`` (the SDK's synchronous protocol) and ``acheck_and_store`` (for async
    servers) do the same atomic ``SET NX`` with a TTL of ``retention`` seconds.
    """

    def __init__(self, redis_url: str, prefix: str = DEFAULT_PREFIX, retention: float = DEFAULT_RETENTION_S) -> None:
        if retention < DEFAULT_MAX_AGE + DEFAULT_ALLOWED_SKEW:
            raise ValueError(
                f"nonce retention {retention:g}s is shorter than the freshness window "
                f"({DEFAULT_MAX_AGE + DEFAULT_ALLOWED_SKEW:g}s); replays inside the gap would pass"
            )
        self.redis_url = redis_url
        self.prefix = prefix
        self.retention = retention  # read by bittensor.http_auth.verify to check the window fits
        self._ttl_ms = int(retention * 1000)
        self._sync: redis.Redis | None = None
        self._async: redis.asyncio.Redis | None = None

    def _key(self, hotkey_ss58: str, nonce_ns: int) -> str:
        return f"{self.prefix}{hotkey_ss58}:{int(nonce_ns)}"

    def check_and_store(self, hotkey_ss58: str, nonce_ns: int) -> bool:
        """True (and the pair is recorded) if never seen before in any process, False if seen."""
        import redis

        if self._sync is None:
            self._sync = redis.Redis(connection_pool=sync_pool(self.redis_url))
        try:
            return bool(self._sync.set(self._key(hotkey_ss58, nonce_ns), b"1", nx=True, px=self._ttl_ms))
        except redis.RedisError as exc:
            raise NonceStoreUnavailable(f"nonce store at {self.redis_url} unavailable: {exc}") from exc

    async def acheck_and_store(self, hotkey_ss58: str, nonce_ns: int) -> bool:
        """The same check as :meth:`check_and_store`, without blocking the event loop."""
        import redis
        import redis.asyncio

        if self._async is None:
            # a bounded pool that waits for a free connection: a burst of requests (a validator's
            # fan-out) queues for Redis instead of failing with "too many connections"
            self._async = redis.asyncio.Redis(connection_pool=async_pool(self.redis_url))
        try:
            return bool(await self._async.set(self._key(hotkey_ss58, nonce_ns), b"1", nx=True, px=self._ttl_ms))
        except redis.RedisError as exc:
            raise NonceStoreUnavailable(f"nonce store at {self.redis_url} unavailable: {exc}") from exc

    async def aclose(self) -> None:
        """Close the connections (safe to call more than once)."""
        if self._async is not None:
            await self._async.aclose(close_connection_pool=True)
            self._async = None
        if self._sync is not None:
            self._sync.close()
            self._sync.connection_pool.disconnect()
            self._sync = None


def make_nonce_store(redis_url: str | None, prefix: str = DEFAULT_PREFIX) -> NonceStore:
    """The SDK's in-process store when ``redis_url`` is empty, else a Redis store shared across processes."""
    if not redis_url:
        return InMemoryNonceStore(retention=DEFAULT_RETENTION_S)
    return RedisNonceStore(redis_url, prefix=prefix)
