"""Who may call a miner: a briefly cached, indexed snapshot of the metagraph.

Reading the metagraph may hit the chain (slow, blocking), so the snapshot is fetched in a
worker thread at most once per ``ttl_s`` and shared by every request in between. A hotkey that
is missing from the snapshot triggers an early refresh, at most once per ``miss_refresh_s``, so
a freshly registered validator is admitted quickly without letting strangers hammer the chain.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from dojo.chain.base import Metagraph, Neuron
from dojo.errors import MetagraphUnavailable
from dojo.logs import log

logger = logging.getLogger(__name__)


class MetagraphCache:
    """Caches ``source()`` for ``ttl_s`` seconds and indexes it by hotkey."""

    def __init__(self, source: Callable[[], Metagraph], ttl_s: float = 12.0, miss_refresh_s: float = 2.0) -> None:
        self._source = source
        self.ttl_s = ttl_s
        self.miss_refresh_s = miss_refresh_s
        self._snapshot: Metagraph | None = None
        self._by_hotkey: dict[str, Neuron] = {}
        self._fetched_at = float("-inf")  # monotonic time of the last fetch attempt
        self._lock: asyncio.Lock | None = None
        self._last_error = ""
        self.fetches = 0  # how many times the source was called (for tests and metrics)

    @property
    def snapshot(self) -> Metagraph | None:
        """The cached snapshot, if any."""
        return self._snapshot

    async def _refresh(self, max_age: float) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            # Another request may have refreshed while this one waited for the lock.
            if time.monotonic() - self._fetched_at < max_age:
                return
            self._fetched_at = time.monotonic()
            self.fetches += 1
            try:
                snap = await asyncio.to_thread(self._source)
            except Exception as exc:  # noqa: BLE001 - any chain failure: keep serving the last snapshot
                self._last_error = f"{type(exc).__name__}: {exc}"
                log(
                    logger,
                    "transport.metagraph_unavailable",
                    logging.WARNING,
                    error=self._last_error,
                    cached_block=self._snapshot.block if self._snapshot else None,
                )
                return
            self._snapshot = snap
            self._by_hotkey = {n.hotkey: n for n in snap.neurons}

    async def lookup(self, hotkey: str) -> Neuron | None:
        """The neuron registered with ``hotkey``, or None; raises ``MetagraphUnavailable``."""
        if self._snapshot is None:
            # Nothing cached yet: retry no more often than miss_refresh_s while the chain is down.
            await self._refresh(self.miss_refresh_s)
            if self._snapshot is None:
                raise MetagraphUnavailable(f"metagraph unavailable ({self._last_error or 'not read yet'})")
        elif time.monotonic() - self._fetched_at >= self.ttl_s:
            await self._refresh(self.ttl_s)
        neuron = self._by_hotkey.get(hotkey)
        if neuron is None and time.monotonic() - self._fetched_at >= self.miss_refresh_s:
            await self._refresh(self.miss_refresh_s)
            neuron = self._by_hotkey.get(hotkey)
        return neuron
