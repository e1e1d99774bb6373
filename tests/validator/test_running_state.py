"""The store keeps each miner's running state (decayed n, Σρ, Σρ²); the migration starts old scores afresh."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from dojo.validator.store.db import alembic_config, make_engine
from dojo.validator.store.records import MinerState, NewTask, RoundScores
from dojo.validator.store.repo import ValidatorStore


def test_migration_from_the_old_ema_starts_every_miner_from_zero(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    engine = make_engine(url)
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(
            sa.text(
                "INSERT INTO running_scores (uid, hotkey, score, last_round, updated_at) "
                "VALUES (1, 'hk-1', 0.61, 7, '2026-11-30 00:00:00')"
            )
        )
    engine.dispose()
    store = ValidatorStore(url)
    try:
        assert store.running_states() == {(1, "hk-1"): MinerState(0.0, 0.0, 0.0)}
        assert store.running_scores() == {(1, "hk-1"): 0.0}  # an EMA of (ρ+1)/2 does not carry over
    finally:
        store.dispose()


def test_record_scores_writes_the_state_and_the_mean(store) -> None:
    store.create_round(1, [NewTask("t1", "p", {"type": "score"}, [], None)], [])
    with store.transaction() as s:  # the round's only task was never sent: nothing left to collect
        s.execute(sa.text("UPDATE tasks SET state = 'undelivered'"))
    scores = RoundScores(
        round_id=1,
        task_scores=[],
        labeller_grades={},
        running={(1, "hk-1"): MinerState(4.0, 3.0, 2.5), (2, "hk-2"): MinerState(2.0, -1.0, 1.0)},
        dropped=[],
        external_results={},
    )
    assert store.record_scores(scores)
    assert store.running_states() == scores.running
    assert store.running_scores() == {(1, "hk-1"): 0.75, (2, "hk-2"): -0.5}  # readers see the signed mean
