"""Fixtures for the miner tests: keys, a local chain with a validator, a fake worker API, a live miner."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bittensor.sp_core import Keypair
from miner_fake_worker import FakeWorkerState, create_fake_worker_api
from miner_helpers import API_KEY, wallet_of

from dojo.chain.local import LocalChain
from dojo.config import Settings, load_settings
from dojo.miner.app import create_app
from dojo.miner.worker_client import WorkerApiClient
from dojo.serving import ServerThread, start_thread


@dataclass
class Keys:
    miner: Keypair
    validator: Keypair
    validator2: Keypair
    outsider: Keypair  # registered, no stake: not a validator
    stranger: Keypair  # not registered at all


@pytest.fixture
def keys() -> Keys:
    tag = uuid.uuid4().hex[:8]
    return Keys(
        *(
            Keypair.create_from_uri(f"//{name}-{tag}")
            for name in ("miner", "validator", "validator2", "outsider", "stranger")
        )
    )


@pytest.fixture
def settings(tmp_home: Path) -> Settings:
    return load_settings(
        profile="fast", chain__network="local", miner__worker_api_attempts=3, miner__worker_api_timeout_s=2.0
    )


@pytest.fixture
def chain(settings: Settings, keys: Keys) -> Iterator[LocalChain]:
    from dojo.chain import open_chain

    ch = open_chain(settings)
    assert isinstance(ch, LocalChain)
    cold = Keypair.create_from_uri("//cold").ss58_address
    for kp in (keys.miner, keys.validator, keys.validator2, keys.outsider):
        ch.register(kp.ss58_address, cold)
    ch.add_stake(keys.validator.ss58_address, 2 * settings.chain.min_validator_stake)
    ch.add_stake(keys.validator2.ss58_address, 2 * settings.chain.min_validator_stake)
    yield ch
    ch.close()


@pytest.fixture
def worker_state() -> FakeWorkerState:
    return FakeWorkerState(api_key=API_KEY)


@pytest.fixture
def worker_api(worker_state: FakeWorkerState) -> Iterator[ServerThread]:
    server = start_thread(create_fake_worker_api(worker_state))
    yield server
    server.stop()


@dataclass
class MinerHandle:
    url: str
    hotkey: str
    server: ServerThread


@pytest.fixture
def start_miner(settings: Settings, chain: LocalChain, keys: Keys) -> Iterator[Callable[..., MinerHandle]]:
    """Start a miner on a free port against a worker API URL; stopped at teardown."""
    started: list[ServerThread] = []

    def start(worker_url: str, *, backoff_s: float = 0.05) -> MinerHandle:
        client = WorkerApiClient(
            worker_url, API_KEY, timeout=2.0, attempts=settings.miner.worker_api_attempts, backoff_s=backoff_s
        )
        app = create_app(settings, wallet_of(keys.miner), chain, client)
        server = start_thread(app)
        started.append(server)
        return MinerHandle(url=server.url, hotkey=keys.miner.ss58_address, server=server)

    yield start
    for server in started:
        if server.thread.is_alive():
            server.stop()


@pytest.fixture
def miner(start_miner: Callable[..., MinerHandle], worker_api: ServerThread) -> MinerHandle:
    return start_miner(worker_api.url)
