"""A burst of logins with Redis configured gets no server error (issue 12, fault 2).

Nonces, challenges and rate-limit counters share one bounded Redis pool per process that waits for
a free connection; a Redis that is down answers 503 with Retry-After, never 500.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import pytest
from tests.conftest import REDIS_URL
from tests.support import free_port, start_dojo, stop, wait_http_ok
from tests.worker_api.conftest import make_settings
from tests.worker_api.helpers import keypair, metagraph_of, new_account

from dojo.redis_pools import MAX_CONNECTIONS
from dojo.worker_api.app import create_app

PER_KIND = 300  # concurrent nonce requests, and as many concurrent challenge requests


@pytest.mark.redis
@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_hundreds_of_concurrent_nonces_and_challenges_on_redis_get_no_5xx(
    tmp_home: Path, tmp_path: Path, redis_prefix: str
) -> None:
    port = free_port()
    env = {
        "DOJO_HOME": str(tmp_home / ".dojo"),
        "DOJO_PROFILE": "fast",
        "DOJO_REDIS_URL": REDIS_URL,
        "DOJO_WORKER_REDIS_PREFIX": redis_prefix,
        "DOJO_WORKER_RATE_LIMIT_IP": "1000000/minute",
    }
    log = tmp_path / "worker-api.log"
    proc = start_dojo(["worker-api", "--port", str(port)], env, log)
    base = f"http://127.0.0.1:{port}"
    hotkey = keypair("//Alice").ss58_address
    addresses = [new_account().address for _ in range(PER_KIND)]

    async def burst() -> list[int | str]:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base, timeout=180, limits=limits) as c:
            await c.get("/api/v1/miner/challenge", params={"hotkey": hotkey})  # warm the hotkey decoder
            start = asyncio.Event()

            async def one(path: str, params: dict[str, str]) -> int | str:
                await start.wait()
                try:
                    return (await c.get(path, params=params)).status_code
                except httpx.HTTPError as exc:  # counted, so a dropped connection shows in the failure
                    return type(exc).__name__

            jobs = [asyncio.create_task(one("/api/v1/auth/nonce", {"address": a})) for a in addresses]
            jobs += [asyncio.create_task(one("/api/v1/miner/challenge", {"hotkey": hotkey})) for _ in range(PER_KIND)]
            await asyncio.sleep(0)
            start.set()
            return list(await asyncio.gather(*jobs))

    try:
        wait_http_ok(base + "/health")
        codes = asyncio.run(burst())
    finally:
        stop(proc)
    assert Counter(codes) == {200: 2 * PER_KIND}, Counter(codes)
    text = log.read_text()
    assert "request.failed" not in text and "MaxConnectionsError" not in text, text[-2000:]


async def test_an_unreachable_redis_is_503_with_retry_after(tmp_home: Path) -> None:
    settings = make_settings(tmp_home / ".dojo", redis_url=f"redis://127.0.0.1:{free_port()}/0")
    app = create_app(settings, metagraph=lambda: metagraph_of())
    assert app.state.services.redis_pool.max_connections == MAX_CONNECTIONS  # sized, not redis-py's unbounded default
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            for path, params in (
                ("/api/v1/auth/nonce", {"address": new_account().address}),
                ("/api/v1/miner/challenge", {"hotkey": keypair("//Alice").ss58_address}),
            ):
                resp = await c.get(path, params=params)
                data = resp.json()
                assert resp.status_code == 503 and data["success"] is False, (resp.status_code, data)
                assert "Redis" in data["error"] and int(resp.headers["Retry-After"]) >= 1
