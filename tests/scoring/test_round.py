"""Scoring one round: the rules of DESIGN §7, each its own test."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from dojo.scoring import labeller_grades, ranks_to_scores, score_round, score_round_detail

NAN = np.nan
TRUTH = np.array([[0.0, 1.0, 2.0, 3.0]])  # completion 0 is best
EXTERNAL = np.full((1, 4), NAN)
BEST_FIRST = [4.0, 3.0, 2.0, 1.0]
REVERSED = BEST_FIRST[::-1]


def one_task(
    *miner_answers: list[list[float]], truth: np.ndarray = TRUTH, reliability: list[float] | None = None
) -> np.ndarray:
    """Score one task; each miner gives a list of labeller answers (a list of values per completion)."""
    labellers = max(len(a) for a in miner_answers) or 1
    c = truth.shape[1]
    values = np.full((len(miner_answers), 1, labellers, c), NAN)
    for m, answers in enumerate(miner_answers):
        for lab, row in enumerate(answers):
            values[m, 0, lab, : len(row)] = row
    rel = None if reliability is None else np.array(reliability)
    return score_round(values, truth, np.ones((len(miner_answers), 1), dtype=bool), rel)[:, 0]


def test_signed_rho_perfect_is_one_reversed_is_minus_one() -> None:
    assert one_task([BEST_FIRST])[0] == pytest.approx(1.0)
    assert one_task([REVERSED])[0] == pytest.approx(-1.0)
    answer = [4.0, 2.0, 3.0, 1.0]
    assert one_task([answer])[0] == pytest.approx(spearmanr(answer, [0, -1, -2, -3]).statistic)


def test_chance_is_zero() -> None:
    # Every order of four completions, each once: random labelling's expected score is exactly 0.
    from itertools import permutations

    answers = [list(map(float, p)) for p in permutations([1, 2, 3, 4])]
    scores = one_task(*[[a] for a in answers])
    assert scores.mean() == pytest.approx(0.0, abs=1e-12)
    # A constant vector carries no order: 0, not 0.5; likewise labellers who cancel out.
    assert one_task([[5, 5, 5, 5]])[0] == 0.0
    assert one_task([BEST_FIRST, REVERSED])[0] == 0.0


def test_random_labelling_averages_zero() -> None:
    rng = np.random.default_rng(0)
    m, t = 50, 40
    values = rng.integers(1, 11, size=(m, t, 3, 4)).astype(float)
    truth = np.array([rng.permutation(4) for _ in range(t)], dtype=float)
    scores = score_round(values, truth, np.ones((m, t), dtype=bool))
    assert abs(scores.mean()) < 0.03  # ±3 standard errors of 2000 draws of sd ≈ 0.55
    assert (scores < 0).mean() > 0.3  # signed: unlucky tasks are not clipped away


def test_missing_or_unusable_result_scores_zero() -> None:
    scores = one_task([BEST_FIRST], [], [[9, 8, NAN, 1]])
    assert scores[1] == 0.0  # assigned, returned nothing
    assert scores[2] == 0.0  # assigned, a partial answer is not usable
    assert scores[0] == pytest.approx(1.0)
    # on an external task too, even without a consensus signal
    assert one_task([BEST_FIRST], [], truth=EXTERNAL)[1] == 0.0


def test_not_assigned_is_nan_and_its_values_are_ignored() -> None:
    values = np.full((3, 1, 1, 4), NAN)
    values[:, 0, 0] = [BEST_FIRST, BEST_FIRST, REVERSED]
    assigned = np.array([[True], [False], [True]])
    scores = score_round(values, TRUTH, assigned)
    assert np.isnan(scores[1, 0])
    assert scores[[0, 2], 0] == pytest.approx([1.0, -1.0])


def test_synthetic_tasks_ignore_everyone_else() -> None:
    answer = [4.0, 2.0, 3.0, 1.0]
    alone = one_task([answer])[0]
    # the same answer among miners who all answer the reverse, or all agree with it: same score
    assert one_task([answer], [REVERSED], [REVERSED], [REVERSED])[0] == pytest.approx(alone)
    assert one_task([answer], [answer], [answer])[0] == pytest.approx(alone)
    detail = score_round_detail(np.array([[[answer]], [[REVERSED]]]), TRUTH, np.ones((2, 1), dtype=bool))
    assert np.isnan(detail.consensus).all()  # consensus is not even computed for synthetic tasks


def test_truth_without_spread_says_nothing() -> None:
    flat = np.array([[1.0, 1.0, 1.0, 1.0]])
    scores = one_task([BEST_FIRST], [REVERSED], [BEST_FIRST], truth=flat)
    assert np.isnan(scores).all()


def test_ties_use_average_ranks() -> None:
    answer = [7.0, 7.0, 3.0, 3.0]
    assert one_task([answer])[0] == pytest.approx(spearmanr(answer, [0, -1, -2, -3]).statistic)
    truth = np.array([[0.0, 0.0, 1.0, 2.0]])
    assert one_task([BEST_FIRST], truth=truth)[0] == pytest.approx(spearmanr(BEST_FIRST, -truth[0]).statistic)


def test_ranking_and_score_criteria_agree_for_the_same_order() -> None:
    scores_answer = [[9.0, 2.0, 7.0, 4.0], [8.0, 1.0, 6.0, 5.0]]
    ranks_answer = np.array([[0.0, 3.0, 1.0, 2.0], [0.0, 3.0, 1.0, 2.0]])
    as_scores = ranks_to_scores(ranks_answer, 4)
    assert as_scores[0].tolist() == [3.0, 0.0, 2.0, 1.0]
    by_score = one_task(scores_answer, [BEST_FIRST], [[1, 2, 3, 4]])
    by_rank = one_task(as_scores.tolist(), [BEST_FIRST], [[1, 2, 3, 4]])
    assert by_score == pytest.approx(by_rank)
    assert 0 < by_score[0] < 1


def test_ranks_to_scores_infers_count_and_keeps_padding() -> None:
    out = ranks_to_scores(np.array([[1.0, 0.0, 2.0, NAN], [0.0, 1.0, NAN, NAN]]))
    assert out[0, :3].tolist() == [1.0, 2.0, 0.0]
    assert out[1, :2].tolist() == [1.0, 0.0]
    assert np.isnan(out[:, 3]).all()


def test_padded_completions_are_ignored() -> None:
    truth = np.array([[0.0, 1.0, 2.0, 3.0], [1.0, 0.0, NAN, NAN]])
    values = np.full((1, 2, 1, 4), NAN)
    values[0, 0, 0] = BEST_FIRST
    values[0, 1, 0, :2] = [1.0, 5.0]
    values[0, 1, 0, 2:] = [9.0, 9.0]  # stray values in padding slots do not count
    scores = score_round(values, truth, np.ones((1, 2), dtype=bool))
    assert scores[0] == pytest.approx([1.0, 1.0])


def test_external_task_is_consensus_weighted_by_reliability() -> None:
    # three proven miners agree, one proven miner reverses: the reverser scores against the three
    scores = one_task([BEST_FIRST], [[9, 7, 6, 2]], [BEST_FIRST], [REVERSED], truth=EXTERNAL, reliability=[1, 1, 1, 1])
    assert scores[3] == pytest.approx(-1.0)
    assert (scores[:3] > 0.7).all()
    # the same answers, but only the reverser has proven skill: the others now score against it
    flipped = one_task([BEST_FIRST], [[9, 7, 6, 2]], [BEST_FIRST], [REVERSED], truth=EXTERNAL, reliability=[0, 0, 0, 1])
    assert flipped[:3] == pytest.approx([-1.0, -1.0, -1.0])
    assert np.isnan(flipped[3])  # nobody proven besides itself: no signal for it


def test_external_weights_are_a_weighted_mean_of_ranks() -> None:
    a, b, c = [4.0, 2.0, 3.0, 1.0], [1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 4.0]
    detail = score_round_detail(
        np.array([[[a]], [[b]], [[c]]]), EXTERNAL, np.ones((3, 1), dtype=bool), np.array([0.2, 0.3, 0.6])
    )
    others = (0.3 * np.array([1.0, 2.0, 3.0, 4.0]) + 0.6 * np.array([1.0, 3.0, 2.0, 4.0])) / 0.9
    assert detail.consensus[0, 0] == pytest.approx(spearmanr(a, others).statistic)
    assert detail.task_scores[0, 0] == detail.consensus[0, 0]


def test_zero_reliability_bloc_cannot_move_an_honest_miner() -> None:
    honest = [[10, 7, 4, 1], [9, 7, 5, 2]]
    proven = [[10, 8, 4, 1]]
    colluders = [[1, 4, 7, 10]] * 5  # a fixed pattern, the reverse of the honest order
    alone = one_task(honest, proven, truth=EXTERNAL, reliability=[0.8, 0.9])
    with_bloc = one_task(honest, proven, *[colluders] * 4, truth=EXTERNAL, reliability=[0.8, 0.9, 0, 0, 0, 0])
    assert with_bloc[0] == pytest.approx(alone[0])
    assert with_bloc[1] == pytest.approx(alone[1])
    assert (with_bloc[2:] < -0.9).all()  # their own consensus score is the proven miners' verdict
    # the same bloc with equal votes (no reliability) would have outvoted the honest pair
    equal = one_task(honest, proven, *[colluders] * 4, truth=EXTERNAL)
    assert equal[0] < 0


def test_external_needs_enough_weighted_voters() -> None:
    # nobody proven: no signal for anyone who answered; a miner who answered nothing still gets 0
    none = one_task([BEST_FIRST], [BEST_FIRST], [], truth=EXTERNAL, reliability=[0, 0, 0])
    assert np.isnan(none[:2]).all() and none[2] == 0.0
    # min_consensus other voters with positive weight
    values = np.array([[[BEST_FIRST]], [[BEST_FIRST]], [[BEST_FIRST]]])
    one_voter = score_round_detail(values, EXTERNAL, np.ones((3, 1), dtype=bool), [1.0, 1.0, 0.0], min_consensus=2)
    assert np.isnan(one_voter.task_scores[:2, 0]).all()  # each has only one other voter
    assert one_voter.task_scores[2, 0] == pytest.approx(1.0)  # it has two
    # total weight of the others at or below min_weight: no signal
    tiny = score_round_detail(values, EXTERNAL, np.ones((3, 1), dtype=bool), [0.01, 0.01, 0.01], min_weight=0.05)
    assert np.isnan(tiny.task_scores).all()
    # the others' weighted mean without spread: no signal
    flat = one_task([BEST_FIRST], [BEST_FIRST], [REVERSED], truth=EXTERNAL)
    assert np.isnan(flat[:2]).all() and flat[2] == pytest.approx(-1.0)


def test_constant_answer_scores_zero_on_external_tasks() -> None:
    scores = one_task([[5, 5, 5, 5]], [BEST_FIRST], [BEST_FIRST], truth=EXTERNAL)
    assert scores[0] == 0.0


def test_bad_shapes_are_a_clear_error() -> None:
    with pytest.raises(ValueError, match="ground_truth must be"):
        score_round(np.zeros((2, 3, 1, 4)), np.zeros((3, 5)), np.ones((2, 3), dtype=bool))
    with pytest.raises(ValueError, match="values must be"):
        score_round(np.zeros((2, 3, 4)), np.zeros((3, 4)), np.ones((2, 3), dtype=bool))
    with pytest.raises(ValueError, match="reliability must be"):
        score_round(np.zeros((2, 3, 1, 4)), np.zeros((3, 4)), np.ones((2, 3), dtype=bool), np.ones(3))


def test_labeller_grades_per_labeller() -> None:
    values = np.array([[[BEST_FIRST, REVERSED, [5, 5, 5, 5], [1, NAN, 2, 3]]]])
    grades = labeller_grades(values, TRUTH)[0, 0]
    assert grades[:3] == pytest.approx([1.0, 0.0, 0.0])
    assert np.isnan(grades[3])


def test_vote_weights_may_differ_per_task() -> None:
    # two tasks, the same answers; miner 2's vote counts on the first task only
    values = np.array([[[BEST_FIRST]] * 2, [[BEST_FIRST]] * 2, [[REVERSED]] * 2])
    votes = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    scores = score_round(values, np.full((2, 4), NAN), np.ones((3, 2), dtype=bool), votes)
    assert scores[:2, 0] == pytest.approx([-1.0, -1.0]) and np.isnan(scores[:2, 1]).all()
