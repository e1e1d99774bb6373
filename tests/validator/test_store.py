"""The store and its state machine: one transaction per step, illegal moves refused, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from dojo.errors import InvalidTransition
from dojo.validator.states import AssignmentState, TaskState, advance_assignment, advance_task
from dojo.validator.store.db import alembic_config
from dojo.validator.store.models import Assignment, Task
from dojo.validator.store.repo import ValidatorStore


class Row:
    def __init__(self, state: str) -> None:
        self.state = state
        self.id = "x"


def test_task_state_machine_allows_only_the_life_cycle() -> None:
    row = Row(TaskState.created.value)
    for to in (TaskState.dispatched, TaskState.collected, TaskState.scored, TaskState.fed_back):
        advance_task(row, to)
        assert row.state == to.value
    with pytest.raises(InvalidTransition, match="fed_back to scored"):
        advance_task(row, TaskState.scored)
    with pytest.raises(InvalidTransition):
        advance_task(Row(TaskState.dispatched.value), TaskState.scored)  # not collected yet


def test_assignment_state_machine_refuses_skipping_dispatch() -> None:
    with pytest.raises(InvalidTransition):
        advance_assignment(Row(AssignmentState.planned.value), AssignmentState.collected)
    row = Row(AssignmentState.planned.value)
    advance_assignment(row, AssignmentState.dispatch_failed)
    with pytest.raises(InvalidTransition):
        advance_assignment(row, AssignmentState.dispatched)


def test_migrations_are_idempotent_and_sqlite_uses_wal(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    ValidatorStore(url).dispose()
    store = ValidatorStore(url)  # second start: migrations already applied
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        head = ScriptDirectory.from_config(alembic_config(store.engine)).get_current_head()
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head
    store.dispose()


def test_a_failing_step_writes_nothing(store, make_engine) -> None:
    """A step that fails half-way leaves no trace: the round and its copies come together or not at all."""
    from vfakes import make_task, targets

    from dojo.validator.store.records import NewAssignment

    miners = targets(["good"])
    t = make_task(1)
    bad = NewAssignment(
        task_id="no-such-task",
        miner=miners[0],
        miner_task_id="m1",
        completion_map={},
        payload={},
        expire_at=__import__("datetime").datetime.now(__import__("datetime").timezone.utc),
    )
    with pytest.raises(sa.exc.IntegrityError):
        store.create_round(1, [t], [bad])
    assert store.rounds_created() == 0
    assert store.task_counts() == {}


async def _lifecycle(engine, gateway, clock, db: ValidatorStore) -> None:
    assert await engine.start_round() == 1
    assert db.task_counts() == {"created": 3}  # one instance per miner
    assert await engine.dispatch() == 3
    assert db.task_counts() == {"dispatched": 3}
    assert await engine.collect() == 0  # before the deadline nothing is read
    clock.advance(61)
    assert await engine.collect() == 3
    assert db.task_counts() == {"collected": 3}
    assert await engine.score() == [1]
    assert await engine.score() == []  # a round is scored once
    assert db.task_counts() == {"scored": 3}
    assert await engine.feedback() == 3
    assert db.task_counts() == {"fed_back": 3}
    with db.transaction() as s:
        states = sorted(s.scalars(sa.select(Assignment.state)).all())
        assert states == ["fed_back"] * 3
        assert s.scalar(sa.select(sa.func.count()).select_from(Task)) == 3


async def test_lifecycle_on_sqlite(store, make_engine) -> None:
    engine, gateway, _, clock = make_engine(["good", "reverse", "good"])
    await _lifecycle(engine, gateway, clock, store)


@pytest.mark.postgres
async def test_lifecycle_on_postgresql(pg_url, make_engine) -> None:
    db = ValidatorStore(pg_url)
    try:
        engine, gateway, _, clock = make_engine(["good", "reverse", "good"], db=db)
        await _lifecycle(engine, gateway, clock, db)
        assert db.running_scores()[(1, "hk-1-good")] == pytest.approx(1.0)
    finally:
        db.dispose()


async def test_planned_copies_survive_and_get_a_fresh_deadline(store, make_engine) -> None:
    """A crash between planning and sending: the copies are sent on restart with a new deadline."""
    engine, gateway, _, clock = make_engine(["good", "good"])
    await engine.start_round()
    planned = store.planned()
    assert len(planned) == 2 and not gateway.sent
    clock.advance(3600)  # the validator was down for an hour
    await engine.dispatch()
    sent = [t for _, t in gateway.sent]
    assert all(t.expire_at == clock.now + timedelta(seconds=60) for t in sent)
    assert store.task_counts() == {"dispatched": 2}


def test_a_bad_database_url_is_a_clear_error(tmp_path) -> None:
    from dojo.errors import DojoError

    with pytest.raises(DojoError, match="unsupported validator database 'mysql'"):
        ValidatorStore("mysql://x/y")
    with pytest.raises(DojoError, match="invalid validator database URL"):
        ValidatorStore("::not a url::")
