"""A round over real signed HTTP: fake miners on loopback verify btauth/1; bad ones score 0, nothing leaks."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import sqlalchemy as sa
from bittensor.keyfiles import Keypair
from http_miners import MinerFleet
from vfakes import FakeChain, ListSource, tag_obfuscate

from dojo.chain.wallets import create_wallet
from dojo.transport.client import SignedClient
from dojo.validator.engine import Engine, EngineConfig
from dojo.validator.gateway import SignedGateway
from dojo.validator.store.models import Task, TaskScore
from dojo.validator.store.records import MinerTarget

KINDS = ["good", "reverse", "good", "down", "slow", "garbage", "late"]


async def test_round_over_signed_http(store, tmp_home) -> None:
    wallet = create_wallet("val", "hot", tmp_home / "wallets")
    hotkeys = [Keypair.create_from_uri(f"//http-miner-{i}").ss58_address for i in range(len(KINDS))]
    with MinerFleet(list(zip(hotkeys, KINDS, strict=True))) as fleet:
        miners = [MinerTarget(uid=i + 1, hotkey=hk, address=fleet.address(i)) for i, hk in enumerate(hotkeys)]
        chain = FakeChain(miners, wallet.hotkey.ss58_address)
        async with SignedClient(wallet.hotkey, timeout=0.5) as client:
            cfg = EngineConfig(deadline_s=1.0, tasks_per_round=2, seed=None)
            engine = Engine(
                store,
                SignedGateway(client),
                ListSource(),
                chain,
                wallet,
                wallet.hotkey.ss58_address,
                cfg,
                tag_obfuscate,
            )
            active = await engine.refresh_miners()
            assert [m.uid for m in active] == [1, 2, 3, 5, 6, 7]  # the down one does not answer the heartbeat
            await engine.start_round(miners)  # ... and it went down after being chosen: it is still assigned
            await engine.dispatch()
            assert store.task_counts() == {"dispatched": 14}  # 7 miners, 2 own instances each
            assert await engine.collect() == 0  # not before the deadline
            deadline = time.monotonic() + 10
            while not await engine.collect():  # collect as soon as the deadline has passed
                assert time.monotonic() < deadline, "tasks never became due"
                await asyncio.sleep(0.05)
            assert await engine.score() == [1]
            await engine.feedback()

    with store.transaction() as s:
        scores: dict[str, list[float]] = {}
        for row in s.scalars(sa.select(TaskScore)).all():
            scores.setdefault(row.hotkey, []).append(row.score)
        secrets = set()
        for t in s.scalars(sa.select(Task)).all():
            secrets |= {r["model"] for r in t.responses} | set(t.ground_truth) | {t.id}
    by_kind = {k: scores[hk] for hk, k in zip(hotkeys, KINDS, strict=True) if k not in ("good",)}
    assert all(s > 0.7 for s in scores[hotkeys[0]] + scores[hotkeys[2]])
    assert all(s < 0.3 for s in by_kind["reverse"])
    for kind in ("down", "slow", "garbage", "late"):
        assert by_kind[kind] == [0.0, 0.0], kind
    assert store.task_counts() == {"fed_back": 14}

    # every request reached the miners signed by the validator, and none before the deadline held a secret
    seen = 0
    for state in fleet.states:
        for path, body, signer in state.requests:
            seen += 1
            assert signer == wallet.hotkey.ss58_address
            if path.endswith("/feedback"):
                continue
            text = body.decode()
            for secret in secrets:
                assert secret not in text, f"{secret!r} leaked to {state.behaviour} via {path}"
            assert "ground_truth" not in text and "model" not in json.loads(text)
    assert seen >= 6 * 3
    good = fleet.states[0]
    assert len(good.feedback) == 2 and all(fb["score"] == pytest.approx(1.0, abs=0.3) for fb in good.feedback.values())
