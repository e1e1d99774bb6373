"""Task creation is idempotent per (miner, miner_task_id), the body's ``task_id``: a retry returns the first
worker_task_id, even in a race."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from tests.worker_api.conftest import World, make_settings
from tests.worker_api.helpers import body, keypair, metagraph_of, miner_login, new_key, task_json
from tests.worker_api.server import serve

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
    # another miner may use the same miner_task_id: its task is its own
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
    with serve(app) as base:
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
        stored = await s.execute(select(func.count()).select_from(Task).where(Task.miner_task_id == task["task_id"]))
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
        rows = dict(conn.execute(text("SELECT id, miner_task_id FROM tasks")).all())  # source_task_id until 0008
    engine.dispose()
    assert rows == {"b": "s1", "a": "a", "c": "c"}


def _rename_round_trip(url: str) -> None:
    """0008 renames ``source_task_id`` to ``miner_task_id`` keeping rows, results and the unique index; and back."""
    from alembic import command
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.exc import IntegrityError

    from dojo.worker_api.store.db import _alembic_config, sync_url

    cfg = _alembic_config(url)
    command.upgrade(cfg, "0007")
    engine = create_engine(sync_url(url))
    insert = (
        "INSERT INTO tasks (id, miner_id, {col}, prompt, responses, criteria, kind, n_responses, expire_at,"
        " max_results, result_count, status, created_at) VALUES (:id, 1, 's1', 'p', '[]', '{{}}', 'score', 2,"
        " '2030-01-01 00:00:00', 3, 1, 'open', '2026-01-01 00:00:00')"
    )
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO miners (id, hotkey, created_at) VALUES (1, 'h', '2026-01-01 00:00:00')"))
        conn.execute(text("INSERT INTO labellers (id, address, created_at) VALUES (1, '0xab', '2026-01-01 00:00:00')"))
        conn.execute(text(insert.format(col="source_task_id")), {"id": "w1"})
        conn.execute(
            text(
                "INSERT INTO results (task_id, labeller_id, scores, submitted_at) VALUES ('w1', 1, '{}', '2026-01-01')"
            )
        )

    def unique_indexes() -> set[tuple[str, ...]]:
        with engine.connect() as conn:
            return {tuple(i["column_names"]) for i in inspect(conn).get_indexes("tasks") if i["unique"]}

    def state(col: str) -> tuple[list[Any], list[Any]]:
        with engine.connect() as conn:
            tasks = [tuple(r) for r in conn.execute(text(f"SELECT id, {col} FROM tasks"))]
            return tasks, [tuple(r) for r in conn.execute(text("SELECT task_id, labeller_id FROM results"))]

    try:
        command.upgrade(cfg, "0008")
        assert state("miner_task_id") == ([("w1", "s1")], [("w1", 1)])
        assert ("miner_id", "miner_task_id") in unique_indexes()
        with pytest.raises(IntegrityError), engine.begin() as conn:  # still one task per (miner, miner_task_id)
            conn.execute(text(insert.format(col="miner_task_id")), {"id": "w2"})
        command.downgrade(cfg, "0007")
        assert state("source_task_id") == ([("w1", "s1")], [("w1", 1)])
        assert ("miner_id", "source_task_id") in unique_indexes()
        assert not any("miner_task_id" in cols for cols in unique_indexes())
    finally:
        engine.dispose()


def test_migration_0008_renames_the_miner_task_id_column_on_sqlite(tmp_path: Path) -> None:
    _rename_round_trip(f"sqlite:///{tmp_path / 'w.db'}")


@pytest.mark.postgres
def test_migration_0008_renames_the_miner_task_id_column_on_postgres(pg_url: str) -> None:
    _rename_round_trip(pg_url)
