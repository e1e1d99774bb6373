"""The task lifecycle: its transition table, the effective status in SQL and in Python agreeing row by row,
and each move as the API makes it (full → completed, deadline → expired, feedback → closed)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, insert, select
from tests.worker_api.conftest import World
from tests.worker_api.helpers import body, create_task, scores_for

from dojo.worker_api import lifecycle
from dojo.worker_api.lifecycle import TaskState
from dojo.worker_api.store.db import migrate_sync, sync_url
from dojo.worker_api.store.models import Miner, Task, utcnow


def test_only_an_open_task_moves_and_only_forward() -> None:
    for state in TaskState:
        for to in TaskState:
            row = SimpleNamespace(id="t", status=state.value)
            if state is TaskState.open and to is not TaskState.open:
                lifecycle.advance(row, to)
                assert row.status == to.value
            else:
                with pytest.raises(lifecycle.InvalidTransition):
                    lifecycle.advance(row, to)
    assert lifecycle.sources(TaskState.expired) == {TaskState.open}


def test_feedback_closes_an_open_task_and_leaves_the_others() -> None:
    now = utcnow()
    later, earlier = now + timedelta(hours=1), now - timedelta(seconds=1)
    for status, expire_at, after in [
        ("open", later, "closed"),
        ("open", earlier, "expired"),  # past its deadline already: it expired, whatever came after
        ("completed", later, "completed"),
        ("expired", earlier, "expired"),
        ("closed", later, "closed"),
    ]:
        row = SimpleNamespace(id="t", status=status, expire_at=expire_at)
        lifecycle.on_feedback(row, now)
        assert row.status == after, (status, expire_at)


def test_sql_and_python_agree_on_every_row(tmp_path: Path) -> None:
    """``effective_status``/``accepts_results`` and their SQL forms, over every status × deadline × count."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    migrate_sync(url)
    engine = create_engine(sync_url(url))
    now = utcnow()
    rows = []
    for status in lifecycle.STATUSES:
        for delta in (-60, 0, 60):
            for count in (0, 2, 3):
                rows.append(
                    dict(
                        id=str(uuid.uuid4()),
                        miner_id=1,
                        miner_task_id=str(uuid.uuid4()),
                        prompt="p",
                        responses=[],
                        criteria={"type": "score"},
                        kind="score",
                        n_responses=1,
                        expire_at=now + timedelta(seconds=delta),
                        max_results=3,
                        result_count=count,
                        status=status,
                        created_at=now,
                    )
                )
    with engine.begin() as conn:
        conn.execute(insert(Miner).values(id=1, hotkey="hk", created_at=now))
        conn.execute(insert(Task), rows)
        effective = dict(conn.execute(select(Task.id, lifecycle.effective_status_sql(now))).all())
        accepting = set(conn.scalars(select(Task.id).where(*lifecycle.accepts_results_sql(now))))
        by_state = {s: set(conn.scalars(select(Task.id).where(*lifecycle.status_is_sql(s, now)))) for s in TaskState}
        overdue = set(conn.scalars(select(Task.id).where(*lifecycle.overdue_sql(now))))
    engine.dispose()
    for r in rows:
        python = lifecycle.effective_status(r["status"], r["expire_at"], now)
        assert effective[r["id"]] == python, r
        assert (r["id"] in accepting) == lifecycle.accepts_results(
            r["status"], r["expire_at"], r["result_count"], r["max_results"], now
        ), r
        assert {s.value for s, ids in by_state.items() if r["id"] in ids} == {python}, r
        assert (r["id"] in overdue) == (r["status"] == "open" and python == "expired"), r


async def test_feedback_on_an_open_task_closes_it_for_answers(world: World) -> None:
    c, key = world.client, {"X-API-KEY": world.api_key}
    tid, task = await create_task(c, world.api_key)
    truth = {r["completion_id"]: n for n, r in enumerate(task["responses"])}
    body(await c.post(f"/api/v1/tasks/{tid}/feedback", json={"score": 0.5, "ground_truth": truth}, headers=key))
    assert body(await c.get(f"/api/v1/tasks/{tid}", headers=world.labeller))["status"] == "closed"
    resp = await c.put(f"/api/v1/tasks/{tid}/result", json={"scores": scores_for(task)}, headers=world.labeller)
    assert resp.status_code == 410 and "closed" in resp.json()["error"]
    listed = body(await c.get("/api/v1/tasks?status=closed", headers=world.labeller))["tasks"]
    assert [t["id"] for t in listed] == [tid]
    assert body(await c.get("/api/v1/tasks?status=expired", headers=world.labeller))["total"] == 0


async def test_past_its_deadline_a_task_is_expired_before_the_sweep(world: World) -> None:
    """The API sends the effective status from the deadline on, whether or not the sweep has run."""
    c = world.client
    tid, task = await create_task(c, world.api_key, expire_in_s=0.3)
    await asyncio.sleep(
        max(0.0, (datetime.fromisoformat(task["expire_at"]) - datetime.now(timezone.utc)).total_seconds()) + 0.05
    )
    assert body(await c.get(f"/api/v1/tasks/{tid}", headers=world.labeller))["status"] == "expired"
    assert [t["id"] for t in body(await c.get("/api/v1/tasks?status=expired", headers=world.labeller))["tasks"]] == [
        tid
    ]
    resp = await c.put(f"/api/v1/tasks/{tid}/result", json={"scores": scores_for(task)}, headers=world.labeller)
    assert resp.status_code == 410 and "expired" in resp.json()["error"]
