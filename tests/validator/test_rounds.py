"""Round logic over fake edges: bad miners score 0, duplicates share, hotkey changes reset, feedback truth."""

from __future__ import annotations

import pytest
from vfakes import RANK

from dojo import protocol


async def run_round(engine, clock) -> None:
    await engine.start_round()
    await engine.dispatch()
    clock.advance(61)
    await engine.collect()
    await engine.score()
    await engine.feedback()


def task_scores(store) -> dict[str, list[float]]:
    import sqlalchemy as sa

    from dojo.validator.store.models import TaskScore

    out: dict[str, list[float]] = {}
    with store.transaction() as s:
        for row in s.scalars(sa.select(TaskScore).order_by(TaskScore.id)).all():
            out.setdefault(row.hotkey, []).append(row.score)
    return out


async def test_bad_miners_score_zero_and_the_round_goes_on(store, make_engine) -> None:
    kinds = ["good", "reverse", "down", "slow", "garbage", "late"]
    engine, gateway, _, clock = make_engine(kinds, tasks_per_round=2)
    await run_round(engine, clock)
    scores = task_scores(store)
    assert scores["hk-1-good"] == [pytest.approx(1.0)] * 2
    assert scores["hk-2-reverse"] == [pytest.approx(0.0)] * 2
    for bad in ("hk-3-down", "hk-4-slow", "hk-5-garbage", "hk-6-late"):
        assert scores[bad] == [0.0, 0.0], bad
    running = store.running_scores()
    assert running[(1, "hk-1-good")] == pytest.approx(0.3)
    assert all(running[(i, hk)] == 0.0 for i, hk in [(3, "hk-3-down"), (4, "hk-4-slow"), (6, "hk-6-late")])
    assert store.task_counts() == {"fed_back": 2}
    # the good miner was told its score and the truth; the dead ones were not sent anything after dispatch
    assert len(gateway.miners["hk-1-good"].feedback) == 2
    assert not gateway.miners["hk-3-down"].feedback


async def test_feedback_carries_the_truth_in_each_miners_own_ids(store, make_engine) -> None:
    engine, gateway, _, clock = make_engine(["good", "reverse", "good"])
    await run_round(engine, clock)
    for miner in gateway.miners.values():
        ((tid, fb),) = miner.feedback.items()
        copy = miner.tasks[tid]
        assert set(fb.ground_truth) == {r.completion_id for r in copy.responses}
        for r in copy.responses:  # the rank told back is the rank hidden in that response
            assert fb.ground_truth[r.completion_id] == int(RANK.search(r.content).group(1))
        expected = 1.0 if miner.behaviour == "good" else 0.0
        assert len(fb.per_labeller) == 2 and all(v == pytest.approx(expected) for v in fb.per_labeller.values())


async def test_ranking_and_score_criteria_give_the_same_scores(store, make_engine, tmp_path) -> None:
    from dojo.validator.store.repo import ValidatorStore

    engine, _, _, clock = make_engine(["good", "reverse", "good"])
    await run_round(engine, clock)
    other = ValidatorStore(f"sqlite:///{tmp_path / 'ranking.db'}")
    engine2, gw2, _, clock2 = make_engine(["good", "reverse", "good"], ranking=True, db=other)
    await run_round(engine2, clock2)
    assert isinstance(next(iter(gw2.miners["hk-1-good"].tasks.values())).criteria, protocol.RankingCriterion)
    assert task_scores(other) == task_scores(store)
    other.dispose()


async def test_copycats_share_one_reward(store, make_engine) -> None:
    engine, _, _, clock = make_engine(["good", "copycat", "reverse"], tasks_per_round=3)
    await run_round(engine, clock)
    scores = task_scores(store)
    # byte-identical answers on 3 tasks: the two share what one would get
    assert scores["hk-1-good"] == scores["hk-2-copycat"]
    assert all(0.4 < s < 0.6 for s in scores["hk-1-good"])


async def test_a_new_hotkey_on_a_uid_starts_from_zero(store, make_engine) -> None:
    engine, gateway, chain, clock = make_engine(["good", "reverse"])
    await run_round(engine, clock)
    assert store.running_scores()[(1, "hk-1-good")] == pytest.approx(0.3)
    # uid 1 is re-registered by someone else, who labels badly
    from dataclasses import replace

    from vfakes import FakeMiner

    new = replace(engine.active[0], hotkey="hk-1-newowner")
    gateway.miners[new.hotkey] = FakeMiner("reverse")
    chain.neurons[1] = replace(chain.neurons[1], hotkey=new.hotkey)
    engine.active = [new, engine.active[1]]
    await run_round(engine, clock)
    running = store.running_scores()
    assert (1, "hk-1-good") not in running
    assert running[(1, "hk-1-newowner")] == pytest.approx(0.0)
    assert await engine.set_weights()
    assert chain.submitted[-1] == {1: pytest.approx(0.5), 2: pytest.approx(0.5)}  # all zero → uniform


async def test_weights_every_epoch_within_the_rate_limit(store, make_engine) -> None:
    engine, _, chain, clock = make_engine(["good", "reverse", "good"], rate_limit=25)
    await run_round(engine, clock)
    assert await engine.set_weights()
    w = chain.submitted[-1]
    assert sum(w.values()) == pytest.approx(1.0) and w[2] == pytest.approx(0.0)
    assert not await engine.set_weights()  # same epoch: nothing sent
    chain.current_block += 10  # a new epoch, but the chain's rate limit is 25 blocks
    assert not await engine.set_weights()
    subs = store.weight_submissions()
    assert [s.status for s in subs] == ["ok", "rate_limited"]
    assert engine.weights_not_before == chain.current_block + 15
    chain.current_block += 15
    assert await engine.set_weights()
    assert len(chain.submitted) == 2


async def test_a_task_served_twice_by_the_source_is_taken_once(store, make_engine) -> None:
    class Repeating:
        async def take(self, round_id: int, n: int):
            from vfakes import make_task

            return [make_task(1), make_task(1), make_task(2)]

    engine, _, _, clock = make_engine(["good", "reverse", "good"], tasks_per_round=3)
    engine.source = Repeating()
    await run_round(engine, clock)
    assert store.task_counts() == {"fed_back": 2}
    assert await engine.start_round() is None  # everything it offers now is known already
    assert store.rounds_created() == 1
