"""Per-process caches of verified tokens and of revocations: expiry still holds, a logout is seen within 1 s."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from tests.worker_api.conftest import make_settings
from tests.worker_api.helpers import body, labeller_login, metagraph_of

from dojo.errors import ApiError
from dojo.worker_api.app import create_app
from dojo.worker_api.auth import revocation, tokens
from dojo.worker_api.auth.revocation import REVOCATION_TTL_S, RevocationCache
from dojo.worker_api.auth.tokens import LABELLER, TokenService


def test_a_cached_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    svc = TokenService("s" * 40, ttl_s=60, instance="i" * 32)
    token, expires_at, _ = svc.issue(LABELLER, "0xabc", 7)
    assert svc.verify(token, LABELLER) is svc.verify(token, LABELLER)  # the second answer came from the cache
    monkeypatch.setattr(tokens.time, "time", lambda: expires_at.timestamp() + 1)
    with pytest.raises(ApiError, match="expired"):
        svc.verify(token, LABELLER)


async def test_revocation_cache_asks_the_database_at_most_once_per_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(revocation.time, "monotonic", lambda: now[0])
    cache = RevocationCache(ttl_s=1.0)
    in_db = [False]
    asked = []

    async def lookup() -> bool:
        asked.append(now[0])
        return in_db[0]

    assert [await cache.is_revoked("j", 2e9, lookup) for _ in range(3)] == [False] * 3 and len(asked) == 1
    in_db[0] = True  # logged out by another process
    now[0] += 0.5
    assert await cache.is_revoked("j", 2e9, lookup) is False and len(asked) == 1  # inside the bound
    now[0] += 0.6
    assert await cache.is_revoked("j", 2e9, lookup) is True and len(asked) == 2  # past it: seen
    assert await cache.is_revoked("j", 2e9, lookup) is True and len(asked) == 2  # and remembered
    cache.revoke("k", 2e9)  # a logout in this process counts at once
    assert await cache.is_revoked("k", 2e9, lookup) is True and len(asked) == 2


async def test_a_logout_reaches_another_process_within_the_bound(tmp_home: Path) -> None:
    settings = make_settings(tmp_home / ".dojo")
    one, two = (create_app(settings, metagraph=lambda: metagraph_of()) for _ in range(2))
    async with one.router.lifespan_context(one), two.router.lifespan_context(two):
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=one), base_url="http://a") as a,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=two), base_url="http://b") as b,
        ):
            _, lab = await labeller_login(a)
            body(await b.get("/api/v1/worker/partners", headers=lab))  # process two has now cached "not revoked"
            body(await a.post("/api/v1/worker/logout", headers=lab))
            logged_out = time.monotonic()
            assert (await a.get("/api/v1/worker/partners", headers=lab)).status_code == 401  # at once here
            while (await b.get("/api/v1/worker/partners", headers=lab)).status_code == 200:
                assert time.monotonic() - logged_out < REVOCATION_TTL_S + 0.5, "process two still accepts the token"
                await asyncio.sleep(0.05)
            assert (await b.get("/api/v1/worker/partners", headers=lab)).json()["error"].startswith("this session")
