"""Spec versions: sent as ``version_key`` with weights, and a clear warning (log + metric) when the chain or a
peer expects a newer one than this release."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import bittensor as bt
import pytest
from bittensor.sp_core import Keypair
from tests.chain.fake_substrate import FakeSubstrate

from dojo import __spec_version__, __version__, protocol
from dojo.chain import OutdatedVersion
from dojo.chain.local import ChainParams, LocalChain
from dojo.chain.subtensor import SubtensorChain
from dojo.chain.wallets import create_wallet
from dojo.miner.metrics import MinerMetrics, check_chain_version
from dojo.validator.metrics import VersionWatch
from dojo.versions import release_of, spec_of

NETUID = 7


def test_spec_version_follows_the_release() -> None:
    assert __spec_version__ == spec_of(__version__) > 0
    assert spec_of("0.1.0") == 100 and spec_of("v1.2.3") == 10203 and spec_of("2.0") == 20000
    assert spec_of("1.2.3rc1") == 10203 and spec_of("t") is None and spec_of("1.200.0") is None
    assert release_of(10203) == "1.2.3"


# ---- the local chain --------------------------------------------------------------------------


@pytest.fixture
def local(tmp_path: Path) -> LocalChain:
    chain = LocalChain(tmp_path / "chain.db", ChainParams(weights_rate_limit=0, min_validator_stake=1.0))
    v, m = Keypair.create_from_uri("//ver-validator"), Keypair.create_from_uri("//ver-miner")
    chain.register(v.ss58_address, v.ss58_address)
    chain.register(m.ss58_address, m.ss58_address)
    chain.add_stake(v.ss58_address, 10.0)
    chain.validator = v.ss58_address  # type: ignore[attr-defined]
    return chain


def test_local_chain_takes_this_release_and_refuses_an_older_one(local: LocalChain) -> None:
    hotkey = local.validator  # type: ignore[attr-defined]
    assert local.weights_version() == 0
    local.set_weights(hotkey, {1: 1.0})  # this release's spec version is sent by default
    local.set_weights_version(__spec_version__)
    local.set_weights(hotkey, {1: 1.0})  # equal is enough
    local.set_weights_version(__spec_version__ + 1)
    with pytest.raises(OutdatedVersion) as err:
        local.set_weights(hotkey, {1: 1.0})
    assert err.value.required == __spec_version__ + 1 and err.value.sent == __spec_version__
    assert "update Dojo" in str(err.value)


# ---- the bittensor adapter ---------------------------------------------------------------------


class VersionedSubstrate(FakeSubstrate):
    """The fake substrate plus the ``WeightsVersionKey`` hyperparameter and the runtime's check of it."""

    required = 0

    async def query(
        self, module: str, storage_function: str, params: list | None = None, block_hash: Any = None
    ) -> Any:
        if (module, storage_function) == ("SubtensorModule", "WeightsVersionKey"):
            return self.required
        return await super().query(module, storage_function, params, block_hash)

    def _do_set_mechanism_weights(self, params: dict[str, Any], signer: str) -> tuple[str, str] | None:
        if int(params["version_key"]) < self.required:
            return "IncorrectWeightVersionKey", "the version key is older than the subnet's weights version"
        return super()._do_set_mechanism_weights(params, signer)


@pytest.fixture
def wallet(tmp_home: Path) -> bt.Wallet:
    return create_wallet("val", "hot", tmp_home / "wallets")


@pytest.fixture
def fake(wallet: bt.Wallet) -> VersionedSubstrate:
    fake = VersionedSubstrate(block=5000)
    fake.subnet(NETUID, weights_rate_limit=0)
    fake.register(NETUID, wallet.hotkey.ss58_address, wallet.coldkeypub.ss58_address, stake_tao=2500.0, permit=True)
    kp = Keypair.create_from_uri("//ver-miner0")
    fake.register(NETUID, kp.ss58_address, kp.ss58_address)
    return fake


def test_the_adapter_sends_the_spec_version_as_version_key(fake: VersionedSubstrate, wallet: bt.Wallet) -> None:
    chain = SubtensorChain("ws://127.0.0.1:9944", NETUID, substrate=fake)
    chain.set_weights(wallet, {1: 1.0})
    (_, function, params, _) = fake.submitted[-1]
    assert function == "set_mechanism_weights" and params["version_key"] == __spec_version__
    fake.required = __spec_version__ + 5
    assert chain.weights_version() == __spec_version__ + 5
    with pytest.raises(OutdatedVersion) as err:
        chain.set_weights(wallet, {1: 1.0})
    assert err.value.required == __spec_version__ + 5 and "update Dojo" in str(err.value)


# ---- the validator's and the miner's warnings ---------------------------------------------------


def outdated(text: str, source: str) -> bool:
    return f'dojo_validator_outdated{{source="{source}"}} 1.0' in text


async def test_validator_warns_when_the_chain_requires_a_newer_version(
    make_engine, local: LocalChain, caplog: pytest.LogCaptureFixture
) -> None:
    engine, *_ = make_engine(["good"])
    watch = VersionWatch(local, engine.metrics)
    assert await watch.check() is False
    assert not outdated(engine.metrics.render().decode(), "chain")
    local.set_weights_version(__spec_version__ + 1)
    with caplog.at_level(logging.WARNING):
        assert await watch.check() is True
        assert await watch.check() is True  # still outdated, but said once
    text = engine.metrics.render().decode()
    assert outdated(text, "chain") and f"dojo_validator_required_spec_version {__spec_version__ + 1}.0" in text
    warnings = [r for r in caplog.records if r.getMessage() == "version.outdated"]
    assert len(warnings) == 1 and warnings[0].fields["chain_requires"] == __spec_version__ + 1  # type: ignore[attr-defined]


async def test_validator_warns_when_miners_run_a_newer_release(make_engine, caplog: pytest.LogCaptureFixture) -> None:
    engine, gateway, *_ = make_engine(["good", "good"])
    newer = release_of(__spec_version__ + 100)
    plain = gateway.heartbeat

    async def heartbeat(miners: list) -> dict:
        replies = await plain(miners)
        first = miners[0].hotkey
        replies[first] = protocol.HeartbeatReply(hotkey=first, version=newer, worker_api_ok=True)
        return replies

    gateway.heartbeat = heartbeat
    engine.active = []
    await engine.refresh_miners()
    with caplog.at_level(logging.WARNING):
        assert await VersionWatch(None, engine.metrics).check() is True
    text = engine.metrics.render().decode()
    assert outdated(text, "peers") and not outdated(text, "chain")
    assert f'dojo_validator_miners_by_version{{version="{newer}"}} 1.0' in text
    assert [r.fields["newer_miners"] for r in caplog.records if r.getMessage() == "version.outdated"] == [newer]  # type: ignore[attr-defined]


async def test_miner_warns_when_the_chain_requires_a_newer_version(
    local: LocalChain, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = MinerMetrics()
    assert await check_chain_version(local, metrics) == 0
    assert "dojo_miner_outdated 0.0" in metrics.render().decode()
    local.set_weights_version(__spec_version__ + 1)
    with caplog.at_level(logging.WARNING):
        last = await check_chain_version(local, metrics)
        assert await check_chain_version(local, metrics, last) == last
    assert "dojo_miner_outdated 1.0" in metrics.render().decode()
    assert len([r for r in caplog.records if r.getMessage() == "version.outdated"]) == 1
