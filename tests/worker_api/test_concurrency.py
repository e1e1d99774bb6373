"""Under any concurrency exactly max_results results are accepted: SQLite and PostgreSQL, real uvicorn."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from tests.worker_api.conftest import make_settings
from tests.worker_api.helpers import metagraph_of, new_account, task_json
from tests.worker_api.server import serve

from dojo.worker_api.app import create_app
from dojo.worker_api.auth.tokens import LABELLER, TokenService
from dojo.worker_api.contexts.keys import create_key, get_or_create_miner
from dojo.worker_api.store.db import instance_id, make_engine, make_sessionmaker, migrate
from dojo.worker_api.store.models import ApiKey, Labeller, Partnership, Result, SubscriptionKey, Task

N_LABELLERS = 200
MAX_RESULTS = 3


async def _setup(db_url: str, secret: str) -> tuple[str, list[str]]:
    """A miner with an API key and N labellers linked to it; returns the key and their tokens."""
    await migrate(db_url)
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    tokens = TokenService(secret, 600, instance=await instance_id(engine))
    async with sessions() as s:
        miner = await get_or_create_miner(s, "5" + "C" * 47)
        api_key, _ = await create_key(s, ApiKey, miner.id, "bench")
        await create_key(s, SubscriptionKey, miner.id, "crew")
        sub_id = (await s.execute(select(SubscriptionKey.id).where(SubscriptionKey.miner_id == miner.id))).scalar_one()
        crew = [Labeller(address=new_account().address) for _ in range(N_LABELLERS)]
        s.add_all(crew)
        await s.flush()
        s.add_all([Partnership(labeller_id=lab.id, subscription_key_id=sub_id, name="m") for lab in crew])
        await s.commit()
        out = [tokens.issue(LABELLER, lab.address, lab.id)[0] for lab in crew]
    await engine.dispose()
    return api_key, out


async def _count(db_url: str, task_id: str) -> tuple[int, int]:
    engine = make_engine(db_url)
    async with make_sessionmaker(engine)() as s:
        count = (await s.execute(select(Task.result_count).where(Task.id == task_id))).scalar_one()
        rows = (await s.execute(select(func.count(Result.id)).where(Result.task_id == task_id))).scalar_one()
    await engine.dispose()
    return int(count), int(rows)


async def _race(tmp_home: Path, db_url: str | None) -> None:
    settings = make_settings(tmp_home / ".dojo", db_url)
    url = settings.worker_db_url()
    api_key, tokens = await _setup(url, settings.worker.jwt_secret or "")
    app = create_app(settings, metagraph=lambda: metagraph_of())
    with serve(app) as base:
        limits = httpx.Limits(max_connections=N_LABELLERS, max_keepalive_connections=N_LABELLERS)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as c:
            task = task_json(max_results=MAX_RESULTS)
            made = await c.post("/api/v1/tasks", json=task, headers={"X-API-KEY": api_key})
            tid = made.json()["body"]["worker_task_id"]
            scores = {r["completion_id"]: 7 for r in task["responses"]}
            start = asyncio.Event()

            async def submit(token: str) -> int:
                await start.wait()
                resp = await c.put(
                    f"/api/v1/tasks/{tid}/result", json={"scores": scores}, headers={"Authorization": f"Bearer {token}"}
                )
                return resp.status_code

            jobs = [asyncio.create_task(submit(t)) for t in tokens]
            await asyncio.sleep(0)
            start.set()
            codes = await asyncio.gather(*jobs)
    assert codes.count(200) == MAX_RESULTS, sorted(set(codes))
    assert codes.count(409) == N_LABELLERS - MAX_RESULTS, sorted(set(codes))
    assert await _count(url, tid) == (MAX_RESULTS, MAX_RESULTS)


@pytest.mark.timeout(90)
async def test_exactly_max_results_on_sqlite(tmp_home: Path) -> None:
    await _race(tmp_home, None)


@pytest.mark.postgres
@pytest.mark.timeout(90)
async def test_exactly_max_results_on_postgres(tmp_home: Path, pg_url: str) -> None:
    await _race(tmp_home, pg_url)
