"""The runner of the hot paths returns what SQLAlchemy returns, on SQLite and PostgreSQL, and keeps the
errors SQLAlchemy raises (a unique violation is an IntegrityError; a broken statement leaves the runner usable)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from dojo.worker_api.contexts import submission, tasks
from dojo.worker_api.store.db import make_engine, migrate
from dojo.worker_api.store.models import (
    Labeller,
    LabellerGrade,
    Miner,
    Partnership,
    Result,
    SubscriptionKey,
    Task,
    utcnow,
)
from dojo.worker_api.store.runner import Runner


async def _seed(engine: Any) -> list[str]:
    now = utcnow()
    ids = [str(uuid.uuid4()) for _ in range(5)]
    async with engine.begin() as conn:
        await conn.execute(insert(Miner).values(id=1, hotkey="hk", created_at=now))
        await conn.execute(insert(SubscriptionKey).values(id=1, miner_id=1, prefix="p", key_hash="h", created_at=now))
        await conn.execute(insert(Labeller).values(id=1, address="0x" + "1" * 40, created_at=now))
        await conn.execute(insert(Partnership).values(labeller_id=1, subscription_key_id=1, name="m", created_at=now))
        for n, tid in enumerate(ids):
            await conn.execute(
                insert(Task).values(
                    id=tid,
                    miner_id=1,
                    miner_task_id=tid,
                    prompt="p" * 400,
                    responses=[{"completion_id": "a", "content": "<p>"}, {"completion_id": "b", "content": "<q>"}],
                    criteria={"type": "score", "min": 1, "max": 10},
                    kind="score",
                    n_responses=2,
                    expire_at=now + timedelta(seconds=60 * (n - 1)),  # the first one is past its deadline
                    max_results=3,
                    result_count=n % 3,
                    status="open",
                    created_at=now - timedelta(seconds=n),
                )
            )
        await conn.execute(
            insert(Result).values(task_id=ids[2], labeller_id=1, scores={"a": 1.5, "b": 2.0}, submitted_at=now)
        )
        await conn.execute(insert(LabellerGrade).values(task_id=ids[2], labeller_id=1, grade=0.75, created_at=now))
    return ids


async def _check(url: str) -> None:
    await migrate(url)
    engine = make_engine(url)
    runner = Runner(url, engine)
    try:
        ids = await _seed(engine)
        now = utcnow()
        page, count = tasks._list_statements("all", None, None, "newest", engine.dialect.name)
        statements: list[tuple[Any, dict[str, Any]]] = [
            (page, {"labeller_id": 1, "now": now, "offset": 0, "limit": 10}),
            (count, {"labeller_id": 1, "now": now}),
            *[(tasks._detail_statement(), {"labeller_id": 1, "now": now, "task_id": t}) for t in ids],
            (submission._statements()[0], {"task_id": ids[2], "labeller_id": 1}),
        ]
        for stmt, params in statements:
            async with engine.connect() as conn:
                expected = [tuple(r) for r in (await conn.execute(stmt, params)).all()]
            got = [tuple(r) for r in await runner.rows(stmt, params)]
            assert got == expected
            assert [type(v) for r in got for v in r] == [type(v) for r in expected for v in r]
        detail = await runner.first(tasks._detail_statement(), {"labeller_id": 1, "now": now, "task_id": ids[2]})
        assert detail.scores == {"a": 1.5, "b": 2.0} and detail.grade == 0.75 and detail.created_at.tzinfo is not None
        assert (
            await runner.first(tasks._detail_statement(), {"labeller_id": 1, "now": now, "task_id": ids[0]})
        ).eff_status == "expired"

        # the same labeller twice: refused as SQLAlchemy refuses it, and the runner goes on
        row = {"task_id": ids[2], "labeller_id": 1, "submitted_at": now, "scores": {"a": 1.0, "b": 1.0}}
        with pytest.raises(IntegrityError):
            if runner.dialect == "postgresql":
                await runner.scalar(submission._count_and_store(), {**row, "now": now})
            else:
                await runner.write(lambda conn: conn.execute(insert(Result), row))
        with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises for bad SQL
            await runner.rows(text("SELECT no_such_column FROM tasks"))
        assert await runner.scalar(count, {"labeller_id": 1, "now": now}) == 5
        async with engine.connect() as conn:  # the refused answer counted nothing
            counts = dict((await conn.execute(text("SELECT id, result_count FROM tasks"))).all())
        assert counts[ids[2]] == 2
    finally:
        await runner.close()
        await engine.dispose()


async def test_runner_matches_sqlalchemy_on_sqlite(tmp_path: Any) -> None:
    await _check(f"sqlite:///{tmp_path / 'w.db'}")


@pytest.mark.postgres
async def test_runner_matches_sqlalchemy_on_postgres(pg_url: str) -> None:
    await _check(pg_url)
