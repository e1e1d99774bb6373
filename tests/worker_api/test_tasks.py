"""Tasks for labellers (filters, sort, pages), creation checks, feedback grades, expiry, health and metrics."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
from tests.worker_api.conftest import World
from tests.worker_api.helpers import body, create_task, labeller_login, link, scores_for, task_json


async def test_listing_filters_sorts_and_pages(world: World) -> None:
    c = world.client
    made = [await create_task(c, world.api_key, expire_in_s=600 + i * 10) for i in range(5)]
    ids = [t[0] for t in made]
    tid0, task0 = made[0]
    body(await c.put(f"/api/v1/tasks/{tid0}/result", json={"scores": scores_for(task0)}, headers=world.labeller))

    async def page(**params: object) -> dict:
        return body(await c.get("/api/v1/tasks", params=params, headers=world.labeller))  # type: ignore[arg-type]

    newest = await page(sort="newest")
    assert [t["id"] for t in newest["tasks"]] == ids[::-1] and newest["total"] == 5
    assert [t["id"] for t in (await page(sort="oldest"))["tasks"]] == ids
    assert [t["id"] for t in (await page(sort="expiring"))["tasks"]] == ids
    p1, p2, p3 = [await page(sort="oldest", limit=2, page=n) for n in (1, 2, 3)]
    assert [t["id"] for t in p1["tasks"] + p2["tasks"] + p3["tasks"]] == ids and p3["total"] == 5
    answered = await page(answered="true")
    assert [t["id"] for t in answered["tasks"]] == [tid0] and answered["tasks"][0]["answered"] is True
    assert {t["id"] for t in (await page(answered="false"))["tasks"]} == set(ids[1:])
    assert (await page(status="open"))["total"] == 5 and (await page(status="completed"))["total"] == 0
    item = newest["tasks"][0]
    assert item["n_responses"] == 4 and item["max_results"] == 3 and item["prompt_preview"].startswith("Build")
    bad = await c.get("/api/v1/tasks", params={"sort": "sideways", "limit": 1000}, headers=world.labeller)
    assert bad.status_code == 422 and "sort" in bad.json()["error"] and "limit" in bad.json()["error"]


async def test_task_detail_carries_my_result_and_grade_after_feedback(world: World) -> None:
    c = world.client
    tid, task = await create_task(c, world.api_key)
    ids = [r["completion_id"] for r in task["responses"]]
    perfect = {cid: 10 - n for n, cid in enumerate(ids)}  # ids[0] best
    body(await c.put(f"/api/v1/tasks/{tid}/result", json={"scores": perfect}, headers=world.labeller))
    acct, reversed_lab = await labeller_login(c)
    await link(c, reversed_lab, world.sub_key)
    body(
        await c.put(
            f"/api/v1/tasks/{tid}/result",
            json={"scores": {cid: 1 + n for n, cid in enumerate(ids)}},
            headers=reversed_lab,
        )
    )
    results = body(await c.get(f"/api/v1/tasks/{tid}/results", headers={"X-API-KEY": world.api_key}))["results"]
    assert len(results) == 2 and acct.address in {r["labeller_id"] for r in results}
    truth = {cid: n for n, cid in enumerate(ids)}
    fb = {"score": 0.7, "ground_truth": truth, "per_labeller": {}}
    body(await c.post(f"/api/v1/tasks/{tid}/feedback", json=fb, headers={"X-API-KEY": world.api_key}))
    mine = body(await c.get(f"/api/v1/tasks/{tid}", headers=world.labeller))
    theirs = body(await c.get(f"/api/v1/tasks/{tid}", headers=reversed_lab))
    assert mine["grade"] == 1.0 and theirs["grade"] == 0.0
    assert mine["my_result"]["scores"] == {k: float(v) for k, v in perfect.items()}
    # a grade given by the miner wins over the computed one
    fb["per_labeller"] = {acct.address: 0.25}
    body(await c.post(f"/api/v1/tasks/{tid}/feedback", json=fb, headers={"X-API-KEY": world.api_key}))
    assert body(await c.get(f"/api/v1/tasks/{tid}", headers=reversed_lab))["grade"] == 0.25
    bad = {"score": 0.7, "ground_truth": {str(uuid.uuid4()): 0}, "per_labeller": {}}
    resp = await c.post(f"/api/v1/tasks/{tid}/feedback", json=bad, headers={"X-API-KEY": world.api_key})
    assert resp.status_code == 422


async def test_task_creation_is_validated(world: World) -> None:
    c = world.client
    key = {"X-API-KEY": world.api_key}
    good = task_json()
    cases = [
        {**good, "expire_at": "2000-01-01T00:00:00Z"},
        {**good, "responses": good["responses"][:1]},
        {**good, "prompt": ""},
        {**good, "task_id": "not-a-uuid"},
        {**good, "extra": 1},
        {**good, "max_results": 0},
        {**good, "criteria": {"type": "score", "min": 5, "max": 5}},
        {**good, "responses": [good["responses"][0], good["responses"][0]]},
    ]
    for case in cases:
        resp = await c.post("/api/v1/tasks", json=case, headers=key)
        assert resp.status_code == 422, (case, resp.json())
        assert (
            resp.json()["success"] is False
            and resp.json()["error"].startswith("invalid request")
            or "expire_at" in resp.json()["error"]
        )
    resp = await c.post("/api/v1/tasks", content=b"{not json", headers={**key, "content-type": "application/json"})
    assert resp.status_code == 422


async def test_overdue_tasks_expire_in_the_background(world: World) -> None:
    c = world.client
    await create_task(c, world.api_key, expire_in_s=0.5)
    await create_task(c, world.api_key, expire_in_s=600)
    deadline = time.monotonic() + 10
    while 'dojo_worker_tasks{state="expired"} 1.0' not in (await c.get("/metrics")).text:
        assert time.monotonic() < deadline, "the expiry job never ran"
        await asyncio.sleep(0.1)
    text = (await c.get("/metrics")).text
    assert 'dojo_worker_tasks{state="open"} 1.0' in text
    assert 'dojo_worker_requests_total{method="POST",route="/api/v1/tasks",status="200"} 2.0' in text
    assert "dojo_worker_request_seconds_bucket" in text


async def test_health_and_enveloped_404(client: httpx.AsyncClient) -> None:
    assert body(await client.get("/health")) == {"status": "ok", "database": "ok"}
    resp = await client.get("/api/v1/nowhere")
    assert resp.status_code == 404 and resp.json()["success"] is False
    spec = (await client.get("/openapi.json")).json()
    assert "/api/v1/tasks/{task_id}/result" in spec["paths"] and "/api/v1/miner/session" in spec["paths"]


async def test_partners_add_list_remove(world: World) -> None:
    c = world.client
    partners = body(await c.get("/api/v1/worker/partners", headers=world.labeller))["partners"]
    assert len(partners) == 1 and partners[0]["active"] is True and partners[0]["key_prefix"] == world.sub_key[:16]
    dup = await c.post(
        "/api/v1/worker/partners", json={"name": "again", "subscription_key": world.sub_key}, headers=world.labeller
    )
    assert dup.status_code == 409
    body(await c.delete(f"/api/v1/worker/partners/{partners[0]['id']}", headers=world.labeller))
    assert body(await c.get("/api/v1/worker/partners", headers=world.labeller))["partners"] == []
    assert (await c.delete(f"/api/v1/worker/partners/{partners[0]['id']}", headers=world.labeller)).status_code == 404
