"""The miner against the real worker API: a labeller's result reaches the validator, feedback grades them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
from miner_helpers import make_task, wallet_of
from tests.worker_api.helpers import body, labeller_login, link, metagraph_of, miner_login, new_key

from dojo.config import load_settings
from dojo.miner.app import create_app
from dojo.miner.worker_client import WorkerApiClient
from dojo.protocol import Empty, Feedback, ResultsReply, TaskAccepted
from dojo.serving import start_thread
from dojo.transport.client import SignedClient
from dojo.worker_api.app import create_app as create_worker_api


async def test_full_round_through_the_real_worker_api(tmp_home: Path, keys, chain, settings):
    worker_settings = load_settings(profile="fast", worker__jwt_secret="s" * 40)
    worker = start_thread(create_worker_api(worker_settings, metagraph=lambda: metagraph_of(keys.miner.ss58_address)))
    try:
        async with httpx.AsyncClient(base_url=worker.url, timeout=10) as w:
            operator = await miner_login(w, keys.miner)
            api_key = await new_key(w, operator, "api-keys")
            sub_key = await new_key(w, operator, "subscription-keys")
            account, labeller = await labeller_login(w)
            await link(w, labeller, sub_key)

            miner = start_thread(
                create_app(settings, wallet_of(keys.miner), chain, WorkerApiClient(worker.url, api_key, backoff_s=0.05))
            )
            try:
                task = make_task(4)
                ids = [r.completion_id for r in task.responses]
                async with SignedClient(keys.validator, timeout=10) as v:
                    accepted = await v.post(miner.url, keys.miner.ss58_address, "/v1/tasks", task, TaskAccepted)
                    scores = {str(c): float(10 - 2 * i) for i, c in enumerate(ids)}
                    body(
                        await w.put(
                            f"/api/v1/tasks/{accepted.worker_task_id}/result", json={"scores": scores}, headers=labeller
                        )
                    )

                    got = await v.post(
                        miner.url, keys.miner.ss58_address, f"/v1/tasks/{task.task_id}/results", {}, ResultsReply
                    )
                    assert len(got.results) == 1
                    assert got.results[0].labeller_id.lower() == account.address.lower()
                    assert {str(k): s for k, s in got.results[0].scores.items()} == scores

                    fb = Feedback(score=1.0, ground_truth={c: i for i, c in enumerate(ids)})
                    await v.post(miner.url, keys.miner.ss58_address, f"/v1/tasks/{task.task_id}/feedback", fb, Empty)
            finally:
                miner.stop()
    finally:
        worker.stop()
    with sqlite3.connect(tmp_home / ".dojo" / "worker.db") as db:
        grades = db.execute(
            "SELECT grade FROM labeller_grades WHERE task_id = ?", (accepted.worker_task_id,)
        ).fetchall()
    assert grades == [(1.0,)]  # the labeller's order matched the ground truth exactly
