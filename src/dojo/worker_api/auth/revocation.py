"""Logged-out tokens, remembered per process so most requests skip the database lookup.

A token's "not revoked" answer is reused for at most ``ttl_s`` (default 1 s); a "revoked" answer
for good. A logout in this process is known at once; one in another process sharing the database
is seen at the latest ``ttl_s`` after its commit. That is the bound: a logged-out JWT stops
working everywhere within ``ttl_s``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

REVOCATION_TTL_S = 1.0


class RevocationCache:
    """``await cache.is_revoked(jti, expires_at, lookup)`` consults ``lookup()`` at most once per ``ttl_s`` per token."""

    def __init__(self, ttl_s: float = REVOCATION_TTL_S, max_entries: int = 100_000) -> None:
        self.ttl_s = ttl_s
        self._max = max_entries
        self._checked: dict[str, float] = {}  # jti -> when the database last said "not revoked" (monotonic)
        self._revoked: dict[str, float] = {}  # jti -> when the token expires anyway (unix time)

    def revoke(self, jti: str, expires_at: float) -> None:
        """Remember that ``jti`` is logged out (effective at once in this process)."""
        if len(self._revoked) >= self._max:
            now = time.time()
            self._revoked = {j: e for j, e in self._revoked.items() if e > now}
            if len(self._revoked) >= self._max:
                self._revoked.clear()  # the database still knows them all: only speed is lost
        self._revoked[jti] = expires_at
        self._checked.pop(jti, None)

    async def is_revoked(self, jti: str, expires_at: float, lookup: Callable[[], Awaitable[bool]]) -> bool:
        """True when ``jti`` was logged out; asks ``lookup`` unless this process checked it under ``ttl_s`` ago."""
        if jti in self._revoked:
            return True
        now = time.monotonic()
        checked = self._checked.get(jti)
        if checked is not None and now - checked < self.ttl_s:
            return False
        if await lookup():
            self.revoke(jti, expires_at)
            return True
        if len(self._checked) >= self._max:
            self._checked.clear()
        self._checked[jti] = now
        return False
