"""Fixtures of the worker API tests: an app on a fresh store, with a fixed metagraph."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.worker_api.helpers import body, keypair, labeller_login, metagraph_of, miner_login, new_key

from dojo.config import load_settings
from dojo.worker_api.app import create_app


@dataclass
class World:
    """A running app, its client, one registered miner with keys, and one linked labeller."""

    client: httpx.AsyncClient
    app: Any
    miner: dict[str, str]
    api_key: str
    sub_key: str
    labeller: dict[str, str]


ALICE, BOB, EVE = "//Alice", "//Bob", "//Eve"  # Eve is never registered


def make_settings(home: Path, db_url: str | None = None, **extra: Any) -> Any:
    over: dict[str, Any] = dict(
        home=home,
        profile="fast",
        worker__jwt_secret="test-secret-" + "x" * 32,
        worker__rate_limit_ip="100000/minute",
        worker__rate_limit_labeller="100000/minute",
        worker__siwe_domain="localhost",  # the ASGI client reaches the app as http://test (not loopback)
    )
    if db_url:
        over["worker__db_url"] = db_url
    over.update(extra)
    return load_settings(**over)


#: how long a rate-limit test may take, at most, from its first counted request to its last
RATE_TEST_SPAN_S = 20.0


@pytest.fixture
async def inside_one_minute_window() -> None:
    """Start a test that counts requests against an ``N/minute`` limit well inside one window.

    The limiter is a sliding-window counter over windows aligned to the minute: right after a boundary it
    weighs the previous window's count by the fraction of it still ahead (``floor(3 × 59.9/60) = 2``), so
    the request that should be the first one over the limit is let through when the boundary falls
    inside the test's burst. That is the algorithm's documented approximation, not a fault to test for;
    a test that counts exactly starts where no boundary can fall before it ends.
    """
    into = time.time() % 60.0
    if into > 60.0 - RATE_TEST_SPAN_S:
        await asyncio.sleep(60.0 - into + 0.5)


@pytest.fixture
def registered_graph() -> Any:
    return metagraph_of(keypair(ALICE).ss58_address, keypair(BOB).ss58_address)


@pytest.fixture
async def client(tmp_home: Path, registered_graph: Any) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(tmp_home / ".dojo")
    app = create_app(settings, metagraph=lambda: registered_graph)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            c.app = app  # type: ignore[attr-defined]
            yield c


@pytest.fixture
async def world(client: httpx.AsyncClient) -> World:
    miner = await miner_login(client, keypair(ALICE))
    api_key = await new_key(client, miner, "api-keys")
    sub_key = await new_key(client, miner, "subscription-keys")
    _, lab = await labeller_login(client)
    body(await client.post("/api/v1/worker/partners", json={"name": "alice", "subscription_key": sub_key}, headers=lab))
    return World(client, client.app, miner, api_key, sub_key, lab)  # type: ignore[attr-defined]
