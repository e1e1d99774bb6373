"""Is a hotkey registered on the configured subnet? Reads the chain's metagraph, cached briefly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from dojo.chain.base import Metagraph
from dojo.config import Settings
from dojo.errors import ApiError

MetagraphSource = Callable[[], Metagraph]


def chain_metagraph(settings: Settings) -> MetagraphSource:
    """The configured chain's metagraph reader (``dojo.chain.open_chain``), opened on first use."""
    chain = None

    def read() -> Metagraph:
        nonlocal chain
        if chain is None:
            from dojo.chain import open_chain  # written alongside; imported lazily

            chain = open_chain(settings)
        return chain.metagraph()

    return read


class Registry:
    """Answers ``await registry(hotkey)`` from a metagraph snapshot at most ``ttl_s`` old.

    A hotkey missing from a cached snapshot triggers one fresh read (at most once per second),
    so a miner that has just registered can log in at once.
    """

    def __init__(self, source: MetagraphSource, ttl_s: float = 30.0) -> None:
        self._source = source
        self._ttl = ttl_s
        self._hotkeys: frozenset[str] = frozenset()
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    async def _refresh(self) -> None:
        try:
            graph = await asyncio.to_thread(self._source)
        except Exception as exc:  # noqa: BLE001 - any chain failure is a 503 for the caller
            raise ApiError(503, f"cannot read the chain to check the hotkey: {exc}") from exc
        self._hotkeys = frozenset(n.hotkey for n in graph.neurons)
        self._read_at = time.monotonic()

    async def __call__(self, hotkey: str) -> bool:
        async with self._lock:
            age = time.monotonic() - self._read_at
            if age > self._ttl or (hotkey not in self._hotkeys and age > 1.0):
                await self._refresh()
            return hotkey in self._hotkeys
