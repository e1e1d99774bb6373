"""The embedded local chain: concurrency across processes, rate limit, emission by consensus."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from bittensor.keyfiles import Keypair

from dojo.chain import ChainError, NotRegistered, RateLimited, open_chain
from dojo.chain.consensus import consensus_weights, normalize_clip, validator_permits
from dojo.chain.local import ChainParams, LocalChain
from dojo.config import load_settings

WORKER = Path(__file__).with_name("chain_worker.py")


def ss58(name: str) -> str:
    return Keypair.create_from_uri(f"//{name}").ss58_address


class Clock:
    """A hand-moved clock so block numbers are exact."""

    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_chain(tmp_path: Path, clock: Clock, **params: object) -> LocalChain:
    defaults: dict[str, object] = {"block_time_s": 1.0, "epoch_blocks": 10, "weights_rate_limit": 5}
    defaults.update(params)
    return LocalChain(tmp_path / "chain.db", ChainParams(**defaults), clock=clock)  # type: ignore[arg-type]


def test_eight_processes_register_stake_and_set_weights_without_losing_updates(tmp_path: Path) -> None:
    db = tmp_path / "chain.db"  # not created yet: the workers race to create it
    shared = ss58("shared")
    rounds = 15
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(db), str(i), str(rounds), shared, ss58("sharedcold")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(8)
    ]
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err.decode()[-2000:]
        outputs.append(json.loads(out.decode().strip().splitlines()[-1]))

    chain = LocalChain(db)
    assert chain.params.block_time_s == 0.02, "created once, by one of the workers"
    shared_uids = {o["shared_uid"] for o in outputs}
    assert len(shared_uids) == 1, "registering the same hotkey again gives the same uid"
    uids = sorted([o["uid"] for o in outputs] + list(shared_uids))
    assert uids == list(range(9)), "every process got its own uid"
    mg = chain.metagraph()
    assert len(mg.neurons) == 9
    stakes = {n.hotkey: n.stake for n in mg.neurons}
    assert stakes[shared] == pytest.approx(8 * rounds), "no stake update to the shared hotkey was lost"
    for o in outputs:
        assert stakes[o["hotkey"]] == pytest.approx(rounds)
    weights = chain.weights()
    for o in outputs:
        last = {int(k): v for k, v in o["last"].items()}
        total = sum(last.values())
        assert weights[o["uid"]] == pytest.approx({k: v / total for k, v in last.items()}), "last write wins"
    # Emission ran concurrently: each paid epoch paid once, in full or (before any weights) not at all.
    with chain._read() as conn:  # noqa: SLF001 - inspecting the ledger directly
        per_epoch = dict(conn.execute("SELECT epoch, SUM(amount) FROM emissions GROUP BY epoch").fetchall())
    assert per_epoch, "epochs ended while the workers ran"
    assert all(v == pytest.approx(1.0) for v in per_epoch.values())
    assert sum(b.balance for b in chain.balances()) == pytest.approx(sum(per_epoch.values()))


def test_weights_inside_rate_limit_refused_with_blocks_to_wait(tmp_path: Path, clock: Clock) -> None:
    chain = make_chain(tmp_path, clock, weights_rate_limit=5)
    v, m = ss58("v"), ss58("m")
    chain.register(v, ss58("c"))
    chain.register(m, ss58("c2"))
    chain.add_stake(v, 10)
    chain.set_weights(v, {1: 1.0})
    clock.t += 2  # two blocks later
    with pytest.raises(RateLimited) as info:
        chain.set_weights(v, {1: 0.5})
    assert info.value.blocks_to_wait == 3
    assert "wait 3 more block" in str(info.value)
    clock.t += 3
    chain.set_weights(v, {0: 1.0, 1: 3.0})
    assert chain.weights()[0] == pytest.approx({0: 0.25, 1: 0.75})


def test_emission_follows_stake_weighted_median_of_weights(tmp_path: Path, clock: Clock) -> None:
    chain = make_chain(tmp_path, clock, emission_per_epoch=10.0, epoch_blocks=10)
    validators = [ss58(f"v{i}") for i in range(3)]
    miners = [ss58(f"m{i}") for i in range(3)]
    for k in validators + miners:
        chain.register(k, ss58("owner"))
    for k, stake in zip(validators, (60, 30, 10), strict=True):
        chain.add_stake(k, stake)
    # uids 3, 4, 5 are the miners. Consensus (kappa = half the stake):
    # uid 3: 0.5 from 60% of stake -> 0.5; uid 4: 0.6 from 30%, ≥0.3 from 90% -> 0.3; uid 5: ≥0.2 from 90% -> 0.2
    chain.set_weights(validators[0], {3: 0.5, 4: 0.3, 5: 0.2})
    chain.set_weights(validators[1], {3: 0.2, 4: 0.6, 5: 0.2})
    chain.set_weights(validators[2], {5: 1.0})
    assert chain.last_emitted_epoch() == -1
    clock.t += 10  # block 10: epoch 0 has ended
    balances = {b.uid: b.balance for b in chain.balances()}
    assert balances == pytest.approx({0: 0, 1: 0, 2: 0, 3: 5.0, 4: 3.0, 5: 2.0})
    assert chain.emissions(0) == pytest.approx({3: 5.0, 4: 3.0, 5: 2.0})
    # A second process opening the same file pays nothing twice.
    other = LocalChain(tmp_path / "chain.db", clock=clock)
    assert sum(b.balance for b in other.balances()) == pytest.approx(10.0)
    clock.t += 25  # block 35: epochs 1 and 2 ended
    assert sum(b.balance for b in other.balances()) == pytest.approx(30.0)
    assert sum(b.balance for b in chain.balances()) == pytest.approx(30.0)
    assert chain.last_emitted_epoch() == 2


def test_permits_top_k_or_min_stake(tmp_path: Path, clock: Clock) -> None:
    chain = make_chain(tmp_path, clock, max_validators=2, min_validator_stake=50.0)
    keys = [ss58(f"k{i}") for i in range(5)]
    for k in keys:
        chain.register(k, ss58("owner"))
    for k, stake in zip(keys, (5, 20, 10, 0, 0), strict=True):
        chain.add_stake(k, stake) if stake else None
    permits = {n.uid: n.validator_permit for n in chain.metagraph().neurons}
    assert permits == {0: False, 1: True, 2: True, 3: False, 4: False}
    chain.add_stake(keys[0], 60)  # 65: top 2 and ≥ min stake
    chain.add_stake(keys[3], 55)  # 55: top 2 and ≥ min stake; uid 1 (20) drops out of the top 2
    permits = {n.uid: n.validator_permit for n in chain.metagraph().neurons}
    assert permits == {0: True, 1: False, 2: False, 3: True, 4: False}
    chain2 = make_chain(tmp_path / "b", clock, max_validators=1, min_validator_stake=50.0)
    for k, stake in zip(keys[:3], (70, 60, 10), strict=True):
        chain2.register(k, ss58("owner"))
        chain2.add_stake(k, stake)
    permits = {n.uid: n.validator_permit for n in chain2.metagraph().neurons}
    assert permits == {0: True, 1: True, 2: False}, "outside the top k but ≥ min stake keeps a permit"
    with pytest.raises(ChainError, match="no validator permit"):
        chain.set_weights(keys[4], {0: 1.0})


def test_errors_are_clear(tmp_path: Path, clock: Clock) -> None:
    chain = make_chain(tmp_path, clock, max_uids=2)
    a, b = ss58("a"), ss58("b")
    assert chain.register(a, ss58("ca")) == 0
    assert chain.register(a, ss58("ca")) == 0, "registering twice gives the same uid"
    with pytest.raises(ChainError, match="another coldkey"):
        chain.register(a, ss58("other"))
    with pytest.raises(ChainError, match="invalid hotkey"):
        chain.register("5notanaddress", ss58("ca"))
    with pytest.raises(NotRegistered):
        chain.set_weights(b, {0: 1.0})
    with pytest.raises(NotRegistered):
        chain.publish_address(b, "127.0.0.1", 8091)
    chain.register(b, ss58("cb"))
    with pytest.raises(ChainError, match="full"):
        chain.register(ss58("c"), ss58("cc"))
    chain.add_stake(a, 1)
    with pytest.raises(ChainError, match="unregistered uid"):
        chain.set_weights(a, {7: 1.0})
    for bad in ({0: -1.0}, {0: float("nan")}, {0: 0.0}, {}):
        with pytest.raises(ChainError):
            chain.set_weights(a, bad)
    with pytest.raises(ChainError, match="invalid IP"):
        chain.publish_address(a, "300.1.1.1", 8091)
    with pytest.raises(ChainError, match="invalid port"):
        chain.publish_address(a, "127.0.0.1", 70000)
    chain.publish_address(a, "127.0.0.1", 8091)
    assert chain.metagraph().by_uid(0).address == "http://127.0.0.1:8091"  # type: ignore[union-attr]
    with pytest.raises(ChainError, match="stake amount"):
        chain.add_stake(a, -3)
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(ChainError, match="directory"):
        LocalChain(tmp_path / "dir.db")


def test_max_weight_clipping(tmp_path: Path, clock: Clock) -> None:
    chain = make_chain(tmp_path, clock, max_weight=0.5)
    keys = [ss58(f"w{i}") for i in range(3)]
    for k in keys:
        chain.register(k, ss58("owner"))
    chain.add_stake(keys[0], 1)
    chain.set_weights(keys[0], {0: 8.0, 1: 1.0, 2: 1.0})
    assert chain.weights()[0] == pytest.approx({0: 0.5, 1: 0.25, 2: 0.25})


def test_maths_units() -> None:
    w = normalize_clip(np.array([10.0, 5.0, 3.0, 2.0]), 0.4)
    assert w.sum() == pytest.approx(1.0) and w.max() <= 0.4 + 1e-9
    assert w[1] / w[2] == pytest.approx(5 / 3), "unclipped entries keep their ratios"
    assert normalize_clip(np.array([1.0, 1.0]), 0.3) == pytest.approx([0.5, 0.5]), "infeasible cap -> equal"
    assert list(validator_permits(np.array([3.0, 0.0, 9.0, 1.0]), 2, 100.0)) == [True, False, True, False]
    c = consensus_weights(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0.7, 0.3]))
    assert c == pytest.approx([1.0, 0.0]), "the majority of stake decides"


def test_open_chain_picks_local_from_settings(tmp_home: Path) -> None:
    settings = load_settings(profile="fast")
    chain = open_chain(settings)
    assert isinstance(chain, LocalChain)
    assert chain.params.block_time_s == settings.timings.block_time_s
    assert chain.params.epoch_blocks == settings.timings.epoch_blocks
    assert settings.chain_db_path().is_file()


def test_rules_and_genesis_are_fixed_when_the_file_is_created(tmp_path: Path, clock: Clock) -> None:
    first = make_chain(tmp_path, clock, block_time_s=1.0)
    clock.t += 42
    later = LocalChain(tmp_path / "chain.db", ChainParams(block_time_s=99.0), clock=clock)
    assert later.params.block_time_s == 1.0, "every process keeps the rules written at creation"
    assert later.block() == first.block() == 42, "block numbers count from the stored genesis time"
