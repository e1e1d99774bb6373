"""One normalisation to "higher is better": the criteria's scalar ``better`` / ``unit`` and scoring's array
``ranks_to_scores`` / ``higher_is_better`` say the same thing, and scoring reads criteria as typed models."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dojo.protocol import RankingCriterion, ScoreCriterion, as_criterion
from dojo.scoring import higher_is_better, labeller_grades, ranks_to_scores, score_round

NAN = np.nan


@pytest.mark.parametrize("n", range(1, 17))
def test_ranking_better_is_ranks_to_scores(n: int) -> None:
    ranks = np.arange(n, dtype=np.float64)
    array = ranks_to_scores(ranks[None], n)[0]
    inferred = ranks_to_scores(ranks[None])[0]  # n taken from the valid entries
    scalar = [RankingCriterion().better(r, n) for r in ranks]
    assert array.tolist() == scalar == inferred.tolist()
    assert scalar[0] == n - 1 and scalar[-1] == 0.0  # rank 0 (best) highest


def test_score_better_is_the_value_itself() -> None:
    crit = ScoreCriterion(min=0, max=100)
    values = np.array([[[[0.0, 37.5, 100.0, NAN]]]])
    out = higher_is_better(values, [crit])[0, 0, 0]
    assert out[:3].tolist() == [crit.better(v, 4) for v in (0.0, 37.5, 100.0)] == [0.0, 37.5, 100.0]
    assert np.isnan(out[3])  # padding stays padding


def test_higher_is_better_is_better_elementwise_on_a_mixed_round() -> None:
    """A round of score and ranking tasks of different sizes (NaN padding): the array form equals the
    scalar ``criterion.better`` applied to every value."""
    rng = np.random.default_rng(3)
    criteria = [ScoreCriterion(min=1, max=10), RankingCriterion(), ScoreCriterion(min=0, max=5), RankingCriterion()]
    sizes = [4, 3, 5, 2]
    m, lab, c = 3, 2, max(sizes)
    values = np.full((m, len(criteria), lab, c), NAN)
    for t, (crit, n) in enumerate(zip(criteria, sizes, strict=True)):
        for mi, li in itertools.product(range(m), range(lab)):
            if isinstance(crit, RankingCriterion):
                values[mi, t, li, :n] = rng.permutation(n)
            else:
                values[mi, t, li, :n] = rng.integers(crit.min, crit.max + 1, size=n)
    out = higher_is_better(values, criteria, sizes)
    expected = np.full_like(values, NAN)
    for mi, t, li, j in itertools.product(range(m), range(len(criteria)), range(lab), range(c)):
        if j < sizes[t]:
            expected[mi, t, li, j] = criteria[t].better(values[mi, t, li, j], sizes[t])
    np.testing.assert_array_equal(out, expected)
    # without the counts, each answer's own valid entries give n (rankings are full here)
    np.testing.assert_array_equal(higher_is_better(values, criteria), expected)


def test_higher_is_better_needs_one_criterion_per_task() -> None:
    with pytest.raises(ValueError, match="one criterion per task"):
        higher_is_better(np.zeros((1, 2, 1, 3)), [RankingCriterion()])


@pytest.mark.parametrize("crit", [ScoreCriterion(min=1, max=10), ScoreCriterion(min=0, max=3), RankingCriterion()])
def test_unit_is_better_rescaled_to_zero_one(crit: ScoreCriterion | RankingCriterion) -> None:
    n = 4
    values = range(n) if crit.is_ranking else range(crit.min, crit.max + 1)  # type: ignore[union-attr]
    better = [crit.better(v, n) for v in values]
    lo, hi = min(better), max(better)
    for v, b in zip(values, better, strict=True):
        assert crit.unit(v, n) == pytest.approx((b - lo) / (hi - lo))
    assert crit.step(n) == pytest.approx(1.0 / (hi - lo))


def test_a_ranking_scores_like_the_same_order_as_scores() -> None:
    """The same order given as ranks or as 1–10 scores gives the same round scores and grades."""
    truth = np.array([[0.0, 1.0, 2.0, 3.0]])
    as_scores = np.array([[[[9.0, 4.0, 6.0, 1.0]]]])
    as_ranks = np.array([[[[0.0, 2.0, 1.0, 3.0]]]])
    assigned = np.ones((1, 1), dtype=bool)
    a = score_round(
        higher_is_better(as_scores, [as_criterion({"type": "score", "min": 1, "max": 10})]), truth, assigned
    )
    b = score_round(higher_is_better(as_ranks, [as_criterion({"type": "ranking"})]), truth, assigned)
    assert a == pytest.approx(b) and a[0, 0] == pytest.approx(0.8)
    ga = labeller_grades(higher_is_better(as_scores, [ScoreCriterion()]), truth)
    gb = labeller_grades(higher_is_better(as_ranks, [RankingCriterion()]), truth)
    assert ga == pytest.approx(gb) and ga[0, 0, 0] == pytest.approx(0.9)


def test_as_criterion_reads_every_stored_shape() -> None:
    assert as_criterion({"type": "ranking"}).is_ranking
    score = as_criterion({"type": "score", "min": 0, "max": 5})
    assert isinstance(score, ScoreCriterion) and (score.min, score.max) == (0, 5) and not score.is_ranking
    assert as_criterion(None) == ScoreCriterion(min=1, max=10)
    assert as_criterion(score) is score
    with pytest.raises(ValueError):
        as_criterion({"type": "stars"})
