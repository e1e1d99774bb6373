"""The per-IP rate limit counts X-Forwarded-For's client only when the direct peer is a trusted proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from tests.worker_api.conftest import make_settings
from tests.worker_api.helpers import metagraph_of, new_account

from dojo.errors import DojoError
from dojo.worker_api.app import create_app
from dojo.worker_api.client_ip import ClientAddress


def test_resolve_walks_the_trusted_chain_from_the_right() -> None:
    ca = ClientAddress("10.0.0.0/8, 192.168.1.7, ::1")
    assert ca.resolve("10.1.2.3", "203.0.113.9") == "203.0.113.9"
    assert ca.resolve("10.1.2.3", "6.6.6.6, 203.0.113.9, 192.168.1.7") == "203.0.113.9"  # spoofed left part ignored
    assert ca.resolve("::1", "2001:db8::5") == "2001:db8::5"
    assert ca.resolve("198.51.100.1", "203.0.113.9") == "198.51.100.1"  # untrusted peer: header ignored
    assert ca.resolve("10.1.2.3", None) == "10.1.2.3"
    assert ca.resolve("10.1.2.3", "not-an-ip") == "10.1.2.3"
    assert ca.resolve("10.1.2.3", "10.9.9.9, 10.8.8.8") == "10.9.9.9"  # only proxies: the farthest one
    assert ClientAddress("").resolve("10.1.2.3", "203.0.113.9") == "10.1.2.3"  # default: nobody trusted
    with pytest.raises(DojoError, match="invalid trusted proxy 'nope'"):
        ClientAddress("10.0.0.1, nope")


@asynccontextmanager
async def _client(tmp_home: Path, trusted: str, peer: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(tmp_home / ".dojo", worker__rate_limit_ip="3/minute", worker__trusted_proxies=trusted)
    app = create_app(settings, metagraph=lambda: metagraph_of())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(peer, 4321))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            yield c


async def _codes(c: httpx.AsyncClient, forwarded_for: str, n: int) -> list[int]:
    return [
        (
            await c.get(
                "/api/v1/auth/nonce",
                params={"address": new_account().address},
                headers={"X-Forwarded-For": forwarded_for},
            )
        ).status_code
        for _ in range(n)
    ]


async def test_behind_a_trusted_proxy_each_client_has_its_own_limit(
    tmp_home: Path, inside_one_minute_window: None
) -> None:
    async with _client(tmp_home, "10.0.0.0/8", "10.0.0.2") as c:
        assert await _codes(c, "203.0.113.1", 4) == [200, 200, 200, 429]
        assert await _codes(c, "203.0.113.2", 3) == [200, 200, 200]  # another client, its own budget
        assert await _codes(c, "1.2.3.4, 203.0.113.2", 1) == [429]  # a spoofed left entry changes nothing


async def test_an_untrusted_peer_is_counted_by_its_own_address(tmp_home: Path, inside_one_minute_window: None) -> None:
    async with _client(tmp_home, "10.0.0.0/8", "198.51.100.7") as c:
        assert await _codes(c, "203.0.113.1", 2) + await _codes(c, "203.0.113.2", 2) == [200, 200, 200, 429]
    async with _client(tmp_home, "", "10.0.0.2") as c:  # nobody trusted by default
        assert await _codes(c, "203.0.113.1", 2) + await _codes(c, "203.0.113.2", 2) == [200, 200, 200, 429]
