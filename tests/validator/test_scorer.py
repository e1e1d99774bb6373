"""The scoring glue on stored rounds: reliability votes, duplicate groups, running states, external results."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from dojo.chain.base import Metagraph, Neuron
from dojo.validator.scorer import ScoringParams, external_aggregate, score_stored_round
from dojo.validator.store.records import LabelRow, MinerState, RoundForScoring, ScoredAssignment, TaskForScoring
from dojo.validator.weights import compute_weights

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
COMPLETIONS = ["c0", "c1", "c2", "c3"]  # c0 is best
GOOD = [[10, 7, 4, 1], [9, 8, 3, 2]]
REVERSE = [[1, 4, 7, 10], [2, 3, 8, 9]]
PROVEN = MinerState(n=10.0, s1=9.5, s2=9.1)  # ten tasks, mean 0.95


def task(tid: str, external: bool = False) -> TaskForScoring:
    truth = None if external else {c: i for i, c in enumerate(COMPLETIONS)}
    return TaskForScoring(
        id=tid,
        state="collected",
        source="external" if external else "synthetic",
        criteria={"type": "score", "min": 1, "max": 10},
        completion_ids=list(COMPLETIONS),
        ground_truth=truth,
        external_id=f"req-{tid}" if external else None,
    )


def answer(aid: int, tid: str, uid: int, answers: list[list[float]]) -> ScoredAssignment:
    rows = [
        LabelRow(f"lab-{uid}-{li}", c, float(v), NOW)
        for li, row in enumerate(answers)
        for c, v in zip(COMPLETIONS, row, strict=True)
    ]
    return ScoredAssignment(aid, tid, uid, f"hk-{uid}", "collected", None, rows)


def test_synthetic_scores_are_signed_and_running_states_fold_in() -> None:
    rnd = RoundForScoring(
        round_id=1,
        tasks=[task("t1"), task("t2")],
        assignments=[answer(1, "t1", 1, GOOD), answer(2, "t2", 2, REVERSE)],
        running={(1, "hk-1"): MinerState(1.0, 1.0, 1.0), (9, "hk-9"): MinerState(2.0, 1.0, 0.5)},
    )
    out = score_stored_round(rnd, ScoringParams(alpha=0.5))
    assert sorted(out.task_scores) == [("t1", 1, "hk-1", pytest.approx(1.0)), ("t2", 2, "hk-2", pytest.approx(-1.0))]
    assert out.running[(1, "hk-1")] == MinerState(1.5, 1.5, 1.5)  # 0.5·(1, 1, 1) + one task of 1
    assert out.running[(2, "hk-2")] == MinerState(1.0, -1.0, 1.0)
    assert out.running[(9, "hk-9")] == MinerState(1.0, 0.5, 0.25)  # idle: decays, keeps its mean
    assert out.running[(9, "hk-9")].mean == pytest.approx(0.5)


def test_a_new_hotkey_on_a_uid_drops_the_old_state() -> None:
    rnd = RoundForScoring(1, [task("t1")], [answer(1, "t1", 1, GOOD)], {(1, "hk-old"): PROVEN})
    out = score_stored_round(rnd)
    assert out.dropped == [(1, "hk-old")] and (1, "hk-old") not in out.running
    assert out.running[(1, "hk-1")].n == pytest.approx(1.0)


def test_external_tasks_count_proven_votes_only_and_the_requester_gets_the_same_weights() -> None:
    ext = task("e1", external=True)
    assignments = [
        answer(1, "e1", 1, GOOD),
        answer(2, "e1", 2, [[10, 6, 5, 1]]),
        answer(3, "e1", 3, REVERSE),
        answer(4, "e1", 4, REVERSE),
        answer(5, "e1", 5, REVERSE),
    ]
    running = {(1, "hk-1"): PROVEN, (2, "hk-2"): PROVEN}  # 3–5 never proved anything
    out = score_stored_round(RoundForScoring(1, [ext], assignments, running))
    scores = {uid: s for _, uid, _, s in out.task_scores}
    assert scores[1] == pytest.approx(1.0) and scores[2] == pytest.approx(1.0)  # the bloc of three has no vote
    assert all(scores[u] == pytest.approx(-1.0) for u in (3, 4, 5))
    result = out.external_results["req-e1"]
    assert result["weighted"] and result["miners"] == 2 and result["labellers"] == 3
    by_rank = [result["scores"][c] for c in COMPLETIONS]
    assert by_rank == pytest.approx([(9.5 + 10) / 2, (7.5 + 6) / 2, (3.5 + 5) / 2, (1.5 + 1) / 2])
    assert 0.5 < result["agreement"] <= 1.0


def test_before_anyone_is_proven_external_tasks_say_nothing_and_all_votes_count_equally() -> None:
    assignments = [answer(i, "e1", i, GOOD if i < 4 else REVERSE) for i in range(1, 5)]
    out = score_stored_round(RoundForScoring(1, [task("e1", external=True)], assignments, {}))
    assert out.task_scores == []  # no signal: nothing recorded, the running means do not move
    assert all(st.n == 0 for st in out.running.values())
    result = out.external_results["req-e1"]
    assert not result["weighted"] and result["miners"] == 4 and result["labellers"] == 8


def test_resold_external_answers_share_one_reward_and_one_vote() -> None:
    tasks = [task(f"e{i}", external=True) for i in range(3)]
    honest = [[10, 8, 3, 2], [6, 9, 4, 1], [9, 5, 6, 1]]
    resold = [[10, 8, 3, 1], [6, 9, 4, 1], [9, 5, 6, 1]]  # miner 1's labellers, one cell changed
    other = [[9, 7, 5, 1], [10, 7, 4, 2]]
    assignments = []
    for ti, t in enumerate(tasks):
        assignments += [answer(10 * ti + 1, t.id, 1, honest), answer(10 * ti + 2, t.id, 2, resold)]
        assignments += [answer(10 * ti + 3, t.id, 3, other)]
    running = {(u, f"hk-{u}"): PROVEN for u in (1, 2, 3)}
    out = score_stored_round(RoundForScoring(1, tasks, assignments, running))
    alone = score_stored_round(
        RoundForScoring(
            1, tasks, [a for a in assignments if a.uid != 2], {k: v for k, v in running.items() if k[0] != 2}
        )
    )
    by = {(tid, uid): s for tid, uid, _, s in out.task_scores}
    solo = {(tid, uid): s for tid, uid, _, s in alone.task_scores}
    for t in tasks:
        assert by[(t.id, 1)] + by[(t.id, 2)] == pytest.approx(solo[(t.id, 1)])  # one reward between them
        assert by[(t.id, 3)] == pytest.approx(solo[(t.id, 3)])  # and one vote: the third miner sees no change


def test_external_aggregate_without_results() -> None:
    empty = external_aggregate(np.zeros((0, 0)), np.zeros(0), np.zeros((0, 0)), [])
    assert empty == {"scores": {}, "agreement": None, "labellers": 0, "miners": 0, "weighted": False}


def test_compute_weights_uses_the_lower_bound_of_current_hotkeys() -> None:
    meta = Metagraph(
        netuid=1,
        block=1,
        neurons=tuple(
            Neuron(uid=u, hotkey=f"hk-{u}", coldkey="ck", stake=0.0, validator_permit=False) for u in range(1, 5)
        ),
    )
    running = {
        (1, "hk-1"): MinerState(20.0, 19.0, 18.2),  # careful, many tasks
        (2, "hk-2"): MinerState(2.0, 1.9, 1.81),  # as good, two tasks: less certain
        (3, "hk-3"): MinerState(20.0, 1.0, 6.0),  # chance
        (4, "hk-old"): PROVEN,  # uid 4 belongs to someone else now
    }
    w = compute_weights(running, meta, 1.0, ScoringParams(lcb_k=2.0, lcb_power=2.0, var_floor=0.1))
    assert set(w) == {1, 2, 3} and sum(w.values()) == pytest.approx(1.0)
    assert w[1] > w[2] > 0 and w[3] == 0.0
    lb1, lb2 = 0.95 - 2 * np.sqrt(0.1 / 20), 0.95 - 2 * np.sqrt(0.1 / 2)
    assert w[1] / w[2] == pytest.approx((lb1 / lb2) ** 2)
