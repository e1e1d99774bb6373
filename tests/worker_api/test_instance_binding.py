"""Sessions are bound to one worker API and one account (issue 12, fault 1).

Two worker APIs that share a data directory share its JWT secret. A labeller's token from one of
them used to act, on the other, as whoever had the same ``uid`` there. Tokens now name their
instance (issuer and audience) and the server checks that the ``uid`` belongs to the token's
address on this instance.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from tests.support import free_port, start_dojo, stop, wait_http_ok
from tests.worker_api.conftest import ALICE, World, make_settings
from tests.worker_api.helpers import (
    body,
    create_task,
    keypair,
    labeller_login,
    link,
    miner_login,
    new_account,
    scores_for,
    sign_text,
    siwe_message,
    task_json,
)

from dojo.errors import ApiError
from dojo.worker_api.app import create_app
from dojo.worker_api.auth.tokens import LABELLER, MINER, TokenService
from dojo.worker_api.contexts.keys import create_key, get_or_create_miner
from dojo.worker_api.store.db import instance_id, make_engine, make_sessionmaker, migrate
from dojo.worker_api.store.models import ApiKey, Labeller, SubscriptionKey


def _err(resp: httpx.Response, status: int) -> str:
    data = resp.json()
    assert resp.status_code == status, (resp.status_code, data)
    assert data["success"] is False and data["body"] is None, data
    return str(data["error"])


def _login(base: str, account: Any) -> dict[str, str]:
    n = body(httpx.get(f"{base}/api/v1/auth/nonce", params={"address": account.address}))
    msg = siwe_message(account.address, n["nonce"], domain=n["domain"])  # 127.0.0.1:PORT with the default settings
    tok = body(httpx.post(f"{base}/api/v1/worker/login", json={"message": msg, "signature": sign_text(account, msg)}))
    return {"Authorization": f"Bearer {tok['token']}"}


async def _miner_keys(db_url: str) -> tuple[str, str]:
    """A miner with an API key and a subscription key, written straight into a worker database."""
    await migrate(db_url)
    engine = make_engine(db_url)
    async with make_sessionmaker(engine)() as s:
        miner = await get_or_create_miner(s, keypair(ALICE).ss58_address)
        api_key, _ = await create_key(s, ApiKey, miner.id, "api")
        sub_key, _ = await create_key(s, SubscriptionKey, miner.id, "crew")
    await engine.dispose()
    return api_key, sub_key


def create_task_sync(client: httpx.Client, api_key: str) -> dict[str, Any]:
    """Create a task with the miner's API key; returns its body with ``id`` = the worker task id."""
    t = task_json()
    t["id"] = body(client.post("/api/v1/tasks", json=t, headers={"X-API-KEY": api_key}))["worker_task_id"]
    return t


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_a_token_from_one_worker_api_is_refused_by_another_sharing_its_secret(tmp_home: Path, tmp_path: Path) -> None:
    home = tmp_home / ".dojo"  # one data directory, so one generated JWT secret, as in the local network
    urls = {n: f"sqlite:///{tmp_path / f'worker-{n}.db'}" for n in ("a", "b")}
    api_key, sub_key = asyncio.run(_miner_keys(urls["b"]))
    procs, bases = [], {}
    try:
        for n, url in urls.items():
            port = free_port()
            env = {"DOJO_HOME": str(home), "DOJO_PROFILE": "fast", "DOJO_WORKER_DB_URL": url}
            procs.append(start_dojo(["worker-api", "--port", str(port)], env, tmp_path / f"worker-{n}.log"))
            bases[n] = f"http://127.0.0.1:{port}"
        for base in bases.values():
            wait_http_ok(base + "/health")
        assert len(list(home.glob("worker_jwt_secret"))) == 1  # the two share the secret

        victim = _login(bases["b"], new_account())  # labeller 1 on worker API b
        with httpx.Client(base_url=bases["b"]) as b:
            body(b.post("/api/v1/worker/partners", json={"name": "mine", "subscription_key": sub_key}, headers=victim))
            task = create_task_sync(b, api_key)
            assert [p["name"] for p in body(b.get("/api/v1/worker/partners", headers=victim))["partners"]] == ["mine"]

            intruder = _login(bases["a"], new_account())  # labeller 1 on worker API a: same uid, same secret
            error = _err(b.get("/api/v1/worker/partners", headers=intruder), 401)
            assert "another worker API" in error
            _err(b.get(f"/api/v1/tasks/{task['id']}", headers=intruder), 401)
            scores = {r["completion_id"]: 5 for r in task["responses"]}
            _err(b.put(f"/api/v1/tasks/{task['id']}/result", json={"scores": scores}, headers=intruder), 401)
            assert body(b.get(f"/api/v1/tasks/{task['id']}/results", headers={"X-API-KEY": api_key}))["results"] == []
            # the victim's own session keeps working
            body(b.put(f"/api/v1/tasks/{task['id']}/result", json={"scores": scores}, headers=victim))
    finally:
        codes = [stop(p) for p in procs]
    assert all(c in (0, -15) for c in codes), codes


async def test_processes_on_one_database_are_one_instance(tmp_home: Path, registered_graph: Any) -> None:
    settings = make_settings(tmp_home / ".dojo")
    one, two = (create_app(settings, metagraph=lambda: registered_graph) for _ in range(2))
    async with one.router.lifespan_context(one), two.router.lifespan_context(two):
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=one), base_url="http://one") as c1,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=two), base_url="http://two") as c2,
        ):
            _, lab = await labeller_login(c1)
            body(await c2.get("/api/v1/worker/partners", headers=lab))  # a session works on every process
            miner = await miner_login(c2, keypair(ALICE))
            body(await c1.get("/api/v1/miner/api-keys", headers=miner))
    assert one.state.services.tokens.issuer == two.state.services.tokens.issuer


async def test_a_token_whose_uid_is_someone_elses_is_refused(world: World) -> None:
    c, tokens = world.client, world.app.state.services.tokens
    victim, victim_headers = await labeller_login(c)
    await link(c, victim_headers, world.sub_key)
    intruder, _ = await labeller_login(c)
    victim_id = await _labeller_id(world, victim.address)
    # signed with the right secret for the right instance, but pairing the intruder's address with the victim's uid
    forged, _, _ = tokens.issue(LABELLER, intruder.address, victim_id)
    error = _err(await c.get("/api/v1/worker/partners", headers={"Authorization": f"Bearer {forged}"}), 401)
    assert "does not belong" in error
    tid, task = await create_task(c, world.api_key)
    _err(
        await c.put(
            f"/api/v1/tasks/{tid}/result",
            json={"scores": scores_for(task)},
            headers={"Authorization": f"Bearer {forged}"},
        ),
        401,
    )
    forged_miner, _, _ = tokens.issue(MINER, keypair("//Bob").ss58_address, 1)  # uid 1 is Alice's miner
    _err(await c.get("/api/v1/miner/api-keys", headers={"Authorization": f"Bearer {forged_miner}"}), 401)


async def _labeller_id(world: World, address: str) -> int:
    async with world.app.state.services.sessions() as s:
        return int((await s.execute(select(Labeller.id).where(Labeller.address == address))).scalar_one())


def test_tokens_name_their_instance() -> None:
    here, there = TokenService("s" * 40, 60, instance="a" * 32), TokenService("s" * 40, 60, instance="b" * 32)
    token, _, _ = here.issue(LABELLER, "0xabc", 1)
    assert here.verify(token, LABELLER).user_id == 1
    with pytest.raises(ApiError, match="another worker API"):
        there.verify(token, LABELLER)
    with pytest.raises(ApiError, match="still starting"):
        TokenService("s" * 40, 60).verify(token, LABELLER)


async def test_each_database_gets_its_own_instance_id(tmp_path: Path) -> None:
    ids = []
    for n in ("x", "y"):
        url = f"sqlite:///{tmp_path / f'{n}.db'}"
        await migrate(url)
        await migrate(url)  # idempotent: the id is made once
        engine = make_engine(url)
        ids.append(await instance_id(engine))
        assert await instance_id(engine) == ids[-1]
        await engine.dispose()
    assert len(set(ids)) == 2 and all(len(i) == 32 for i in ids)
