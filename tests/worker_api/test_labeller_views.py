"""What the web UI needs beyond the core API: the nonce says what to sign, partner rename, task type filter and
"most answered" sort, and the labeller's own record (``GET /worker/work``)."""

from __future__ import annotations

from tests.worker_api.conftest import BOB, World
from tests.worker_api.helpers import (
    body,
    create_task,
    keypair,
    labeller_login,
    link,
    miner_login,
    new_key,
    scores_for,
)


async def test_nonce_reply_names_checksummed_address_domain_and_chain(world: World) -> None:
    _, _ = await labeller_login(world.client)
    lower = "0x" + "ab" * 20
    got = body(await world.client.get("/api/v1/auth/nonce", params={"address": lower}))
    assert got["address"] != lower and got["address"].lower() == lower
    assert got["domain"] == "localhost" and got["chain_id"] == 1 and len(got["nonce"]) >= 8


async def test_rename_partner_only_own_and_non_empty(world: World) -> None:
    c = world.client
    pid = body(await c.get("/api/v1/worker/partners", headers=world.labeller))["partners"][0]["id"]
    renamed = body(await c.patch(f"/api/v1/worker/partners/{pid}", json={"name": "  Team A  "}, headers=world.labeller))
    assert renamed["name"] == "Team A" and renamed["id"] == pid and renamed["active"] is True
    listed = body(await c.get("/api/v1/worker/partners", headers=world.labeller))["partners"]
    assert [p["name"] for p in listed] == ["Team A"]
    _, other = await labeller_login(c)
    theirs = await c.patch(f"/api/v1/worker/partners/{pid}", json={"name": "mine now"}, headers=other)
    assert theirs.status_code == 404 and theirs.json()["success"] is False
    empty = await c.patch(f"/api/v1/worker/partners/{pid}", json={"name": "   "}, headers=world.labeller)
    assert empty.status_code == 422
    assert (await c.patch(f"/api/v1/worker/partners/{pid}", json={"name": "x"})).status_code == 401


async def test_type_filter_and_most_answered_sort(world: World) -> None:
    c = world.client
    score_id, score_task = await create_task(c, world.api_key)
    rank_id, _ = await create_task(c, world.api_key, ranking=True)
    busy_id, busy_task = await create_task(c, world.api_key)

    async def ids(**params: object) -> list[str]:
        page = body(await c.get("/api/v1/tasks", params=params, headers=world.labeller))  # type: ignore[arg-type]
        return [t["id"] for t in page["tasks"]]

    assert await ids(type="ranking") == [rank_id]
    assert set(await ids(type="score")) == {score_id, busy_id}
    for n in range(2):
        _, lab = await labeller_login(c)
        await link(c, lab, world.sub_key)
        body(await c.put(f"/api/v1/tasks/{busy_id}/result", json={"scores": scores_for(busy_task)}, headers=lab))
        if n == 0:
            body(await c.put(f"/api/v1/tasks/{score_id}/result", json={"scores": scores_for(score_task)}, headers=lab))
    assert (await ids(sort="most_answered")) == [busy_id, score_id, rank_id]
    bad = await c.get("/api/v1/tasks", params={"type": "poem"}, headers=world.labeller)
    assert bad.status_code == 422 and "type" in bad.json()["error"]


async def test_my_work_counts_grades_per_miner(world: World) -> None:
    c = world.client
    bob = await miner_login(c, keypair(BOB))
    bob_api, bob_sub = await new_key(c, bob, "api-keys"), await new_key(c, bob, "subscription-keys")
    await link(c, world.labeller, bob_sub)
    empty = body(await c.get("/api/v1/worker/work", headers=world.labeller))
    assert empty["tasks_done"] == 0 and empty["mean_grade"] is None and empty["miners"] == [] and empty["recent"] == []

    graded = []
    for _ in range(2):
        tid, task = await create_task(c, world.api_key)
        ids = [r["completion_id"] for r in task["responses"]]
        body(
            await c.put(
                f"/api/v1/tasks/{tid}/result",
                json={"scores": {cid: 10 - n for n, cid in enumerate(ids)}},
                headers=world.labeller,
            )
        )
        graded.append((tid, ids))
    truth = {cid: n for n, cid in enumerate(graded[0][1])}  # matches the labeller's order: grade 1.0
    body(
        await c.post(
            f"/api/v1/tasks/{graded[0][0]}/feedback",
            json={"score": 0.9, "ground_truth": truth},
            headers={"X-API-KEY": world.api_key},
        )
    )
    truth = {cid: len(graded[1][1]) - 1 - n for n, cid in enumerate(graded[1][1])}  # reversed: grade 0.0
    body(
        await c.post(
            f"/api/v1/tasks/{graded[1][0]}/feedback",
            json={"score": 0.1, "ground_truth": truth},
            headers={"X-API-KEY": world.api_key},
        )
    )
    bob_tid, bob_task = await create_task(c, bob_api)
    body(await c.put(f"/api/v1/tasks/{bob_tid}/result", json={"scores": scores_for(bob_task)}, headers=world.labeller))

    work = body(await c.get("/api/v1/worker/work", headers=world.labeller))
    assert work["tasks_done"] == 3 and work["graded"] == 2 and abs(work["mean_grade"] - 0.5) < 1e-9
    by_miner = {m["miner_hotkey"]: m for m in work["miners"]}
    alice = by_miner[keypair("//Alice").ss58_address]
    assert alice["tasks_done"] == 2 and alice["graded"] == 2 and abs(alice["mean_grade"] - 0.5) < 1e-9
    assert alice["partner_names"] == ["alice"]
    b = by_miner[keypair(BOB).ss58_address]
    assert b["tasks_done"] == 1 and b["graded"] == 0 and b["mean_grade"] is None
    assert [r["task_id"] for r in work["recent"]][0] == bob_tid and len(work["recent"]) == 3
    # another labeller sees only their own record
    _, other = await labeller_login(c)
    assert body(await c.get("/api/v1/worker/work", headers=other))["tasks_done"] == 0
    assert (await c.get("/api/v1/worker/work")).status_code == 401
