"""A SIWE message must name this instance (URI) and have been written while its nonce was alive (issue 12)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.worker_api.conftest import make_settings
from tests.worker_api.helpers import body, metagraph_of, new_account, sign_text, siwe_message

from dojo.worker_api.app import create_app
from dojo.worker_api.auth.siwe_login import CLOCK_SKEW_S


async def _attempt(c: httpx.AsyncClient, domain: str = "localhost", **kw: Any) -> httpx.Response:
    acct = new_account()
    nonce = body(await c.get("/api/v1/auth/nonce", params={"address": acct.address}))["nonce"]
    msg = siwe_message(acct.address, nonce, domain=domain, **kw)
    return await c.post("/api/v1/worker/login", json={"message": msg, "signature": sign_text(acct, msg)})


def _refused(resp: httpx.Response, words: str) -> str:
    data = resp.json()
    assert resp.status_code == 401 and data["success"] is False, (resp.status_code, data)
    assert words in data["error"], data["error"]
    return str(data["error"])


@pytest.fixture
async def app_on(tmp_home: Path) -> Any:
    async def make(domain: str) -> tuple[Any, httpx.AsyncClient]:
        app = create_app(
            make_settings(tmp_home / domain.replace(":", "_"), worker__siwe_domain=domain), metagraph=metagraph_of
        )
        return app, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")

    return make


async def test_the_uri_must_point_at_this_instance(client: httpx.AsyncClient) -> None:
    for uri in (
        "https://evil.example",
        "http://localhost.evil.example/",
        "http://localhost@evil.example/",
        "ftp://localhost",
    ):
        error = _refused(await _attempt(client, uri=uri), "wrong URI")
        assert "expected http(s)://localhost/" in error
    for uri in ("http://localhost", "https://localhost/#/tasks", "http://localhost:8080/"):  # no port configured
        body(await _attempt(client, uri=uri))


async def test_a_configured_port_must_match(app_on: Any) -> None:
    app, c = await app_on("127.0.0.1:8080")
    async with app.router.lifespan_context(app), c:
        _refused(await _attempt(c, domain="127.0.0.1:8080", uri="http://127.0.0.1:9999"), "wrong URI")
        _refused(await _attempt(c, domain="127.0.0.1:8080", uri="http://127.0.0.1"), "wrong URI")
        body(await _attempt(c, domain="127.0.0.1:8080", uri="http://127.0.0.1:8080/"))


async def test_issued_at_must_lie_within_the_nonce_life(client: httpx.AsyncClient) -> None:
    now = datetime.now(timezone.utc)
    for when in (now - timedelta(days=365), now + timedelta(days=365), now - timedelta(seconds=CLOCK_SKEW_S + 30)):
        error = _refused(await _attempt(client, issued_at=when), "outside the nonce's life")
        assert "check this device's clock" in error
    body(await _attempt(client, issued_at=now - timedelta(seconds=CLOCK_SKEW_S // 2)))  # a slow clock is fine
    body(await _attempt(client, issued_at=now + timedelta(seconds=CLOCK_SKEW_S // 2)))  # and a fast one
