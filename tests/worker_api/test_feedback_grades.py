"""The worker API grades labellers with dojo.scoring: the grade a labeller sees after the miner's feedback is
the validator's own labeller grade for the same answers, under ranking and score criteria alike, and the
number the worker API showed before it used dojo.scoring."""

from __future__ import annotations

import itertools
import math
import random
from datetime import datetime, timezone

import pytest
from scipy.stats import spearmanr

from dojo.protocol import AnyCriterion, RankingCriterion, ScoreCriterion
from dojo.validator.scorer import score_stored_round
from dojo.validator.store.records import LabelRow, RoundForScoring, ScoredAssignment, TaskForScoring
from dojo.worker_api.contexts.feedback import grades

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


def _previous_grade(values: dict[str, float], ground_truth: dict[str, int], ranking: bool) -> float:
    """The worker API's own grade before it called dojo.scoring (kept here as the reference)."""
    ids = sorted(ground_truth)
    if any(i not in values for i in ids) or len(ids) < 2:
        return 0.0
    mine = [(-values[i] if ranking else values[i]) for i in ids]
    truth = [-ground_truth[i] for i in ids]
    if len(set(mine)) < 2 or len(set(truth)) < 2:
        return 0.0
    rho = float(spearmanr(mine, truth).statistic)
    return 0.0 if math.isnan(rho) else (rho + 1.0) / 2.0


def _validator_grades(criteria: AnyCriterion, answers: list[dict[str, float]], truth: dict[str, int]) -> list[float]:
    """The validator's labeller grades for one copy holding ``answers``, through its scoring step."""
    ids = sorted(truth)
    task = TaskForScoring("t", "collected", "synthetic", criteria, ids, truth, None)
    rows = [LabelRow(f"lab-{k}", c, float(a[c]), NOW) for k, a in enumerate(answers) for c in ids]
    out = score_stored_round(
        RoundForScoring(1, [task], [ScoredAssignment(1, "t", 1, "hk-1", "collected", None, rows)], {})
    )
    return [out.labeller_grades[1][f"lab-{k}"] for k in range(len(answers))]


def _answers(criteria: AnyCriterion, ids: list[str], rng: random.Random, k: int) -> list[dict[str, float]]:
    if isinstance(criteria, RankingCriterion):
        return [dict(zip(ids, map(float, rng.sample(range(len(ids)), len(ids))), strict=True)) for _ in range(k)]
    return [{c: float(rng.randint(criteria.min, criteria.max)) for c in ids} for _ in range(k)]


@pytest.mark.parametrize(
    "criteria", [RankingCriterion(), ScoreCriterion(min=1, max=10), ScoreCriterion(min=0, max=3)], ids=str
)
@pytest.mark.parametrize("n", [2, 3, 4, 6])
def test_worker_api_grade_is_the_validators_grade(criteria: AnyCriterion, n: int) -> None:
    rng = random.Random(n)
    ids = [f"c{i}" for i in range(n)]
    for _ in range(5):
        truth = dict(zip(ids, rng.sample(range(n), n), strict=True))
        answers = _answers(criteria, ids, rng, 6)
        worker = grades(criteria, answers, truth)
        assert worker == _validator_grades(criteria, answers, truth)
        assert worker == pytest.approx([_previous_grade(a, truth, criteria.is_ranking) for a in answers], abs=1e-12)


def test_every_ranking_of_four_grades_as_before() -> None:
    ids = ["a", "b", "c", "d"]
    truth = {"a": 2, "b": 0, "c": 3, "d": 1}
    answers = [dict(zip(ids, map(float, p), strict=True)) for p in itertools.permutations(range(4))]
    worker = grades(RankingCriterion(), answers, truth)
    assert worker == _validator_grades(RankingCriterion(), answers, truth)
    assert worker == pytest.approx([_previous_grade(a, truth, True) for a in answers], abs=1e-12)
    assert max(worker) == 1.0 and min(worker) == 0.0  # the true order, and its reverse


def test_no_grade_where_there_is_no_order_is_zero_as_before() -> None:
    score = ScoreCriterion(min=1, max=10)
    truth = {"a": 0, "b": 1, "c": 2}
    cases = [
        (score, {"a": 5.0, "b": 5.0, "c": 5.0}, truth),  # a constant answer
        (score, {"a": 9.0, "b": 5.0}, truth),  # a value missing
        (score, {"a": 9.0, "b": 5.0, "c": 1.0}, {"a": 0, "b": 0, "c": 0}),  # a truth with no order
        (RankingCriterion(), {"a": 0.0}, {"a": 0}),  # one completion
    ]
    for criteria, answer, t in cases:
        assert grades(criteria, [answer], t) == [0.0] == [_previous_grade(answer, t, criteria.is_ranking)]
    assert grades(score, [], truth) == []
