"""The external-task API: bearer auth, submit, mixed into dispatch, consensus-scored, results with agreement."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from vfakes import Clock, FakeChain, FakeGateway, FakeMiner, ListSource, tag_obfuscate, targets

from dojo.config import load_settings
from dojo.validator.engine import Engine, EngineConfig
from dojo.validator.external import ExternalQueue, create_external_app

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
    submitted = body(4)
    async with client:
        r = await client.post("/api/v1/external-tasks", json=submitted, headers=AUTH)
        assert r.status_code == 201
        rid = r.json()["id"]
        assert (await client.get(f"/api/v1/external-tasks/{rid}", headers=AUTH)).json()["state"] == "queued"

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
            EngineConfig(deadline_s=60, tasks_per_round=2, seed=1),
            tag_obfuscate,
            clock=clock,
            external=ExternalQueue(store),
        )
        engine.active = miners
        await engine.start_round()
        assert (await client.get(f"/api/v1/external-tasks/{rid}", headers=AUTH)).json()["state"] == "dispatched"
        await engine.dispatch()
        # to miners it looks like any other task: the same fields, nothing saying where it came from
        assert {tuple(sorted(t.model_dump())) for _, t in gw.sent} == {
            ("criteria", "expire_at", "prompt", "responses", "task_id")
        }
        assert len(gw.sent) == 8  # 1 external + 1 synthetic task, 4 miners
        clock.advance(61)
        await engine.collect()
        assert await engine.score() == [1]
        status = (await client.get(f"/api/v1/external-tasks/{rid}", headers=AUTH)).json()
    assert status["state"] == "done"
    result = status["result"]
    assert result["labellers"] == 8
    by_rank = [result["scores"][r["completion_id"]] for r in submitted["responses"]]
    # three good crews against one reversed one: the aggregate keeps the true order, agreement is partial
    assert by_rank == sorted(by_rank, reverse=True) and by_rank[0] > by_rank[-1]
    assert 0.0 < result["agreement"] < 1.0

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
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(200):
                if server.started:
                    break
                await asyncio.sleep(0.02)
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
        server.should_exit = True
        await server._dojo_task
