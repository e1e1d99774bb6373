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
    assert scores["hk-2-reverse"] == [pytest.approx(-1.0)] * 2  # signed: the reverse order is -1, not 0
    for bad in ("hk-3-down", "hk-4-slow", "hk-5-garbage", "hk-6-late"):
        assert scores[bad] == [0.0, 0.0], bad  # a refused instance scores 0 like an unlabelled one
    running = store.running_scores()
    assert running[(1, "hk-1-good")] == pytest.approx(1.0)  # the running mean of its tasks
    assert running[(2, "hk-2-reverse")] == pytest.approx(-1.0)
    assert all(running[(i, hk)] == 0.0 for i, hk in [(3, "hk-3-down"), (4, "hk-4-slow"), (6, "hk-6-late")])
    assert store.task_counts() == {"fed_back": 12}  # each miner's own 2 instances
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


async def test_no_two_miners_share_a_synthetic_task(store, make_engine) -> None:
    """The duplicate guard has nothing to link on synthetic tasks: every miner labels its own instances."""
    engine, gateway, _, clock = make_engine(["good", "copycat", "reverse"], tasks_per_round=3)
    await run_round(engine, clock)
    scores = task_scores(store)
    # the copycat answers exactly like the good miner would, but on its own tasks: both earn in full
    assert scores["hk-1-good"] == scores["hk-2-copycat"] == [pytest.approx(1.0)] * 3
    held = [{t.prompt for t in miner.tasks.values()} for miner in gateway.miners.values()]
    assert all(len(h) == 3 for h in held) and not (held[0] & held[1] or held[0] & held[2] or held[1] & held[2])


async def test_a_new_hotkey_on_a_uid_starts_from_zero(store, make_engine) -> None:
    engine, gateway, chain, clock = make_engine(["good", "reverse"])
    await run_round(engine, clock)
    assert store.running_scores()[(1, "hk-1-good")] == pytest.approx(1.0)
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
    assert running[(1, "hk-1-newowner")] == pytest.approx(-1.0)  # its own record only, not the old owner's
    assert await engine.set_weights()
    assert chain.submitted[-1] == {1: pytest.approx(0.5), 2: pytest.approx(0.5)}  # all at or below chance → uniform


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
    """Tasks that cannot be instantiated go to one miner each; one the source serves again is not sent again."""
    from vfakes import make_task

    from dojo.validator.sources import SourceTask

    class Repeating:
        async def take(self, round_id: int, n: int):
            return [SourceTask(task=make_task(k)) for k in (1, 1, 2)][:n]

    engine, gateway, _, clock = make_engine(["good", "reverse", "good"], tasks_per_round=3)
    engine.source = Repeating()
    await run_round(engine, clock)
    assert store.task_counts() == {"fed_back": 2}
    sent = [str(t.prompt) for _, t in gateway.sent if isinstance(t, protocol.Task)]
    assert sorted(sent) == ["Build program 1", "Build program 2"]  # each to one miner only
    assert await engine.start_round() is None  # everything it offers now is known already
    assert store.rounds_created() == 1
