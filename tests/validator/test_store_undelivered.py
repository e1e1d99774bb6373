"""A task no miner accepted is ``undelivered`` (migration 0004 renames the old ``expired``), and the external
API's results still spell it ``expired``."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from dojo.validator.states import TaskState, external_name
from dojo.validator.store.db import alembic_config, make_engine


def _states(conn: sa.Connection) -> dict[str, str]:
    return {str(i): str(s) for i, s in conn.execute(sa.text("SELECT id, state FROM tasks"))}


def test_migration_0004_renames_expired_tasks_to_undelivered_and_back(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'v.db'}")
    cfg = alembic_config(engine)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0003")
            conn.execute(sa.text("INSERT INTO rounds (id, state, created_at) VALUES (1, 'scored', '2026-12-01')"))
            for tid, state in (("t-none", "expired"), ("t-done", "fed_back")):
                conn.execute(
                    sa.text(
                        "INSERT INTO tasks (id, round_id, position, source, state, prompt, criteria, responses,"
                        " created_at) VALUES (:id, 1, 0, 'synthetic', :state, 'p', '{}', '[]', '2026-12-01')"
                    ),
                    {"id": tid, "state": state},
                )
            command.upgrade(cfg, "0004")
            assert _states(conn) == {"t-none": "undelivered", "t-done": "fed_back"}
            command.downgrade(cfg, "0003")
            assert _states(conn) == {"t-none": "expired", "t-done": "fed_back"}
    finally:
        engine.dispose()


def test_the_external_api_keeps_its_word_for_an_undelivered_task() -> None:
    assert external_name(TaskState.undelivered.value) == "expired"
    assert external_name(TaskState.collected.value) == "collected"
    assert "expired" not in {s.value for s in TaskState}


def test_an_undelivered_external_task_is_answered_with_the_old_word() -> None:
    from dojo.protocol import ScoreCriterion
    from dojo.validator.scorer import score_stored_round
    from dojo.validator.store.records import RoundForScoring, TaskForScoring

    task = TaskForScoring(
        id="t1",
        state=TaskState.undelivered.value,
        source="external",
        criteria=ScoreCriterion(),
        completion_ids=["a", "b"],
        ground_truth=None,
        external_id="req-1",
    )
    out = score_stored_round(RoundForScoring(round_id=1, tasks=[task], assignments=[], running={}))
    assert out.external_results["req-1"]["state"] == "expired"
    assert out.task_scores == []
