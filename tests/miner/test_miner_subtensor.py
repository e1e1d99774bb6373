"""The miner on the bittensor adapter: the real SDK code path (ServeAxon, metagraph) over the offline substrate fake."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bittensor.sp_core import Keypair
from miner_helpers import API_KEY, make_task
from tests.chain.fake_substrate import FakeSubstrate

from dojo.chain import open_chain
from dojo.chain.subtensor import SubtensorChain
from dojo.chain.wallets import create_wallet
from dojo.config import load_settings
from dojo.errors import Rejected
from dojo.miner.service import serve_miner
from dojo.protocol import HeartbeatReply, TaskAccepted
from dojo.transport.client import SignedClient
from support import free_port

NETUID = 7


async def eventually(cond: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Async poll with a deadline (the miner runs on this event loop, so never block it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await asyncio.to_thread(cond)
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


async def test_miner_publishes_through_serve_axon_and_admits_only_validators(tmp_home: Path, worker_api):
    wallet = create_wallet("miner", "default", tmp_home / "wallets")
    hotkey = wallet.hotkey.ss58_address
    validator, outsider = Keypair.create_from_uri("//sub-validator"), Keypair.create_from_uri("//sub-outsider")
    fake = FakeSubstrate(block=4000)
    fake.subnet(NETUID)
    miner_uid = fake.register(NETUID, hotkey, wallet.coldkeypub.ss58_address)
    fake.register(NETUID, validator.ss58_address, validator.ss58_address, stake_tao=5000.0, permit=True)
    fake.register(NETUID, outsider.ss58_address, outsider.ss58_address, stake_tao=3.0)
    port = free_port()
    settings = load_settings(
        profile="fast",
        chain__network="ws://127.0.0.1:9944",
        chain__netuid=NETUID,
        miner__port=port,
        miner__api_key=API_KEY,
        miner__worker_api_url=worker_api.url,
        transport__metagraph_cache_s=0.5,
    )
    chain = open_chain(settings, substrate=fake)
    assert isinstance(chain, SubtensorChain)

    async def run_once() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(serve_miner(settings, chain=chain, wallet=wallet, stop=stop))
        try:
            neuron = await eventually(
                lambda: (n := chain.metagraph().by_uid(miner_uid)) is not None and n.port == port and n,
                what="the miner's axon on the fake chain",
            )
            assert neuron.address == f"http://127.0.0.1:{port}"
            # On the restart the address is already on the chain before the miner listens again.
            await eventually(lambda: listening(port), what="the miner listening")
            async with SignedClient(validator, timeout=10) as v:
                hb = await v.post(neuron.address, hotkey, "/v1/heartbeat", {}, HeartbeatReply)
                assert hb.hotkey == hotkey and hb.worker_api_ok
                await v.post(neuron.address, hotkey, "/v1/tasks", make_task(), TaskAccepted)
            async with SignedClient(outsider, timeout=10) as o:
                with pytest.raises(Rejected) as info:
                    await o.post(neuron.address, hotkey, "/v1/heartbeat", {}, HeartbeatReply)
                assert info.value.status == 403 and "not a validator" in info.value.detail
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)

    await run_once()
    serves = [s for s in fake.submitted if s[1] == "serve_axon"]
    assert len(serves) == 1
    module, function, params, signer = serves[0]
    assert module == "SubtensorModule" and signer == hotkey, "ServeAxon is signed by the miner's hotkey"
    assert params["port"] == port and params["netuid"] == NETUID

    # A restart on the same address reads it back from the chain and spends no new transaction.
    await run_once()
    assert len([s for s in fake.submitted if s[1] == "serve_axon"]) == 1


async def test_unregistered_hotkey_is_refused_at_start(tmp_home: Path, worker_api):
    wallet = create_wallet("miner", "default", tmp_home / "wallets")
    fake = FakeSubstrate()
    fake.subnet(NETUID)
    settings = load_settings(
        profile="fast",
        chain__network="ws://127.0.0.1:9944",
        chain__netuid=NETUID,
        miner__port=free_port(),
        miner__api_key=API_KEY,
        miner__worker_api_url=worker_api.url,
    )
    from dojo.chain import NotRegistered

    with pytest.raises(NotRegistered, match=f"not registered on subnet {NETUID}"):
        await serve_miner(settings, chain=open_chain(settings, substrate=fake), wallet=wallet)
    assert fake.submitted == []
