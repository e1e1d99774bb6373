"""The external-task API's batch path: one transaction per batch, each task checked on its own, idempotent per
client_id (within a batch, across batches, under concurrent batches), every refusal naming the task and field."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from dojo.config import load_settings
from dojo.validator.external import MAX_BATCH, ExternalQueue, ExternalTaskIn, create_external_app
from dojo.validator.store.models import ExternalRequest
from dojo.validator.store.repo import ValidatorStore

TOKEN = "batch-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def task(i: int, n: int = 3, **extra: Any) -> dict[str, Any]:
    return {
        "prompt": f"Which page {i} is best?",
        "responses": [
            {"completion_id": str(uuid.UUID(int=i * 100 + k)), "content": f"<p>{i}-{k}</p>"} for k in range(n)
        ],
        "client_id": f"mine-{i}",
        **extra,
    }


def count_requests(store: ValidatorStore) -> int:
    with store.transaction() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(ExternalRequest)) or 0)


def test_a_batch_is_one_transaction_and_each_task_is_checked_on_its_own(store: ValidatorStore) -> None:
    queue = ExternalQueue(store)
    dup_ids = task(4)
    dup_ids["responses"][1]["completion_id"] = dup_ids["responses"][0]["completion_id"]
    raw: list[Any] = [
        task(0),
        task(1, n=1),  # one response: not a comparison
        "not an object",
        task(3, colour="red"),
        dup_ids,
        task(5, criteria={"type": "score", "min": 5, "max": 2}),
        task(0),  # the same client_id and content again, in the same batch: the same request
        {**task(0), "prompt": "other"},  # the same client_id, other content: refused, named
        task(8),
        {k: v for k, v in task(9).items() if k != "client_id"},  # no id of the consumer's: always new
    ]
    begins: list[object] = []

    def began(conn: object) -> None:
        begins.append(conn)

    sa.event.listen(store.engine, "begin", began)
    try:
        results = queue.submit_batch(raw)
    finally:
        sa.event.remove(store.engine, "begin", began)
    assert len(begins) == 1  # ten tasks, one transaction
    assert [r["index"] for r in results] == list(range(len(raw)))
    refused = {r["index"]: (r["field"], r["error"]) for r in results if "error" in r}
    assert set(refused) == {1, 2, 3, 4, 5, 7}
    assert refused[1][0] == "responses" and "at least 2" in refused[1][1]
    assert refused[2][0] == "(task)"
    assert refused[3] == ("colour", "colour: Extra inputs are not permitted")
    assert refused[4][0] == "responses" and "unique" in refused[4][1]
    assert refused[5][0] == "criteria.score" and "min < max" in refused[5][1]
    assert refused[7][0] == "client_id" and "already names another task" in refused[7][1]
    first, again = results[0], results[6]
    assert first["created"] and not again["created"] and first["id"] == again["id"]
    assert results[8]["created"] and results[9]["created"] and results[9]["client_id"] is None
    assert count_requests(store) == 3

    rerun = queue.submit_batch(raw)
    assert [r.get("id") for r in rerun[:9]] == [r.get("id") for r in results[:9]]
    assert not any(r.get("created") for r in rerun if r["index"] != 9)  # task 9 has no client_id: a new one
    assert count_requests(store) == 4


def test_a_failed_request_submitted_again_is_queued_again(store: ValidatorStore) -> None:
    queue = ExternalQueue(store)
    rid = queue.add(ExternalTaskIn.model_validate(task(1)))
    with store.transaction() as s:
        s.execute(sa.update(ExternalRequest).values(state="failed", result={"reason": "nobody took it"}))
    [again] = queue.submit_batch([task(1)])
    assert again["id"] == rid and again["state"] == "queued" and not again["created"]
    assert queue.get(rid)["result"] is None  # type: ignore[index]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_batches_with_the_same_client_ids_never_duplicate(backend: str, request: Any) -> None:
    url = request.getfixturevalue("tmp_path") / "v.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    store = ValidatorStore(f"sqlite:///{url}" if backend == "sqlite" else str(url))
    try:
        queue = ExternalQueue(store)
        batches = [[task(i) for i in range(start, start + 40)] for start in (0, 20, 10, 0)]  # overlapping ids
        with ThreadPoolExecutor(4) as pool:
            replies = list(pool.map(queue.submit_batch, batches))
        ids: dict[str, set[str]] = {}
        for reply in replies:
            for r in reply:
                assert "error" not in r, r
                ids.setdefault(r["client_id"], set()).add(r["id"])
        assert len(ids) == 60 and all(len(v) == 1 for v in ids.values())
        assert count_requests(store) == 60
    finally:
        store.dispose()


async def test_the_batch_endpoint(store: ValidatorStore, tmp_home: Any) -> None:
    app = create_external_app(load_settings(validator__external_api_token=TOKEN), store)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://validator") as c:
        url = "/api/v1/external-tasks/batch"
        assert (await c.post(url, json={"tasks": [task(1)]})).status_code == 401
        r = await c.post(url, json={"tasks": [task(1), task(2, n=1)]}, headers=AUTH)
        assert r.status_code == 200
        ok, bad = r.json()["results"]
        assert ok["index"] == 0 and ok["created"] and ok["state"] == "queued" and ok["client_id"] == "mine-1"
        assert bad["index"] == 1 and bad["field"] == "responses" and bad["error"].startswith("responses:")
        assert set(bad) == {"index", "field", "error"}
        for wrong in ({"tasks": []}, {"tasks": [task(1)] * (MAX_BATCH + 1)}, {"tasks": [task(1)], "x": 1}, [task(1)]):
            r = await c.post(url, json=wrong, headers=AUTH)
            assert r.status_code == 422 and set(r.json()) == {"detail"}, r.text
        assert "tasks" in (await c.post(url, json={"tasks": []}, headers=AUTH)).json()["detail"]
        # the single-task endpoint is the same request
        single = await c.post("/api/v1/external-tasks", json=task(1), headers=AUTH)
        assert single.status_code == 200 and single.json()["id"] == ok["id"]
    assert count_requests(store) == 1
