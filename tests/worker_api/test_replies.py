"""The labeller's hot paths serialise their replies themselves (``routes.ok_json``): each reply must be
exactly what FastAPI would have sent through the route's ``response_model``."""

from __future__ import annotations

import json
from typing import Any

import httpx
from pydantic import TypeAdapter
from tests.worker_api.conftest import World
from tests.worker_api.helpers import body, create_task, scores_for

from dojo.worker_api.schemas import Reply, ResultAccepted, TaskDetail, TaskPage


def _as_the_model_sends_it(resp: httpx.Response, model: Any) -> None:
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json", resp.text
    adapter = TypeAdapter(Reply[model])
    sent = json.loads(resp.content)
    assert sent == json.loads(adapter.dump_json(adapter.validate_json(resp.content)))


async def test_list_fetch_and_submit_replies_match_their_models(world: World) -> None:
    c = world.client
    tid, task = await create_task(c, world.api_key, ranking=True)
    await create_task(c, world.api_key)
    for path in ("/api/v1/tasks", "/api/v1/tasks?status=open&sort=expiring&limit=1", "/api/v1/tasks?page=9"):
        _as_the_model_sends_it(await c.get(path, headers=world.labeller), TaskPage)
    _as_the_model_sends_it(await c.get(f"/api/v1/tasks/{tid}", headers=world.labeller), TaskDetail)
    scores = {cid: float(n) for n, cid in enumerate(scores_for(task))}
    resp = await c.put(f"/api/v1/tasks/{tid}/result", json={"scores": scores}, headers=world.labeller)
    _as_the_model_sends_it(resp, ResultAccepted)
    fb = {"score": 0.5, "ground_truth": {cid: n for n, cid in enumerate(scores)}}
    body(await c.post(f"/api/v1/tasks/{tid}/feedback", json=fb, headers={"X-API-KEY": world.api_key}))
    answered = await c.get(f"/api/v1/tasks/{tid}", headers=world.labeller)  # with my result and a grade
    _as_the_model_sends_it(answered, TaskDetail)
    assert body(answered)["my_result"]["scores"] == scores and body(answered)["grade"] == 1.0
