"""Rate limits per IP and per labeller (the ``limits`` library; Redis-backed when configured)."""

from __future__ import annotations

import math
import time
from typing import Any

from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from dojo.errors import ApiError, DojoError


def _redis_uri(url: str) -> str:
    return url if url.startswith("async+") else "async+" + url


class RateLimits:
    """``await limits.ip(addr)`` / ``await limits.labeller(id)`` raise a 429 with ``Retry-After``."""

    def __init__(
        self,
        per_ip: str,
        per_labeller: str,
        redis_url: str | None = None,
        prefix: str = "dojo:worker:limits",
        pool: Any = None,
    ) -> None:
        """Counters in memory, or in Redis at ``redis_url`` through ``pool`` (a bounded pool that waits)."""
        try:
            self._ip_rule = parse(per_ip)
            self._labeller_rule = parse(per_labeller)
        except ValueError as exc:
            raise DojoError(f"invalid rate limit ({per_ip!r}, {per_labeller!r}): {exc}; use e.g. '120/minute'") from exc
        options: dict[str, Any] = {"connection_pool": pool} if pool is not None else {}
        self.storage: Storage = (
            RedisStorage(_redis_uri(redis_url), implementation="redispy", key_prefix=prefix, **options)
            if redis_url
            else MemoryStorage()
        )
        self._limiter = SlidingWindowCounterRateLimiter(self.storage)

    async def _hit(self, rule, kind: str, ident: str) -> None:  # type: ignore[no-untyped-def]
        if await self._limiter.hit(rule, kind, ident):
            return
        stats = await self._limiter.get_window_stats(rule, kind, ident)
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        raise ApiError(
            429, f"too many requests ({rule} per {kind}): retry in {retry} s", headers={"Retry-After": str(retry)}
        )

    async def ip(self, address: str) -> None:
        """Count one request from ``address``."""
        await self._hit(self._ip_rule, "ip", address)

    async def labeller(self, labeller_id: int) -> None:
        """Count one request by the labeller."""
        await self._hit(self._labeller_rule, "labeller", str(labeller_id))
