"""The external-task API: bearer auth, submit, mixed into dispatch, consensus-scored, results with agreement."""

from __future__ import annotations

import uuid

import httpx
import pytest
import sqlalchemy as sa
from vfakes import Clock, FakeChain, FakeGateway, FakeMiner, ListSource, tag_obfuscate, targets

from dojo.config import load_settings
from dojo.validator.engine import Engine, EngineConfig
from dojo.validator.external import ExternalQueue, create_external_app
from dojo.validator.store.models import ExternalRequest

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def body(n: int = 3, ranking: bool = False) -> dict:
    return {
        "prompt": "Which page is best?",
        "responses": [{"completion_id": str(uuid.uuid4()), "content": f"<p>resp-rank-{i}</p>"} for i in range(n)],
        "criteria": {"type": "ranking"} if ranking else {"type": "score", "min": 1, "max": 10},
    }


@pytest.fixture
def client(store, tmp_home):
    settings = load_settings(validator__external_api_token=TOKEN)
    app = create_external_app(settings, store)
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://validator")


async def test_auth_and_bad_input_are_clear_4xx(client) -> None:
    async with client:
        assert (await client.post("/api/v1/external-tasks", json=body())).status_code == 401
        r = await client.post("/api/v1/external-tasks", json=body(), headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401 and "bearer token" in r.json()["detail"]
        r = await client.post("/api/v1/external-tasks", json={**body(), "extra": 1}, headers=AUTH)
        assert r.status_code == 422 and "extra" in r.json()["detail"]
        r = await client.post(
            "/api/v1/external-tasks", json={**body(), "responses": body()["responses"][:1]}, headers=AUTH
        )
        assert r.status_code == 422 and "responses" in r.json()["detail"]
        dup = body()
        dup["responses"][1]["completion_id"] = dup["responses"][0]["completion_id"]
        assert (await client.post("/api/v1/external-tasks", json=dup, headers=AUTH)).status_code == 422
        assert (await client.get(f"/api/v1/external-tasks/{uuid.uuid4()}", headers=AUTH)).status_code == 404
        assert (await client.get("/api/v1/external-tasks/not-a-uuid", headers=AUTH)).status_code == 422
        assert (await client.get("/health")).json() == {"status": "ok"}


async def test_external_task_is_dispatched_and_scored_by_consensus(store, client) -> None:
    kinds = ["good", "good", "good", "reverse"]
    miners = targets(kinds)
    gw = FakeGateway({m.hotkey: FakeMiner(b) for m, b in zip(miners, kinds, strict=True)})
    clock = Clock()
    engine = Engine(
        store,
        gw,
        ListSource(),
        FakeChain(miners, "5V"),
        None,
        "5V",
        # this external task goes to all four miners (by default three of them)
        EngineConfig(deadline_s=60, tasks_per_round=2, seed=1, external_replicas=4),
        tag_obfuscate,
        clock=clock,
        external=ExternalQueue(store),
    )
    engine.active = miners
    # synthetic rounds first: the miners prove (or not) their reliability, and earn room under the cap
    warm_up = 3
    for _ in range(warm_up):
        await engine.start_round()
        await engine.dispatch()
        clock.advance(61)
        await engine.collect()
        await engine.score()
    gw.sent.clear()

    submitted = body(4)
    async with client:
        r = await client.post("/api/v1/external-tasks", json=submitted, headers=AUTH)
        assert r.status_code == 201
        rid = r.json()["id"]
        assert (await client.get(f"/api/v1/external-tasks/{rid}", headers=AUTH)).json()["state"] == "queued"

        await engine.start_round()
        assert (await client.get(f"/api/v1/external-tasks/{rid}", headers=AUTH)).json()["state"] == "dispatched"
        await engine.dispatch()
        # to miners it looks like any other task: the same fields, nothing saying where it came from
        assert {tuple(sorted(t.model_dump())) for _, t in gw.sent} == {
            ("criteria", "expire_at", "prompt", "responses", "task_id")
        }
        assert len(gw.sent) == 8  # 1 external task for all 4 miners + each miner's own synthetic instance
        clock.advance(61)
        await engine.collect()
        assert await engine.score() == [warm_up + 1]
        status = (await client.get(f"/api/v1/external-tasks/{rid}", headers=AUTH)).json()
    assert status["state"] == "done"
    result = status["result"]
    # three proven crews against a reversed one: only proven miners' votes count, the true order stands
    assert result["weighted"] and result["miners"] == 3 and result["labellers"] == 6
    by_rank = [result["scores"][r["completion_id"]] for r in submitted["responses"]]
    assert by_rank == sorted(by_rank, reverse=True) and by_rank[0] > by_rank[-1]

    import sqlalchemy as sa

    from dojo.validator.store.models import Task, TaskScore

    with store.transaction() as s:
        task_id = s.scalar(sa.select(Task.id).where(Task.external_id == rid))
        ext = {r.hotkey: r.score for r in s.scalars(sa.select(TaskScore).where(TaskScore.task_id == task_id))}
    # consensus alone: the three that agree score high, the outlier low
    assert all(ext[m.hotkey] > 0.9 for m in miners[:3]) and ext[miners[3].hotkey] < 0.1


async def test_served_on_its_port_and_a_taken_port_is_a_clear_error(store, tmp_home) -> None:
    import socket

    from dojo.errors import DojoError
    from dojo.validator.external import serve_external_api
    from support import free_port

    port = free_port()
    settings = load_settings(validator__external_api_token=TOKEN, validator__external_api_port=port)
    server = await serve_external_api(settings, store)
    try:
        assert server.port == port  # listening once started: no waiting
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            r = await http.post("/api/v1/external-tasks", json=body(), headers=AUTH)
            assert r.status_code == 201
            assert (await http.get(f"/api/v1/external-tasks/{r.json()['id']}", headers=AUTH)).json()[
                "state"
            ] == "queued"
        with socket.socket() as blocker:
            blocker.bind(("127.0.0.1", 0))
            blocker.listen()
            taken = load_settings(
                validator__external_api_token=TOKEN, validator__external_api_port=blocker.getsockname()[1]
            )
            with pytest.raises(DojoError, match="cannot listen on 127.0.0.1"):
                await serve_external_api(taken, store)
    finally:
        await server.stop()


async def test_body_over_the_limit_is_refused_before_parsing(store, client) -> None:
    """Issue 12, fault 6: a 20 MB body got parsed before a 422; now 413, unread past the limit (8 MiB)."""
    huge = {**body(), "prompt": "x" * (20 * 1024 * 1024)}
    pulled = 0

    async def chunks():  # no Content-Length: the limit is found by counting the bytes as they stream in
        nonlocal pulled
        for _ in range(20):
            pulled += 1
            yield b"x" * (1024 * 1024)

    async with client:
        r = await client.post("/api/v1/external-tasks", json=huge, headers=AUTH)
        assert r.status_code == 413 and "exceeds the limit of 8388608 bytes" in r.json()["detail"]
        r = await client.post("/api/v1/external-tasks", content=chunks(), headers=AUTH)
        assert r.status_code == 413 and "exceeds the limit" in r.json()["detail"]
        assert pulled <= 9  # stopped reading at the limit: the rest of the 20 MiB was never taken in
        assert (await client.post("/api/v1/external-tasks", json=body(), headers=AUTH)).status_code == 201
    with store.transaction() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ExternalRequest)) == 1

    small = create_external_app(
        load_settings(validator__external_api_token=TOKEN, validator__external_api_max_body_bytes=2048), store
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=small), base_url="http://validator") as c:
        r = await c.post("/api/v1/external-tasks", json={**body(), "prompt": "y" * 4096}, headers=AUTH)
        assert r.status_code == 413 and "2048 bytes" in r.json()["detail"]
