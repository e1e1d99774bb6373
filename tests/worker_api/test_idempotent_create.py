"""Task creation is idempotent per (miner, task_id): a retry returns the first worker task id, even in a race."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from tests.worker_api.conftest import World, make_settings
from tests.worker_api.helpers import body, keypair, metagraph_of, miner_login, new_key, task_json
from tests.worker_api.server import ServerThread

from dojo.worker_api.app import create_app
from dojo.worker_api.contexts.keys import create_key, get_or_create_miner
from dojo.worker_api.store.db import make_engine, make_sessionmaker, migrate
from dojo.worker_api.store.models import ApiKey, Task

N_RETRIES = 200


async def test_same_task_id_twice_gives_the_same_task(world: World) -> None:
    c = world.client
    task = task_json()
    key = {"X-API-KEY": world.api_key}
    first = body(await c.post("/api/v1/tasks", json=task, headers=key))["worker_task_id"]
    again = body(await c.post("/api/v1/tasks", json=task, headers=key))["worker_task_id"]
    assert again == first
    other = body(await c.post("/api/v1/tasks", json=task_json(), headers=key))["worker_task_id"]
    assert other != first
    # another miner may use the same source task id: its task is its own
    bob = await miner_login(c, keypair("//Bob"))
    bob_key = await new_key(c, bob, "api-keys")
    bobs = body(await c.post("/api/v1/tasks", json=task, headers={"X-API-KEY": bob_key}))["worker_task_id"]
    assert bobs != first
    listed = body(await c.get("/api/v1/tasks", params={"limit": 100}, headers=world.labeller))
    assert listed["total"] == 2 and {t["id"] for t in listed["tasks"]} == {first, other}


async def _race(tmp_home: Path, db_url: str | None) -> None:
    settings = make_settings(tmp_home / ".dojo", db_url)
    url = settings.worker_db_url()
    await migrate(url)
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as s:
        miner = await get_or_create_miner(s, "5" + "D" * 47)
        api_key, _ = await create_key(s, ApiKey, miner.id, "retry")
    app = create_app(settings, metagraph=lambda: metagraph_of())
    task = task_json()
    with ServerThread(app) as base:
        limits = httpx.Limits(max_connections=N_RETRIES, max_keepalive_connections=N_RETRIES)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as c:
            start = asyncio.Event()

            async def create() -> tuple[int, str | None]:
                await start.wait()
                resp = await c.post("/api/v1/tasks", json=task, headers={"X-API-KEY": api_key})
                return resp.status_code, (resp.json().get("body") or {}).get("worker_task_id")

            jobs = [asyncio.create_task(create()) for _ in range(N_RETRIES)]
            await asyncio.sleep(0)
            start.set()
            replies = await asyncio.gather(*jobs)
    assert {code for code, _ in replies} == {200}, sorted({code for code, _ in replies})
    ids = {tid for _, tid in replies}
    assert len(ids) == 1 and None not in ids
    async with make_sessionmaker(engine)() as s:
        stored = await s.execute(select(func.count()).select_from(Task).where(Task.source_task_id == task["task_id"]))
        assert stored.scalar_one() == 1
    await engine.dispose()


@pytest.mark.timeout(90)
async def test_concurrent_duplicates_make_one_task_on_sqlite(tmp_home: Path) -> None:
    await _race(tmp_home, None)


@pytest.mark.postgres
@pytest.mark.timeout(90)
async def test_concurrent_duplicates_make_one_task_on_postgres(tmp_home: Path, pg_url: str) -> None:
    await _race(tmp_home, pg_url)


def test_migration_keeps_tasks_that_already_repeat_a_source_id(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import create_engine, text

    from dojo.worker_api.store.db import _alembic_config, migrate_sync, sync_url

    url = f"sqlite:///{tmp_path / 'w.db'}"
    command.upgrade(_alembic_config(url), "0002")
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO miners (id, hotkey, created_at) VALUES (1, 'h', '2026-01-01 00:00:00')"))
        for n, tid in enumerate(("b", "a", "c")):  # "b" is the oldest copy of source s1
            conn.execute(
                text(
                    "INSERT INTO tasks (id, miner_id, source_task_id, prompt, responses, criteria, n_responses, expire_at,"
                    " max_results, result_count, status, created_at) VALUES (:id, 1, 's1', 'p', '[]', '{}', 2,"
                    " '2030-01-01 00:00:00', 3, 0, 'open', :at)"
                ),
                {"id": tid, "at": f"2026-01-01 00:00:0{n}"},
            )
    migrate_sync(url)
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT id, source_task_id FROM tasks")).all())
    engine.dispose()
    assert rows == {"b": "s1", "a": "a", "c": "c"}
