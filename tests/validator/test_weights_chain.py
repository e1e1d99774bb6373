"""The validator sets weights through the real chain code paths: the bittensor SDK (offline fake) and the local chain."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from bittensor.keyfiles import Keypair
from vfakes import FakeGateway, FakeMiner, ListSource, tag_obfuscate

from dojo.chain.local import ChainParams, LocalChain
from dojo.chain.wallets import create_wallet
from dojo.validator.engine import Engine, EngineConfig
from dojo.validator.store.records import MinerTarget

sys.path.insert(0, str(Path(__file__).parents[1] / "chain"))
from fake_substrate import U16_MAX, FakeSubstrate  # noqa: E402

NETUID = 7
BEHAVIOURS = ["good", "reverse", "good"]


def miners() -> list[MinerTarget]:
    return [
        MinerTarget(
            uid=i + 1,
            hotkey=Keypair.create_from_uri(f"//miner{i}").ss58_address,
            address=f"http://127.0.0.1:{9100 + i}",
        )
        for i in range(3)
    ]


async def _one_round(engine: Engine, ms: list[MinerTarget]) -> None:
    from datetime import timedelta

    engine.active = ms
    await engine.start_round()
    await engine.dispatch()
    now = engine.clock()
    engine.clock = lambda: now + timedelta(seconds=120)
    await engine.collect()
    assert await engine.score() == [1]


def _engine(store, chain, wallet, ms) -> Engine:
    gw = FakeGateway({m.hotkey: FakeMiner(b) for m, b in zip(ms, BEHAVIOURS, strict=True)})
    cfg = EngineConfig(deadline_s=60, tasks_per_round=2, seed=3, epoch_blocks=10)
    return Engine(store, gw, ListSource(), chain, wallet, wallet.hotkey.ss58_address, cfg, tag_obfuscate)


async def test_weights_through_the_bittensor_sdk(store, tmp_home) -> None:
    from dojo.chain.subtensor import SubtensorChain

    wallet = create_wallet("val", "hot", tmp_home / "wallets")
    fake = FakeSubstrate(block=5000)
    fake.subnet(NETUID, weights_rate_limit=50)
    fake.register(NETUID, wallet.hotkey.ss58_address, wallet.coldkeypub.ss58_address, stake_tao=2500.0, permit=True)
    ms = miners()
    for m in ms:
        fake.register(NETUID, m.hotkey, m.hotkey)
    chain = SubtensorChain("ws://127.0.0.1:9944", NETUID, substrate=fake)
    engine = _engine(store, chain, wallet, ms)
    await _one_round(engine, ms)
    assert await engine.set_weights()
    module, function, _, signer = fake.submitted[-1]
    assert "weights" in function and signer == wallet.hotkey.ss58_address
    stored = dict(fake.subnet(NETUID).weights[0])
    # good miners (uids 1, 3) share everything; the reversed one gets nothing
    assert stored[1] == stored[3] == U16_MAX and stored.get(2, 0) == 0
    assert chain.weights()[0] == pytest.approx({1: 0.5, 3: 0.5}, abs=1e-4)
    fake.advance(20)  # a new epoch for the validator (10 blocks) but inside the chain's 50-block limit
    assert not await engine.set_weights()
    assert [s.status for s in store.weight_submissions()] == ["ok", "rate_limited"]
    fake.advance(30)
    assert await engine.set_weights()
    assert [s.status for s in store.weight_submissions()] == ["ok", "rate_limited", "ok"]


async def test_weights_on_the_local_chain(store, tmp_home, tmp_path) -> None:
    wallet = create_wallet("val", "hot", tmp_home / "wallets")
    chain = LocalChain(tmp_path / "chain.db", ChainParams(block_time_s=0.05, epoch_blocks=10, weights_rate_limit=0))
    assert chain.register(wallet.hotkey.ss58_address, wallet.coldkeypub.ss58_address) == 0
    chain.add_stake(wallet.hotkey.ss58_address, 5000.0)
    ms = miners()
    for m in ms:
        assert chain.register(m.hotkey, m.hotkey) == m.uid
    engine = _engine(store, chain, wallet, ms)
    await _one_round(engine, ms)
    assert await engine.set_weights()
    assert {k: v for k, v in chain.weights()[0].items() if v} == pytest.approx({1: 0.5, 3: 0.5}, abs=1e-6)
    chain.close()
