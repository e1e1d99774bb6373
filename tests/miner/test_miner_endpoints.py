"""The miner's signed endpoints against a real server, a local chain and a fake worker API."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from miner_helpers import make_task, raw_post

from dojo import __version__
from dojo.errors import Rejected
from dojo.protocol import Empty, Feedback, HeartbeatReply, LabellerResult, ResultsReply, TaskAccepted
from dojo.transport.client import SignedClient
from support import free_port


async def test_heartbeat_reports_hotkey_version_and_worker_health(miner, keys, worker_state):
    async with SignedClient(keys.validator, timeout=10) as client:
        reply = await client.post(miner.url, miner.hotkey, "/v1/heartbeat", {}, HeartbeatReply)
        assert reply == HeartbeatReply(hotkey=keys.miner.ss58_address, version=__version__, worker_api_ok=True)


async def test_heartbeat_says_worker_down(start_miner, keys):
    miner = start_miner(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    async with SignedClient(keys.validator, timeout=10) as client:
        reply = await client.post(miner.url, miner.hotkey, "/v1/heartbeat", {}, HeartbeatReply)
    assert reply.worker_api_ok is False


async def test_task_created_in_worker_api_and_repeat_is_idempotent(miner, keys, worker_state):
    task = make_task()
    async with SignedClient(keys.validator, timeout=10) as client:
        accepted = await client.post(miner.url, miner.hotkey, "/v1/tasks", task, TaskAccepted)
        again = await client.post(miner.url, miner.hotkey, "/v1/tasks", task, TaskAccepted)
    assert again.worker_task_id == accepted.worker_task_id
    assert list(worker_state.tasks) == [accepted.worker_task_id]
    held = worker_state.tasks[accepted.worker_task_id]["task"]
    assert held == task.model_dump(mode="json")


async def test_results_round_trip_and_feedback_forwarded(miner, keys, worker_state):
    task = make_task(3)
    ids = [r.completion_id for r in task.responses]
    async with SignedClient(keys.validator, timeout=10) as client:
        accepted = await client.post(miner.url, miner.hotkey, "/v1/tasks", task, TaskAccepted)
        empty = await client.post(miner.url, miner.hotkey, f"/v1/tasks/{task.task_id}/results", {}, ResultsReply)
        assert empty.results == []
        given = [
            LabellerResult(
                labeller_id=f"0x{i:040x}",
                scores={c: float(v) for c, v in zip(ids, (9, 5, 1), strict=True)},
                submitted_at=datetime.now(timezone.utc),
            )
            for i in range(2)
        ]
        for r in given:
            worker_state.add_result(accepted.worker_task_id, r)
        got = await client.post(miner.url, miner.hotkey, f"/v1/tasks/{task.task_id}/results", {}, ResultsReply)
        assert got.results == given

        fb = Feedback(
            score=0.75,
            ground_truth={c: i for i, c in enumerate(ids)},
            per_labeller={given[0].labeller_id: 1.0, given[1].labeller_id: 0.25},
        )
        assert await client.post(miner.url, miner.hotkey, f"/v1/tasks/{task.task_id}/feedback", fb, Empty) == Empty()
    assert worker_state.feedback[accepted.worker_task_id] == [fb.model_dump(mode="json")]


async def test_non_validators_and_unsigned_are_refused_before_the_handler(miner, keys, worker_state):
    task = make_task()
    for signer, status in ((keys.outsider, 403), (keys.stranger, 403), (keys.miner, 403)):
        async with SignedClient(signer, timeout=10) as client:
            for path, body in (("/v1/heartbeat", {}), ("/v1/tasks", task)):
                with pytest.raises(Rejected) as info:
                    await client.post(miner.url, miner.hotkey, path, body, TaskAccepted)
                assert info.value.status == status, (signer.ss58_address, path, info.value.detail)
                assert "not" in info.value.detail
    unsigned = raw_post(miner.url, "/v1/tasks", task.model_dump_json().encode())
    assert unsigned.status_code == 401, unsigned.text
    # Signed for another miner: the signature binds the receiver.
    wrong = raw_post(miner.url, "/v1/heartbeat", b"{}", signer=keys.validator, receiver=keys.outsider.ss58_address)
    assert wrong.status_code == 401 and "receiver" in wrong.json()["detail"]
    # No handler ran: the worker API saw nothing (a heartbeat handler would have called /health).
    assert worker_state.requests == []
    assert worker_state.tasks == {}


async def test_unknown_task_and_other_validators_task_are_404(miner, keys):
    task = make_task()
    async with SignedClient(keys.validator, timeout=10) as v1, SignedClient(keys.validator2, timeout=10) as v2:
        await v1.post(miner.url, miner.hotkey, "/v1/tasks", task, TaskAccepted)
        for client, task_id in ((v1, uuid.uuid4()), (v2, task.task_id)):
            for what, body in (("results", {}), ("feedback", Feedback(score=0.5, ground_truth={}))):
                with pytest.raises(Rejected) as info:
                    await client.post(miner.url, miner.hotkey, f"/v1/tasks/{task_id}/{what}", body, Empty)
                assert info.value.status == 404
                assert "unknown task_id" in info.value.detail


async def test_bad_input_is_a_clear_4xx(miner, keys, worker_state):
    v = keys.validator
    bad_task = make_task().model_dump(mode="json")
    bad_task["responses"] = bad_task["responses"][:1]
    r = raw_post(miner.url, "/v1/tasks", bad_task, signer=v, receiver=miner.hotkey)
    assert r.status_code == 422 and "responses" in r.json()["detail"]

    r = raw_post(miner.url, "/v1/tasks", b"{not json", signer=v, receiver=miner.hotkey)
    assert r.status_code == 422 and "invalid Task" in r.json()["detail"]

    extra = {**make_task().model_dump(mode="json"), "ground_truth": {}}
    r = raw_post(miner.url, "/v1/tasks", extra, signer=v, receiver=miner.hotkey)
    assert r.status_code == 422 and "ground_truth" in r.json()["detail"]

    expired = make_task(expire_in_s=-5)
    r = raw_post(miner.url, "/v1/tasks", expired.model_dump_json().encode(), signer=v, receiver=miner.hotkey)
    assert r.status_code == 422 and "expired" in r.json()["detail"]

    r = raw_post(miner.url, "/v1/tasks/not-a-uuid/results", {}, signer=v, receiver=miner.hotkey)
    assert r.status_code == 422 and "UUID" in r.json()["detail"]

    r = raw_post(miner.url, "/v1/heartbeat", {"surprise": 1}, signer=v, receiver=miner.hotkey)
    assert r.status_code == 422

    task = make_task()
    raw_post(miner.url, "/v1/tasks", task.model_dump_json().encode(), signer=v, receiver=miner.hotkey)
    r = raw_post(
        miner.url,
        f"/v1/tasks/{task.task_id}/feedback",
        {"score": 7, "ground_truth": {}},
        signer=v,
        receiver=miner.hotkey,
    )
    assert r.status_code == 422 and "score" in r.json()["detail"]
    assert len(worker_state.tasks) == 1  # only the valid task reached the worker API


async def test_oversized_bodies_are_413(miner, keys, settings):
    big = b'{"pad": "' + b"x" * (80 * 1024) + b'"}'
    r = raw_post(miner.url, "/v1/heartbeat", big, signer=keys.validator, receiver=miner.hotkey)
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    huge = b"x" * (settings.transport.max_body_bytes + 1)
    r = raw_post(miner.url, "/v1/tasks", huge)  # refused before any signature check or parse
    assert r.status_code == 413


async def test_worker_api_5xx_is_retried_then_503(miner, keys, worker_state, settings):
    worker_state.fail_status = 500
    async with SignedClient(keys.validator, timeout=15) as client:
        with pytest.raises(Rejected) as info:
            await client.post(miner.url, miner.hotkey, "/v1/tasks", make_task(), TaskAccepted)
    assert info.value.status == 503
    assert "unavailable after 3 attempts" in info.value.detail
    assert worker_state.api_requests() == [("POST", "/api/v1/tasks")] * settings.miner.worker_api_attempts

    worker_state.fail_status = None  # the worker API recovers: the same task goes through
    async with SignedClient(keys.validator, timeout=15) as client:
        accepted = await client.post(miner.url, miner.hotkey, "/v1/tasks", make_task(), TaskAccepted)
    assert accepted.worker_task_id in worker_state.tasks


async def test_worker_api_4xx_is_not_retried_and_is_502(miner, keys, worker_state):
    worker_state.fail_status = 403
    async with SignedClient(keys.validator, timeout=10) as client:
        with pytest.raises(Rejected) as info:
            await client.post(miner.url, miner.hotkey, "/v1/tasks", make_task(), TaskAccepted)
    assert info.value.status == 502 and "refused" in info.value.detail
    assert worker_state.api_requests() == [("POST", "/api/v1/tasks")]


async def test_worker_api_down_is_503(start_miner, keys):
    miner = start_miner(f"http://127.0.0.1:{free_port()}")
    async with SignedClient(keys.validator, timeout=15) as client:
        with pytest.raises(Rejected) as info:
            await client.post(miner.url, miner.hotkey, "/v1/tasks", make_task(), TaskAccepted)
    assert info.value.status == 503 and "ConnectError" in info.value.detail


async def test_restart_keeps_the_task_mapping(start_miner, worker_api, keys, worker_state):
    first = start_miner(worker_api.url)
    task = make_task()
    async with SignedClient(keys.validator, timeout=10) as client:
        accepted = await client.post(first.url, first.hotkey, "/v1/tasks", task, TaskAccepted)
    first.server.stop()

    second = start_miner(worker_api.url)
    assert second.url != first.url
    result = LabellerResult(
        labeller_id="0xabc",
        scores={r.completion_id: 5.0 for r in task.responses},
        submitted_at=datetime.now(timezone.utc),
    )
    worker_state.add_result(accepted.worker_task_id, result)
    async with SignedClient(keys.validator, timeout=10) as client:
        got = await client.post(second.url, second.hotkey, f"/v1/tasks/{task.task_id}/results", {}, ResultsReply)
        again = await client.post(second.url, second.hotkey, "/v1/tasks", task, TaskAccepted)
    assert got.results == [result]
    assert again.worker_task_id == accepted.worker_task_id
    assert len(worker_state.tasks) == 1


async def test_concurrent_repeats_of_one_task_create_one_worker_task(miner, keys, worker_state):
    task = make_task()
    async with SignedClient(keys.validator, timeout=15) as client:
        replies = await asyncio.gather(
            *(client.post(miner.url, miner.hotkey, "/v1/tasks", task, TaskAccepted) for _ in range(12))
        )
    assert len({r.worker_task_id for r in replies}) == 1
    assert list(worker_state.tasks) == [replies[0].worker_task_id]


def test_task_map_keeps_links_across_reopen_and_prunes_old_ones(tmp_path):
    from dojo.miner.store import TaskMap

    path = tmp_path / "miner.db"
    store = TaskMap(path)
    now = datetime.now(timezone.utc)
    store.put_sync("v1", "t-old", "w-old", (now - timedelta(days=30)).isoformat())
    first = store.put_sync("v1", "t-new", "w-new", (now + timedelta(hours=1)).isoformat())
    assert store.put_sync("v1", "t-new", "w-other", now.isoformat()) == first  # first writer wins
    store.close()
    store = TaskMap(path)
    assert store.get_sync("v1", "t-new").worker_task_id == "w-new"
    assert store.get_sync("v2", "t-new") is None
    assert store.prune_sync(now - timedelta(days=7)) == 1
    assert store.get_sync("v1", "t-old") is None and store.count_sync() == 1
    store.close()
