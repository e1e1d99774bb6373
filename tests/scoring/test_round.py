"""Scoring one round: the Must-hold properties of DESIGN §7, each its own test."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from dojo.scoring import labeller_grades, ranks_to_scores, score_round, score_round_detail

NAN = np.nan
TRUTH = np.array([[0.0, 1.0, 2.0, 3.0]])  # completion 0 is best
BEST_FIRST = [4.0, 3.0, 2.0, 1.0]


def one_task(*miner_answers: list[list[float]], truth: np.ndarray = TRUTH) -> np.ndarray:
    """Score one task; each miner gives a list of labeller answers (a list of values per completion)."""
    labellers = max(len(a) for a in miner_answers) or 1
    c = truth.shape[1]
    values = np.full((len(miner_answers), 1, labellers, c), NAN)
    for m, answers in enumerate(miner_answers):
        for lab, row in enumerate(answers):
            values[m, 0, lab, : len(row)] = row
    return score_round(values, truth, np.ones((len(miner_answers), 1), dtype=bool))[:, 0]


def test_perfect_order_scores_one() -> None:
    assert one_task([BEST_FIRST])[0] == pytest.approx(1.0)
    # With consensus: three miners all in the true order score 1 exactly.
    assert one_task([BEST_FIRST], [[10, 7, 5, 1]], [[9, 8, 2, 1]]) == pytest.approx([1.0, 1.0, 1.0])


def test_reversed_order_scores_zero() -> None:
    assert one_task([BEST_FIRST[::-1]])[0] == pytest.approx(0.0)
    # Against two miners that agree with the truth, a reversed miner also has zero consensus.
    scores = one_task([BEST_FIRST[::-1]], [BEST_FIRST], [BEST_FIRST])
    assert scores[0] == pytest.approx(0.0)
    assert scores[1] > 0.8


def test_constant_vector_scores_zero_not_half() -> None:
    assert one_task([[5, 5, 5, 5]])[0] == 0.0
    # Constant also gets no consensus credit among others who spread.
    assert one_task([[5, 5, 5, 5]], [BEST_FIRST], [BEST_FIRST])[0] == 0.0
    # Labellers who disagree exactly cancel out to a constant mean: still 0.
    assert one_task([[4, 3, 2, 1], [1, 2, 3, 4]])[0] == 0.0


def test_missing_or_unusable_result_scores_zero() -> None:
    scores = one_task([BEST_FIRST], [], [[9, 8, NAN, 1]])
    assert scores[1] == 0.0  # assigned, returned nothing
    assert scores[2] == 0.0  # assigned, a partial answer is not usable
    assert scores[0] == pytest.approx(1.0)


def test_not_assigned_is_nan_and_its_values_are_ignored() -> None:
    values = np.full((3, 1, 1, 4), NAN)
    values[0, 0, 0] = BEST_FIRST
    values[1, 0, 0] = BEST_FIRST
    values[2, 0, 0] = BEST_FIRST[::-1]  # would drag consensus down, but was never sent the task
    assigned = np.array([[True], [True], [False]])
    scores = score_round(values, TRUTH, assigned)
    assert np.isnan(scores[2, 0])
    assert scores[:2, 0] == pytest.approx([1.0, 1.0])  # two miners: no consensus, gt alone


def test_ties_use_average_ranks() -> None:
    answer = [7.0, 7.0, 3.0, 3.0]
    expected = (spearmanr(answer, [0, -1, -2, -3]).statistic + 1) / 2
    assert one_task([answer])[0] == pytest.approx(expected)
    assert 0.5 < expected < 1.0
    # Ties in the truth are averaged too.
    truth = np.array([[0.0, 0.0, 1.0, 2.0]])
    expected = (spearmanr(BEST_FIRST, -truth[0]).statistic + 1) / 2
    assert one_task([BEST_FIRST], truth=truth)[0] == pytest.approx(expected)


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


def test_external_task_uses_consensus_only() -> None:
    truth = np.full((1, 4), NAN)
    scores = one_task([BEST_FIRST], [[9, 7, 6, 2]], [BEST_FIRST], [BEST_FIRST[::-1]], [[]], truth=truth)
    assert scores[4] == 0.0  # missing is still 0
    assert scores[3] == pytest.approx(0.0)  # against the mean of three agreeing others
    assert scores[:3] == pytest.approx([1.0, 1.0, 1.0])  # others' mean still has their order
    # Two agree, one reverses: for each agreeing miner the others' mean is flat, so no signal.
    split = one_task([BEST_FIRST], [BEST_FIRST], [BEST_FIRST[::-1]], truth=truth)
    assert np.isnan(split[0]) and np.isnan(split[1]) and split[2] == pytest.approx(0.0)
    # Fewer than three miners with results: no signal, NaN for those who answered.
    few = one_task([BEST_FIRST], [BEST_FIRST], [], truth=truth)
    assert np.isnan(few[0]) and np.isnan(few[1]) and few[2] == 0.0


def test_mix_is_point_eight_truth_point_two_consensus() -> None:
    answer = [4.0, 2.0, 3.0, 1.0]
    detail = score_round_detail(
        np.array([[[answer]], [[[1.0, 2.0, 3.0, 4.0]]], [[[1.0, 3.0, 2.0, 4.0]]]]), TRUTH, np.ones((3, 1), dtype=bool)
    )
    gt, cons = detail.ground_truth[0, 0], detail.consensus[0, 0]
    assert gt == pytest.approx((spearmanr(answer, [0, -1, -2, -3]).statistic + 1) / 2)
    others = (np.array([1.0, 2.0, 3.0, 4.0]) + np.array([1.0, 3.0, 2.0, 4.0])) / 2  # mean of the others' ranks
    assert cons == pytest.approx((spearmanr(answer, others).statistic + 1) / 2)
    assert detail.task_scores[0, 0] == pytest.approx(0.8 * gt + 0.2 * cons)


def test_bad_shapes_are_a_clear_error() -> None:
    with pytest.raises(ValueError, match="ground_truth must be"):
        score_round(np.zeros((2, 3, 1, 4)), np.zeros((3, 5)), np.ones((2, 3), dtype=bool))
    with pytest.raises(ValueError, match="values must be"):
        score_round(np.zeros((2, 3, 4)), np.zeros((3, 4)), np.ones((2, 3), dtype=bool))


def test_labeller_grades_per_labeller() -> None:
    values = np.array([[[BEST_FIRST, BEST_FIRST[::-1], [5, 5, 5, 5], [1, NAN, 2, 3]]]])
    grades = labeller_grades(values, TRUTH)[0, 0]
    assert grades[:3] == pytest.approx([1.0, 0.0, 0.0])
    assert np.isnan(grades[3])
