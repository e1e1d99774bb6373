"""Rate limits (429 + Retry-After) per IP and per labeller, in memory and in Redis; nonces shared via Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import REDIS_URL
from tests.worker_api.conftest import make_settings
from tests.worker_api.helpers import body, labeller_login, metagraph_of, new_account, sign_text, siwe_message

from dojo.worker_api.app import create_app


def redis_keys() -> list[bytes]:
    import redis

    with redis.Redis.from_url(REDIS_URL) as r:
        return list(r.scan_iter(count=1000))


@asynccontextmanager
async def _client(settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, metagraph=lambda: metagraph_of())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            yield c


async def test_ip_limit_answers_429_with_retry_after(tmp_home: Path, inside_one_minute_window: None) -> None:
    settings = make_settings(tmp_home / ".dojo", worker__rate_limit_ip="5/minute")
    async with _client(settings) as c:
        codes = [
            (await c.get("/api/v1/auth/nonce", params={"address": new_account().address})).status_code for _ in range(7)
        ]
        assert codes == [200] * 5 + [429] * 2
        resp = await c.get("/api/v1/auth/nonce", params={"address": new_account().address})
        assert resp.status_code == 429 and resp.json()["success"] is False
        assert 1 <= int(resp.headers["Retry-After"]) <= 60
        assert (await c.get("/health")).status_code == 200  # health is not rate limited


async def test_labeller_limit_is_per_labeller(tmp_home: Path, inside_one_minute_window: None) -> None:
    settings = make_settings(tmp_home / ".dojo", worker__rate_limit_labeller="3/minute")
    async with _client(settings) as c:
        _, a = await labeller_login(c)
        _, b = await labeller_login(c)
        codes = [(await c.get("/api/v1/tasks", headers=a)).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert (await c.get("/api/v1/tasks", headers=b)).status_code == 200


@pytest.mark.redis
async def test_redis_shares_limits_and_nonces_between_processes(
    tmp_home: Path, redis_prefix: str, inside_one_minute_window: None
) -> None:
    settings = make_settings(
        tmp_home / ".dojo", redis_url=REDIS_URL, worker__rate_limit_ip="6/minute", worker__redis_prefix=redis_prefix
    )
    async with _client(settings) as one, _client(settings) as two:
        acct = new_account()
        nonce = body(await one.get("/api/v1/auth/nonce", params={"address": acct.address}))["nonce"]
        msg = siwe_message(acct.address, nonce)
        login = {"message": msg, "signature": sign_text(acct, msg)}
        body(await two.post("/api/v1/worker/login", json=login))  # issued by one, consumed by two
        assert (await one.post("/api/v1/worker/login", json=login)).status_code == 401  # and gone for both
        codes = [
            (await c.get("/api/v1/auth/nonce", params={"address": acct.address})).status_code for c in (one, two) * 3
        ]
        assert codes == [200, 200, 200, 429, 429, 429]  # 6/minute across both "processes", logins included
        assert any(k.startswith(redis_prefix.encode()) for k in redis_keys())
