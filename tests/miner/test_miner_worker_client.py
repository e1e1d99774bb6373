"""WorkerApiClient: retries with backoff on connection errors and 5xx, never on 4xx; typed errors."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone

import httpx
import pytest
from miner_helpers import make_task

from dojo.errors import WorkerApiBadReply, WorkerApiError, WorkerApiRejected, WorkerApiUnavailable
from dojo.miner.worker_client import WorkerApiClient
from dojo.protocol import Feedback
from support import free_port


def scripted(*replies: httpx.Response | Exception) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport answering each request with the next scripted reply (the last one repeats)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        reply = replies[min(len(seen), len(replies)) - 1]
        if isinstance(reply, Exception):
            raise reply
        return reply

    return httpx.MockTransport(handler), seen


def env(body: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"success": status < 400, "body": body, "error": None if status < 400 else "x"})


async def test_retries_connection_errors_and_5xx_then_succeeds():
    transport, seen = scripted(
        httpx.ConnectError("refused"),
        httpx.Response(502, text="bad gateway"),
        httpx.ReadTimeout("slow"),
        env({"worker_task_id": "w-1"}, 201),
    )
    async with WorkerApiClient("http://w", "k", attempts=4, backoff_s=0.01, transport=transport) as client:
        assert await client.create_task(make_task(), max_results=2) == "w-1"
    assert len(seen) == 4
    sent = json.loads(seen[-1].content)
    assert sent["max_results"] == 2 and seen[-1].headers["x-api-key"] == "k"
    assert seen[-1].url.path == "/api/v1/tasks"


async def test_gives_up_after_attempts_with_backoff():
    transport, seen = scripted(httpx.Response(500, json={"success": False, "error": "db down"}))
    async with WorkerApiClient("http://w", "k", attempts=3, backoff_s=0.1, transport=transport) as client:
        started = time.monotonic()
        with pytest.raises(WorkerApiUnavailable) as info:
            await client.results("w-1")
        elapsed = time.monotonic() - started
    assert len(seen) == 3
    assert "db down" in str(info.value) and "3 attempts" in str(info.value)
    # Backoff: ≥ half of 0.1 + half of 0.2 between the three tries.
    assert elapsed >= 0.15


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
async def test_never_retries_4xx(status):
    transport, seen = scripted(httpx.Response(status, json={"success": False, "body": None, "error": "nope"}))
    async with WorkerApiClient("http://w", "k", attempts=5, backoff_s=0.01, transport=transport) as client:
        with pytest.raises(WorkerApiRejected) as info:
            await client.send_feedback("w-1", Feedback(score=0.1, ground_truth={}))
    assert len(seen) == 1
    assert info.value.status == status and info.value.detail == "nope"


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(200, text="<html>proxy</html>"),
        httpx.Response(200, json=[1, 2]),
        httpx.Response(200, json={"success": True, "body": {"results": [{"labeller_id": "a"}]}}),
    ],
)
async def test_bad_replies_are_typed(reply):
    transport, seen = scripted(reply)
    async with WorkerApiClient("http://w", "k", attempts=3, backoff_s=0.01, transport=transport) as client:
        with pytest.raises(WorkerApiBadReply):
            await client.results("w-1")
    assert len(seen) == 1


async def test_results_parse_and_path_is_quoted():
    cid = uuid.uuid4()
    body = {"results": [{"labeller_id": "0xabc", "scores": {str(cid): 3}, "submitted_at": "2026-01-01T00:00:00Z"}]}
    transport, seen = scripted(env(body))
    async with WorkerApiClient("http://w/", "k", transport=transport) as client:
        results = await client.results("a/b")
    assert results[0].scores == {cid: 3.0}
    assert results[0].submitted_at == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert seen[0].url.raw_path == b"/api/v1/tasks/a%2Fb/results"


async def test_nothing_listening_is_unavailable_and_health_false():
    async with WorkerApiClient(f"http://127.0.0.1:{free_port()}", "k", attempts=2, backoff_s=0.01) as client:
        assert await client.health() is False
        with pytest.raises(WorkerApiUnavailable) as info:
            await client.create_task(make_task())
    assert "ConnectError" in str(info.value)


def test_missing_api_key_is_a_clear_error():
    with pytest.raises(WorkerApiError, match="DOJO_MINER_API_KEY"):
        WorkerApiClient("http://w", "")
