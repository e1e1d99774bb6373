"""Miner login checks registration on the configured chain (the local ledger, through dojo.chain.open_chain)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from tests.worker_api.conftest import ALICE, BOB, make_settings
from tests.worker_api.helpers import body, keypair, miner_login

from dojo.chain import open_chain
from dojo.worker_api.app import create_app


async def test_login_follows_the_local_chain(tmp_home: Path) -> None:
    settings = make_settings(tmp_home / ".dojo")
    chain = open_chain(settings)
    alice, bob = keypair(ALICE), keypair(BOB)
    chain.register(alice.ss58_address, alice.ss58_address)  # type: ignore[attr-defined]
    app = create_app(settings)  # no injected metagraph: the configured chain is read
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            headers = await miner_login(c, alice)
            assert body(await c.get("/api/v1/miner/api-keys", headers=headers)) == {"keys": []}
            msg = body(await c.get("/api/v1/miner/challenge", params={"hotkey": bob.ss58_address}))["message"]
            resp = await c.post(
                "/api/v1/miner/session",
                json={"hotkey": bob.ss58_address, "message": msg, "signature": bob.sign(msg.encode()).hex()},
            )
            assert resp.status_code == 403 and "not registered" in resp.json()["error"]
            chain.register(bob.ss58_address, bob.ss58_address)  # type: ignore[attr-defined]
            # registered a moment ago: seen within about a second (a miss re-reads the chain at most once a second)
            deadline = time.monotonic() + 10
            while True:
                msg = body(await c.get("/api/v1/miner/challenge", params={"hotkey": bob.ss58_address}))["message"]
                resp = await c.post(
                    "/api/v1/miner/session",
                    json={"hotkey": bob.ss58_address, "message": msg, "signature": bob.sign(msg.encode()).hex()},
                )
                if resp.status_code == 200:
                    break
                assert resp.status_code == 403 and time.monotonic() < deadline, resp.json()
                await asyncio.sleep(0.2)
