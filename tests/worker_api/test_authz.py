"""The authorization matrix (issue 3, Must hold): each refusal is its own test."""

from __future__ import annotations

import asyncio
import time

import httpx
from tests.worker_api.conftest import ALICE, BOB, EVE, World
from tests.worker_api.helpers import (
    body,
    create_task,
    keypair,
    labeller_login,
    link,
    miner_login,
    new_account,
    new_key,
    scores_for,
    sign_text,
    siwe_message,
)


def _err(resp: httpx.Response, status: int) -> str:
    data = resp.json()
    assert resp.status_code == status, (resp.status_code, data)
    assert data["success"] is False and data["body"] is None and data["error"], data
    return str(data["error"])


async def test_unauthenticated_task_read_list_results_are_401(world: World) -> None:
    c = world.client
    tid, task = await create_task(c, world.api_key)
    _err(await c.get("/api/v1/tasks"), 401)
    _err(await c.get(f"/api/v1/tasks/{tid}"), 401)
    _err(await c.get(f"/api/v1/tasks/{tid}/results"), 401)
    _err(await c.put(f"/api/v1/tasks/{tid}/result", json={"scores": scores_for(task)}), 401)
    _err(await c.post("/api/v1/tasks", json=task), 401)
    _err(await c.get(f"/api/v1/tasks/{tid}", headers={"Authorization": "Bearer not-a-jwt"}), 401)
    _err(await c.get(f"/api/v1/tasks/{tid}/results", headers={"X-API-KEY": "dojo_ak_wrong_wrong_wrong"}), 401)


async def test_labeller_not_linked_to_the_miner_gets_404(world: World) -> None:
    c = world.client
    tid, task = await create_task(c, world.api_key)
    _, stranger = await labeller_login(c)
    assert body(await c.get("/api/v1/tasks", headers=stranger))["tasks"] == []
    assert "partner" in _err(await c.get(f"/api/v1/tasks/{tid}", headers=stranger), 404)
    _err(await c.put(f"/api/v1/tasks/{tid}/result", json={"scores": scores_for(task)}, headers=stranger), 404)
    # linked to another miner (Bob) is not linked to Alice either
    bob = await miner_login(c, keypair(BOB))
    await link(c, stranger, await new_key(c, bob, "subscription-keys"))
    _err(await c.get(f"/api/v1/tasks/{tid}", headers=stranger), 404)
    # while the linked labeller does see it
    assert body(await c.get(f"/api/v1/tasks/{tid}", headers=world.labeller))["id"] == tid


async def test_deleted_subscription_key_removes_access_at_once(world: World) -> None:
    c = world.client
    tid, task = await create_task(c, world.api_key)
    assert body(await c.get(f"/api/v1/tasks/{tid}", headers=world.labeller))["id"] == tid
    prefix = world.sub_key[:16]
    body(await c.delete(f"/api/v1/miner/subscription-keys/{prefix}", headers=world.miner))
    assert body(await c.get("/api/v1/tasks", headers=world.labeller))["tasks"] == []
    _err(await c.get(f"/api/v1/tasks/{tid}", headers=world.labeller), 404)
    _err(await c.put(f"/api/v1/tasks/{tid}/result", json={"scores": scores_for(task)}, headers=world.labeller), 404)
    partners = body(await c.get("/api/v1/worker/partners", headers=world.labeller))["partners"]
    assert [p["active"] for p in partners] == [False]
    # the deleted key cannot link anybody new either
    _, newcomer = await labeller_login(c)
    resp = await c.post(
        "/api/v1/worker/partners", json={"name": "x", "subscription_key": world.sub_key}, headers=newcomer
    )
    _err(resp, 404)
    keys = body(await c.get("/api/v1/miner/subscription-keys", headers=world.miner))["keys"]
    assert keys[0]["prefix"] == prefix and keys[0]["deleted_at"] is not None


async def test_deleted_api_key_stops_working(world: World) -> None:
    c = world.client
    tid, _ = await create_task(c, world.api_key)
    body(await c.delete(f"/api/v1/miner/api-keys/{world.api_key[:16]}", headers=world.miner))
    _err(await c.get(f"/api/v1/tasks/{tid}/results", headers={"X-API-KEY": world.api_key}), 401)
    _err(await c.delete(f"/api/v1/miner/api-keys/{world.api_key[:16]}", headers=world.miner), 404)


async def test_another_miners_api_key_gets_403_on_results_and_feedback(world: World) -> None:
    c = world.client
    tid, _ = await create_task(c, world.api_key)
    bob = await miner_login(c, keypair(BOB))
    bob_key = await new_key(c, bob, "api-keys")
    _err(await c.get(f"/api/v1/tasks/{tid}/results", headers={"X-API-KEY": bob_key}), 403)
    fb = {"score": 0.5, "ground_truth": {}, "per_labeller": {}}
    _err(await c.post(f"/api/v1/tasks/{tid}/feedback", json=fb, headers={"X-API-KEY": bob_key}), 403)
    assert body(await c.get(f"/api/v1/tasks/{tid}/results", headers={"X-API-KEY": world.api_key})) == {"results": []}


async def test_reused_siwe_nonce_is_401(client: httpx.AsyncClient) -> None:
    acct = new_account()
    nonce = body(await client.get("/api/v1/auth/nonce", params={"address": acct.address}))["nonce"]
    msg = siwe_message(acct.address, nonce)
    sig = sign_text(acct, msg)
    body(await client.post("/api/v1/worker/login", json={"message": msg, "signature": sig}))
    err = _err(await client.post("/api/v1/worker/login", json={"message": msg, "signature": sig}), 401)
    assert "nonce" in err


async def test_siwe_refuses_wrong_domain_chain_signer_and_unissued_nonce(client: httpx.AsyncClient) -> None:
    acct, other = new_account(), new_account()

    async def fresh() -> str:
        return str(body(await client.get("/api/v1/auth/nonce", params={"address": acct.address}))["nonce"])

    msg = siwe_message(acct.address, await fresh(), domain="evil.example")
    assert "domain" in _err(
        await client.post("/api/v1/worker/login", json={"message": msg, "signature": sign_text(acct, msg)}), 401
    )
    msg = siwe_message(acct.address, await fresh(), chain_id=5)
    assert "chain" in _err(
        await client.post("/api/v1/worker/login", json={"message": msg, "signature": sign_text(acct, msg)}), 401
    )
    msg = siwe_message(acct.address, await fresh())
    _err(await client.post("/api/v1/worker/login", json={"message": msg, "signature": sign_text(other, msg)}), 401)
    msg = siwe_message(acct.address, "abcdefgh12345678")
    _err(await client.post("/api/v1/worker/login", json={"message": msg, "signature": sign_text(acct, msg)}), 401)
    _err(await client.post("/api/v1/worker/login", json={"message": "hello", "signature": "0x00"}), 401)
    _err(await client.get("/api/v1/auth/nonce", params={"address": "not-an-address"}), 422)


async def test_logout_revokes_the_token(world: World) -> None:
    c = world.client
    body(await c.get("/api/v1/worker/partners", headers=world.labeller))
    body(await c.post("/api/v1/worker/logout", headers=world.labeller))
    assert "logged out" in _err(await c.get("/api/v1/worker/partners", headers=world.labeller), 401)


async def test_tokens_are_bound_to_their_role(world: World) -> None:
    c = world.client
    _err(await c.get("/api/v1/miner/api-keys", headers=world.labeller), 401)
    _err(await c.get("/api/v1/tasks", headers=world.miner), 401)
    _err(await c.get("/api/v1/miner/api-keys"), 401)


async def test_miner_login_over_text_without_the_servers_challenge_is_401(client: httpx.AsyncClient) -> None:
    kp = keypair(ALICE)
    for text in ("hello", f"Dojo worker API login\nhotkey: {kp.ss58_address}\nnonce: {'a' * 32}\nexpires_at: x"):
        sig = kp.sign(text.encode()).hex()
        _err(
            await client.post(
                "/api/v1/miner/session", json={"hotkey": kp.ss58_address, "message": text, "signature": sig}
            ),
            401,
        )


async def test_miner_login_refuses_altered_reused_foreign_and_unregistered(client: httpx.AsyncClient) -> None:
    alice, bob, eve = keypair(ALICE), keypair(BOB), keypair(EVE)

    async def challenge(kp: object) -> str:
        got = body(await client.get("/api/v1/miner/challenge", params={"hotkey": kp.ss58_address}))  # type: ignore[attr-defined]
        return str(got["message"])

    async def login(hotkey: str, message: str, signer: object) -> httpx.Response:
        sig = signer.sign(message.encode()).hex()  # type: ignore[attr-defined]
        return await client.post("/api/v1/miner/session", json={"hotkey": hotkey, "message": message, "signature": sig})

    altered = (await challenge(alice)).replace("Dojo", "D0jo")
    assert "differs" in _err(await login(alice.ss58_address, altered, alice), 401)
    msg = await challenge(alice)
    _err(await login(alice.ss58_address, msg, bob), 401)  # signed by another key
    _err(await login(alice.ss58_address, msg, alice), 401)  # the challenge was consumed by the failed try
    msg = await challenge(alice)
    body(await login(alice.ss58_address, msg, alice))
    _err(await login(alice.ss58_address, msg, alice), 401)  # reused
    msg = await challenge(alice)
    _err(await login(bob.ss58_address, msg, bob), 401)  # issued for another hotkey
    msg = await challenge(eve)
    assert "not registered" in _err(await login(eve.ss58_address, msg, eve), 403)
    _err(await client.get("/api/v1/miner/challenge", params={"hotkey": "5" * 48}), 422)


async def test_labeller_answering_twice_is_409(world: World) -> None:
    c = world.client
    tid, task = await create_task(c, world.api_key)
    body(await c.put(f"/api/v1/tasks/{tid}/result", json={"scores": scores_for(task, 3)}, headers=world.labeller))
    assert "already" in _err(
        await c.put(f"/api/v1/tasks/{tid}/result", json={"scores": scores_for(task, 4)}, headers=world.labeller), 409
    )
    # concurrently too: one of the two wins
    tid2, task2 = await create_task(c, world.api_key)
    replies = await asyncio.gather(
        *[
            c.put(f"/api/v1/tasks/{tid2}/result", json={"scores": scores_for(task2)}, headers=world.labeller)
            for _ in range(5)
        ]
    )
    assert sorted(r.status_code for r in replies) == [200, 409, 409, 409, 409]
    detail = body(await c.get(f"/api/v1/tasks/{tid2}", headers=world.labeller))
    assert detail["result_count"] == 1 and detail["answered"] is True


async def test_answer_when_full_is_409(world: World) -> None:
    c = world.client
    tid, task = await create_task(c, world.api_key, max_results=1)
    body(await c.put(f"/api/v1/tasks/{tid}/result", json={"scores": scores_for(task)}, headers=world.labeller))
    _, other = await labeller_login(c)
    await link(c, other, world.sub_key)
    assert "results" in _err(
        await c.put(f"/api/v1/tasks/{tid}/result", json={"scores": scores_for(task)}, headers=other), 409
    )
    assert body(await c.get(f"/api/v1/tasks/{tid}", headers=other))["status"] == "completed"


async def test_answer_after_expiry_is_410(world: World) -> None:
    c = world.client
    tid, task = await create_task(c, world.api_key, expire_in_s=1.0)
    deadline = time.monotonic() + 10
    while body(await c.get(f"/api/v1/tasks/{tid}", headers=world.labeller))["status"] != "expired":
        assert time.monotonic() < deadline, "task never expired"
        await asyncio.sleep(0.1)
    assert "expired" in _err(
        await c.put(f"/api/v1/tasks/{tid}/result", json={"scores": scores_for(task)}, headers=world.labeller), 410
    )


async def test_invalid_values_are_422(world: World) -> None:
    c = world.client
    tid, task = await create_task(c, world.api_key)
    ids = [r["completion_id"] for r in task["responses"]]
    for scores in ({ids[0]: 5}, {**scores_for(task), "x": 1}, {**scores_for(task), ids[0]: 11}):
        _err(await c.put(f"/api/v1/tasks/{tid}/result", json={"scores": scores}, headers=world.labeller), 422)
    tid, task = await create_task(c, world.api_key, ranking=True)
    ids = [r["completion_id"] for r in task["responses"]]
    bad = {i: 0 for i in ids}
    _err(await c.put(f"/api/v1/tasks/{tid}/result", json={"scores": bad}, headers=world.labeller), 422)
    good = {i: n for n, i in enumerate(ids)}
    body(await c.put(f"/api/v1/tasks/{tid}/result", json={"scores": good}, headers=world.labeller))
