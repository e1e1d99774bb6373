"""Every filter and sort of the labeller's task list reads its page in index order, on SQLite and PostgreSQL.

10,000 tasks over three miners (the labeller is linked to two), a seventh of them answered by the
labeller; every status × answered × type × sort combination at page depths up to 1,000. Each page
statement is run with its plan captured: SQLite must not build a temporary B-tree, PostgreSQL must
not sort the tasks' rows. Each page is also checked against the same rule computed in Python.
"""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from itertools import product
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, insert

from dojo.worker_api.contexts.tasks import _list_statements
from dojo.worker_api.store.db import PG_SETTINGS, migrate_sync, sync_url
from dojo.worker_api.store.models import Labeller, Miner, Partnership, Result, SubscriptionKey, Task, utcnow

N_TASKS = 10_000
LINKED = {1, 2}
DEPTHS = [(0, 20), (500, 20), (900, 100), (1000, 20)]  # (offset, limit)
COMBOS = list(
    product(
        ["all", "open", "expired", "completed", "closed"],
        [None, True, False],
        [None, "score", "ranking"],
        ["newest", "oldest", "expiring", "most_answered"],
    )
)


def _seed(url: str) -> tuple[Engine, list[dict[str, Any]], set[str], Any]:
    migrate_sync(url)
    pg = url.startswith("postgresql")  # the worker API's own connection settings (asyncpg's server_settings)
    options = " ".join(f"-c {k}={v}" for k, v in PG_SETTINGS.items())
    engine = create_engine(sync_url(url), connect_args={"options": options} if pg else {})
    now, rnd = utcnow(), random.Random(15)
    tasks = []
    for i in range(N_TASKS):
        kind = rnd.choice(["score", "ranking"])
        tasks.append(
            dict(
                id=str(uuid.UUID(int=rnd.getrandbits(128))),
                miner_id=rnd.randint(1, 3),
                miner_task_id=str(uuid.uuid4()),
                prompt="p" * 300,
                responses=[],
                criteria={"type": kind},
                kind=kind,
                n_responses=4,
                expire_at=now + timedelta(seconds=rnd.randint(-3600, 3600)),
                max_results=3,
                result_count=rnd.randint(0, 3),
                status=rnd.choice(["open"] * 6 + ["completed", "expired", "closed"]),
                created_at=now - timedelta(seconds=i // 2),  # pairs share a created_at: ties break by id
            )
        )
    answered = {t["id"] for t in tasks[::7]}
    with engine.begin() as conn:
        for m in (1, 2, 3):
            conn.execute(insert(Miner).values(id=m, hotkey=f"hk{m}", created_at=now))
            conn.execute(
                insert(SubscriptionKey).values(id=m, miner_id=m, prefix=f"p{m}", key_hash=f"h{m}", created_at=now)
            )
        conn.execute(insert(Labeller).values(id=1, address="0x" + "1" * 40, created_at=now))
        for k in sorted(LINKED):
            conn.execute(insert(Partnership).values(labeller_id=1, subscription_key_id=k, name="x", created_at=now))
        conn.execute(insert(Task), tasks)
        conn.execute(insert(Result), [dict(task_id=t, labeller_id=1, scores={}, submitted_at=now) for t in answered])
    if engine.dialect.name == "postgresql":  # what autovacuum does to a table of this size
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    return engine, tasks, answered, now


def _expected(tasks: list[dict[str, Any]], answered: set[str], now: Any, combo: tuple[Any, ...]) -> list[str]:
    status, mine, kind, sort = combo

    def effective(t: dict[str, Any]) -> str:
        return "expired" if t["status"] == "open" and t["expire_at"] <= now else t["status"]

    rows = [
        t
        for t in tasks
        if t["miner_id"] in LINKED
        and (status == "all" or effective(t) == status)
        and (kind is None or t["kind"] == kind)
        and (mine is None or (t["id"] in answered) == mine)
    ]
    keys = {
        "newest": (lambda t: (t["created_at"], t["id"]), True),
        "oldest": (lambda t: (t["created_at"], t["id"]), False),
        "expiring": (lambda t: (t["expire_at"], t["id"]), False),
        "most_answered": (lambda t: (t["result_count"], t["created_at"], t["id"]), True),
    }
    key, descending = keys[sort]
    return [t["id"] for t in sorted(rows, key=key, reverse=descending)]


def _check_plans(url: str) -> None:
    engine, tasks, answered, now = _seed(url)
    dialect = engine.dialect.name
    plans: list[list[str]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _explain(_conn: Any, cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        cursor.execute(("EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN ") + statement, parameters)
        plans.append([str(r[-1] if dialect == "sqlite" else r[0]) for r in cursor.fetchall()])

    failures = []
    try:
        with engine.connect() as conn:
            for combo in COMBOS:
                page, _count = _list_statements(*combo, dialect)
                expected = _expected(tasks, answered, now, combo)
                for offset, limit in DEPTHS:
                    params = {"labeller_id": 1, "now": now, "offset": offset, "limit": limit}
                    rows = conn.execute(page, params).all()
                    plan = plans[-1]
                    if dialect == "sqlite":
                        bad = [line for line in plan if "TEMP B-TREE" in line]
                    else:
                        bad = [line for line in plan if "Sort Key: tasks" in line]  # the tasks' rows sorted
                    if bad:
                        failures.append(f"{combo} offset={offset}: {bad}\n  " + "\n  ".join(plan))
                    assert sorted(r.id for r in rows) == sorted(expected[offset : offset + limit]), (combo, offset)
                    assert not rows or rows[0].total == len(expected), (combo, offset)
    finally:
        engine.dispose()
    assert not failures, f"{len(failures)} of {len(COMBOS) * len(DEPTHS)} pages not read in index order:\n" + "\n".join(
        failures[: int(__import__("os").environ.get("PLAN_FAILURES_SHOWN", "5"))]
    )


def test_every_list_combination_walks_an_index_on_sqlite(tmp_path: Any) -> None:
    _check_plans(f"sqlite:///{tmp_path / 'plans.db'}")


@pytest.mark.postgres
def test_every_list_combination_walks_an_index_on_postgres(pg_url: str) -> None:
    _check_plans(pg_url)
