"""The bittensor adapter, offline: the real SDK (11.3.0) over an in-memory substrate fake."""

from __future__ import annotations

from pathlib import Path

import bittensor as bt
import pytest
from bittensor.keyfiles import Keypair
from fake_substrate import U16_MAX, FakeSubstrate

from dojo.chain import ChainError, ChainUnavailable, NotRegistered, RateLimited, open_chain
from dojo.chain.subtensor import SubtensorChain, parse_axon
from dojo.chain.wallets import create_wallet
from dojo.config import load_settings

NETUID = 7


@pytest.fixture
def wallet(tmp_home: Path) -> bt.Wallet:
    return create_wallet("val", "hot", tmp_home / "wallets")


@pytest.fixture
def fake(wallet: bt.Wallet) -> FakeSubstrate:
    fake = FakeSubstrate(block=5000)
    fake.subnet(NETUID, weights_rate_limit=50)
    fake.register(NETUID, wallet.hotkey.ss58_address, wallet.coldkeypub.ss58_address, stake_tao=2500.0, permit=True)
    for i in range(3):
        kp = Keypair.create_from_uri(f"//miner{i}")
        fake.register(NETUID, kp.ss58_address, kp.ss58_address, stake_tao=float(i))
    return fake


@pytest.fixture
def chain(fake: FakeSubstrate) -> SubtensorChain:
    return SubtensorChain("ws://127.0.0.1:9944", NETUID, substrate=fake)


def test_metagraph_read(chain: SubtensorChain, fake: FakeSubstrate, wallet: bt.Wallet) -> None:
    fake.subnet(NETUID).axons[2] = {"ip": int.from_bytes(bytes([10, 1, 2, 3]), "big"), "port": 8092, "ip_type": 4,
                                    "protocol": 4, "version": 1}  # fmt: skip
    mg = chain.metagraph()
    assert mg.netuid == NETUID and mg.block == 5000 and len(mg.neurons) == 4
    me = mg.by_hotkey(wallet.hotkey.ss58_address)
    assert me is not None and me.uid == 0 and me.validator_permit and me.stake == pytest.approx(2500.0)
    assert me.coldkey == wallet.coldkeypub.ss58_address
    assert mg.by_uid(2).address == "http://10.1.2.3:8092"  # type: ignore[union-attr]
    assert mg.by_uid(1).address is None  # type: ignore[union-attr]
    assert mg.is_validator(me.hotkey, min_stake=1e9) and not mg.is_validator(mg.by_uid(3).hotkey, 1000.0)  # type: ignore[union-attr]
    assert chain.block() == 5000


def test_publish_address(chain: SubtensorChain, fake: FakeSubstrate, wallet: bt.Wallet) -> None:
    chain.publish_address(wallet, "192.168.7.9", 8091)
    module, function, params, signer = fake.submitted[-1]
    assert (module, function) == ("SubtensorModule", "serve_axon")
    assert signer == wallet.hotkey.ss58_address, "signed by the hotkey"
    assert params["port"] == 8091 and params["ip_type"] == 4
    assert chain.metagraph().by_uid(0).address == "http://192.168.7.9:8091"  # type: ignore[union-attr]
    with pytest.raises(ChainError, match="invalid IP"):
        chain.publish_address(wallet, "not-an-ip", 8091)
    with pytest.raises(ChainError, match="invalid port"):
        chain.publish_address(wallet, "1.2.3.4", 0)


def test_weights_written_as_u16_and_read_back(chain: SubtensorChain, fake: FakeSubstrate, wallet: bt.Wallet) -> None:
    chain.set_weights(wallet, {1: 0.2, 2: 0.5, 3: 0.3})
    stored = dict(fake.subnet(NETUID).weights[0])
    assert stored[2] == U16_MAX, "the SDK max-upscales to u16"
    assert stored == {1: round(0.4 * U16_MAX), 2: U16_MAX, 3: round(0.6 * U16_MAX)}
    assert all(isinstance(v, int) for v in stored.values())
    back = chain.weights()
    assert back[0] == pytest.approx({1: 0.2, 2: 0.5, 3: 0.3}, abs=1e-4)
    assert fake.subnet(NETUID).last_update[0] == 5000


def test_max_weight_limit_is_applied_by_the_sdk(chain: SubtensorChain, fake: FakeSubstrate, wallet: bt.Wallet) -> None:
    fake.subnet(NETUID, max_weights_limit=int(0.5 * U16_MAX))
    chain.set_weights(wallet, {1: 8.0, 2: 1.0, 3: 1.0})
    back = chain.weights()[0]
    assert max(back.values()) <= 0.5 + 1e-3 and back[2] == pytest.approx(back[3], abs=1e-4)


def test_rate_limited_with_blocks_to_wait(chain: SubtensorChain, fake: FakeSubstrate, wallet: bt.Wallet) -> None:
    chain.set_weights(wallet, {1: 1.0})
    fake.advance(20)
    with pytest.raises(RateLimited) as info:
        chain.set_weights(wallet, {2: 1.0})
    assert info.value.blocks_to_wait == 30
    assert "rate limit" in str(info.value)
    fake.advance(30)
    chain.set_weights(wallet, {2: 1.0})
    assert chain.weights()[0] == {2: 1.0}


def test_rate_limit_refused_by_the_runtime_itself(
    chain: SubtensorChain, fake: FakeSubstrate, wallet: bt.Wallet
) -> None:
    chain.set_weights(wallet, {1: 1.0})
    fake.subnet(NETUID, hide_last_update=True)  # the SDK's preflight can't see it; the runtime refuses
    fake.advance(5)
    with pytest.raises(RateLimited) as info:
        chain.set_weights(wallet, {2: 1.0})
    assert info.value.blocks_to_wait >= 1


def test_not_registered(chain: SubtensorChain, tmp_home: Path) -> None:
    stranger = create_wallet("stranger", "hot", tmp_home / "wallets")
    with pytest.raises(NotRegistered, match="not registered"):
        chain.set_weights(stranger, {1: 1.0})
    with pytest.raises(NotRegistered, match="not registered"):
        chain.publish_address(stranger, "10.0.0.1", 8091)


def test_bad_input_and_missing_subnet(fake: FakeSubstrate, wallet: bt.Wallet) -> None:
    chain = SubtensorChain("ws://127.0.0.1:9944", NETUID, substrate=fake)
    with pytest.raises(ChainError, match="no weights"):
        chain.set_weights(wallet, {})
    with pytest.raises(ChainError):
        chain.set_weights(wallet, {1: -1.0})
    with pytest.raises(ChainError, match="does not exist"):
        SubtensorChain("ws://127.0.0.1:9944", 99, substrate=fake).metagraph()
    with pytest.raises(ChainError, match="unknown network"):
        SubtensorChain("mainnet-please", NETUID, substrate=fake)


def test_unreachable_chain_is_chain_unavailable(tmp_home: Path) -> None:
    fake = FakeSubstrate()
    fake.fail_connect = bt.RpcConnectionError("connection refused")
    with pytest.raises(ChainUnavailable, match="cannot reach"):
        SubtensorChain("test", NETUID, substrate=fake).metagraph()


def test_open_chain_selects_the_adapter(tmp_home: Path, fake: FakeSubstrate) -> None:
    settings = load_settings(chain__network="ws://127.0.0.1:9944", chain__netuid=NETUID)
    chain = open_chain(settings, substrate=fake)
    assert isinstance(chain, SubtensorChain) and chain.netuid == NETUID
    assert len(chain.metagraph().neurons) == 4


def test_parse_axon() -> None:
    assert parse_axon("1.2.3.4:80") == ("1.2.3.4", 80)
    assert parse_axon("[::1]:8091") == ("::1", 8091)
    assert parse_axon(None) == (None, None)
    assert parse_axon("garbage") == (None, None)


def test_commit_reveal_subnet_commits_encrypted_weights(
    chain: SubtensorChain, fake: FakeSubstrate, wallet: bt.Wallet
) -> None:
    fake.subnet(NETUID, commit_reveal=True)
    chain.set_weights(wallet, {1: 0.5, 2: 0.5})
    module, function, params, _ = fake.submitted[-1]
    assert function == "commit_timelocked_mechanism_weights", "the SDK picked the timelocked commit path"
    commit, reveal_round = fake.subnet(NETUID).commits[0]
    assert len(commit) > 0 and reveal_round > 0
    assert chain.weights() == {}, "committed weights stay hidden until the chain reveals them"
    fake.advance(10)
    with pytest.raises(RateLimited):
        chain.set_weights(wallet, {1: 1.0})
