"""``dojo miner`` as a real process on the local chain: publish, serve signed calls, stop on SIGTERM, clear errors."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest
from bittensor.sp_core import Keypair
from miner_fake_worker import FakeWorkerState, create_fake_worker_api
from miner_helpers import API_KEY, make_task

from dojo.chain import open_chain
from dojo.chain.local import LocalChain
from dojo.chain.wallets import create_wallet
from dojo.config import load_settings
from dojo.protocol import HeartbeatReply, TaskAccepted
from dojo.serving import start_thread
from dojo.transport.client import SignedClient
from support import free_port, start_dojo, stop, wait_until


@pytest.fixture
def setup(tmp_home: Path):
    """Wallets on disk, a local chain with the miner and a validator registered, a fake worker API."""
    wallets = tmp_home / "wallets"
    miner_wallet = create_wallet("miner", "default", wallets)
    create_wallet("miner", "spare", wallets)  # exists on disk, never registered
    validator = Keypair.create_from_uri("//service-validator")
    settings = load_settings(profile="fast")
    chain = open_chain(settings)
    assert isinstance(chain, LocalChain)
    chain.register(miner_wallet.hotkey.ss58_address, miner_wallet.coldkeypub.ss58_address)
    chain.register(validator.ss58_address, miner_wallet.coldkeypub.ss58_address)
    chain.add_stake(validator.ss58_address, 5000)
    state = FakeWorkerState(api_key=API_KEY)
    worker = start_thread(create_fake_worker_api(state))
    port = free_port()
    env = {
        "DOJO_PROFILE": "fast",
        "DOJO_WALLET_PATH": str(wallets),
        "DOJO_WALLET_NAME": "miner",
        "DOJO_WALLET_HOTKEY": "default",
        "DOJO_MINER_PORT": str(port),
        "DOJO_MINER_API_KEY": API_KEY,
        "DOJO_MINER_WORKER_API_URL": worker.url,
    }
    yield {
        "chain": chain,
        "env": env,
        "port": port,
        "miner_wallet": miner_wallet,
        "validator": validator,
        "state": state,
        "tmp": tmp_home,
    }
    worker.stop()
    chain.close()


async def test_miner_publishes_serves_and_stops_cleanly_on_sigterm(setup):
    chain, env, port = setup["chain"], setup["env"], setup["port"]
    hotkey = setup["miner_wallet"].hotkey.ss58_address
    log_path = setup["tmp"] / "miner.log"
    proc = start_dojo(["miner"], env, log_path)
    try:
        neuron = wait_until(
            lambda: (n := chain.metagraph().by_hotkey(hotkey)) and n.port == port and n,
            timeout=30,
            what="address on the chain",
        )
        assert (neuron.ip, neuron.port) == ("127.0.0.1", port)
        # Published only once listening: the address answers at once.
        async with httpx.AsyncClient(timeout=5) as plain:
            assert (await plain.get(f"{neuron.address}/health")).json()["hotkey"] == hotkey
        async with SignedClient(setup["validator"], timeout=10) as client:
            hb = await client.post(neuron.address, hotkey, "/v1/heartbeat", {}, HeartbeatReply)
            accepted = await client.post(neuron.address, hotkey, "/v1/tasks", make_task(), TaskAccepted)
        assert hb.hotkey == hotkey and hb.worker_api_ok
        assert accepted.worker_task_id in setup["state"].tasks
        assert (setup["tmp"] / ".dojo" / "miner.db").exists()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        stop(proc)
    log = log_path.read_text()
    assert "miner.published" in log and "miner.stopped" in log and "miner.exit" in log
    assert "Traceback" not in log


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"DOJO_MINER_API_KEY": ""}, "no worker API key"),
        ({"DOJO_WALLET_NAME": "nobody"}, "no wallet 'nobody'"),
        ({"DOJO_WALLET_HOTKEY": "other"}, "has no hotkey 'other'"),
        ({"DOJO_MINER_HOST": "0.0.0.0"}, "DOJO_MINER_EXTERNAL_IP"),
        ({"DOJO_WALLET_HOTKEY": "spare"}, "is not registered on subnet 1"),
    ],
)
def test_startup_errors_are_one_clear_line(setup, change, expected):
    log_path = setup["tmp"] / "err.log"
    proc = start_dojo(["miner"], {**setup["env"], **change}, log_path)
    try:
        code = proc.wait(60)
    finally:
        stop(proc)
    out = log_path.read_text()
    assert code == 2, out
    assert expected in out, out
    assert "Traceback" not in out
    assert out.count("error:") == 1


def test_port_in_use_is_a_clear_error(setup):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", setup["port"]))
        busy.listen(1)
        log_path = setup["tmp"] / "busy.log"
        proc = start_dojo(["miner"], setup["env"], log_path)
        try:
            code = proc.wait(60)
        finally:
            stop(proc)
    out = log_path.read_text()
    assert code == 2 and f"cannot listen on 127.0.0.1:{setup['port']}" in out, out
