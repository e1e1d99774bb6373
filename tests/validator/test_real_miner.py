"""The validator against the REAL miner (signed endpoints, metagraph allow-list, worker API client).

The worker API behind the miner is the miner tests' fake (tests/miner/miner_fake_worker.py), where the
test plays the labellers. The whole chain of calls is real HTTP on loopback, on the local chain.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from bittensor.sp_core import Keypair
from vfakes import RANK, ListSource, tag_obfuscate

from dojo import protocol
from dojo.chain import open_chain
from dojo.config import load_settings
from dojo.miner.app import create_app
from dojo.miner.worker_client import WorkerApiClient
from dojo.transport.client import SignedClient
from dojo.validator.engine import Engine, EngineConfig
from dojo.validator.gateway import SignedGateway

sys.path.insert(0, str(Path(__file__).parents[1] / "miner"))
from miner_fake_worker import FakeWorkerState, create_fake_worker_api  # noqa: E402
from miner_helpers import API_KEY, wallet_of  # noqa: E402

from dojo.serving import start_thread  # noqa: E402


async def test_a_round_through_the_real_miner(store, tmp_home) -> None:
    settings = load_settings(profile="fast", chain__network="local")
    chain = open_chain(settings)
    validator, miner_key = Keypair.create_from_uri("//v-real"), Keypair.create_from_uri("//m-real")
    cold = Keypair.create_from_uri("//cold").ss58_address
    chain.register(validator.ss58_address, cold)
    chain.add_stake(validator.ss58_address, 2 * settings.chain.min_validator_stake)
    miner_uid = chain.register(miner_key.ss58_address, cold)
    state = FakeWorkerState(api_key=API_KEY)
    worker = start_thread(create_fake_worker_api(state))
    client = WorkerApiClient(worker.url, API_KEY, timeout=2.0, attempts=2, backoff_s=0.05)
    miner = start_thread(create_app(settings, wallet_of(miner_key), chain, client))
    try:
        chain.publish_address(miner_key.ss58_address, "127.0.0.1", miner.port)
        async with SignedClient(validator, timeout=3.0) as signed:
            engine = Engine(
                store,
                SignedGateway(signed),
                ListSource(),
                chain,
                None,
                validator.ss58_address,
                EngineConfig(deadline_s=1.5, tasks_per_round=2, seed=None),
                tag_obfuscate,
            )
            assert [m.uid for m in await engine.refresh_miners()] == [miner_uid]
            await engine.start_round()
            await engine.dispatch()
            assert store.task_counts() == {"dispatched": 2}
            await engine.dispatch()  # nothing planned any more: nothing sent twice
            assert len(state.tasks) == 2
            # two labellers label each task in the worker API: one well, one reversed
            for wid, entry in state.tasks.items():
                task = protocol.Task.model_validate(entry["task"])
                ranks = {r.completion_id: int(RANK.search(r.content).group(1)) for r in task.responses}
                for lab, sign in (("0x" + "a" * 40, 1), ("0x" + "b" * 40, -1)):
                    scores = {c: float(5 + sign * (2 - k)) for c, k in ranks.items()}
                    state.add_result(
                        wid,
                        protocol.LabellerResult(
                            labeller_id=lab, scores=scores, submitted_at=datetime.now(timezone.utc)
                        ),
                    )
            deadline = time.monotonic() + 15
            while not await engine.collect():
                assert time.monotonic() < deadline, "tasks never became due"
                await asyncio.sleep(0.05)
            assert await engine.score() == [1]
            await engine.feedback()
    finally:
        miner.stop()
        worker.stop()
        chain.close()
    assert store.task_counts() == {"fed_back": 2}
    # mean of a right and a reversed labeller is constant: no order, no reward
    assert store.running_scores()[(miner_uid, miner_key.ss58_address)] == pytest.approx(0.0)
    # feedback reached the worker API with each labeller's grade: 1 for the careful one, 0 for the other
    assert len(state.feedback) == 2
    for fbs in state.feedback.values():
        assert fbs[-1]["per_labeller"] == {"0x" + "a" * 40: pytest.approx(1.0), "0x" + "b" * 40: pytest.approx(0.0)}
        assert sorted(fbs[-1]["ground_truth"].values()) == [0, 1, 2, 3]
