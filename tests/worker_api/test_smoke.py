from __future__ import annotations

from tests.worker_api.conftest import World
from tests.worker_api.helpers import body, create_task, scores_for


async def test_flow(world: World) -> None:
    c = world.client
    tid, task = await create_task(c, world.api_key)
    page = body(await c.get("/api/v1/tasks", headers=world.labeller))
    assert [t["id"] for t in page["tasks"]] == [tid]
    got = body(await c.get(f"/api/v1/tasks/{tid}", headers=world.labeller))
    assert len(got["responses"]) == 4
    acc = body(await c.put(f"/api/v1/tasks/{tid}/result", json={"scores": scores_for(task)}, headers=world.labeller))
    assert acc["result_count"] == 1
    res = body(await c.get(f"/api/v1/tasks/{tid}/results", headers={"X-API-KEY": world.api_key}))
    assert len(res["results"]) == 1
    print((await c.get("/metrics")).text[:3000])
