"""Duplicate guard: identical or nearly identical results on shared external tasks share one reward."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from guard_sim import PERTURBATIONS, copy_catch_rate, crew_answers, honest_false_positive_rate, perturb

from dojo.scoring import (
    duplicate_groups,
    duplicate_guard,
    group_share,
    near_duplicate_links,
    pair_evidence,
    result_fingerprint,
    score_round_detail,
)

NAN = np.nan
C = [str(uuid.UUID(int=i)) for i in range(4)]


def field(seed: int, tasks: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Five independent noisy crews on ``tasks`` shared external tasks: values [5, E, 3, 4], truth all NaN."""
    rng = np.random.default_rng(seed)
    ranks = np.array([rng.permutation(4) for _ in range(tasks)])
    values = np.stack([crew_answers(rng, ("noisy", "careful", "random"), ranks) for _ in range(5)])
    return values, np.full((tasks, 4), NAN)


def links_of(values: np.ndarray, gt: np.ndarray, **kw: float) -> np.ndarray:
    return near_duplicate_links(values, gt, np.ones(values.shape[:2], dtype=bool), **kw)  # type: ignore[arg-type]


def test_fingerprint_is_stable_order_free_and_never_zero() -> None:
    rng = np.random.default_rng(1)
    a = {f"0xlab{j}": {c: float(v) for c, v in zip(C, rng.integers(1, 11, 4), strict=True)} for j in range(3)}
    reordered = {k: dict(reversed(list(v.items()))) for k, v in reversed(list(a.items()))}
    assert result_fingerprint(a) == result_fingerprint(reordered)
    assert result_fingerprint([{"x": 1}, {"y": 2}]) == result_fingerprint([{"y": 2}, {"x": 1.0}])
    assert 0 < result_fingerprint(a) < 2**63
    assert result_fingerprint({}) == 0 and result_fingerprint(None) == 0


@pytest.mark.parametrize("kind", PERTURBATIONS)
def test_each_perturbation_of_a_copy_is_linked_to_its_source(kind: str) -> None:
    values, gt = field(3)
    rng = np.random.default_rng(4)
    copy = perturb(rng, values[1], kind)
    links = links_of(np.concatenate([values, copy[None]]), gt)
    assert links[1, 5] and links[5, 1]
    assert links.sum() == 2  # nobody else


def test_groups_are_transitive_and_honest_crews_stay_apart() -> None:
    values, gt = field(5)
    rng = np.random.default_rng(6)
    copies = [perturb(rng, values[0], "shuffle"), perturb(rng, values[0], "cell"), perturb(rng, values[2], "drop")]
    groups = duplicate_groups(links_of(np.concatenate([values, np.stack(copies)]), gt))
    assert groups[0] == groups[5] == groups[6]
    assert groups[2] == groups[7] != groups[0]
    assert len({groups[1], groups[3], groups[4], groups[0], groups[2]}) == 5


def test_exactly_identical_answers_without_spread_need_min_tasks() -> None:
    # every labeller on the true scores: no spread to prove copying, so only exact identity counts
    perfect = np.tile(np.array([10.0, 7.0, 4.0, 1.0]), (2, 4, 3, 1))  # [2 miners, 4 tasks, 3 labellers, 4]
    gt = np.full((4, 4), NAN)
    assert links_of(perfect[:, :2], gt[:2])[0, 1] == False  # noqa: E712 — two tasks: could be two careful crews
    assert links_of(perfect[:, :3], gt[:3])[0, 1]  # three identical tasks: linked, as the exact rule says
    a, b, shared, same = pair_evidence(perfect, gt, np.ones((2, 4), dtype=bool))
    assert a[0, 1] == 0.0 and b[0, 1] == pytest.approx(0.0, abs=1e-9) and shared[0, 1] == same[0, 1] == 4


def test_synthetic_tasks_are_never_compared() -> None:
    values, _ = field(7)
    gt = np.tile([0.0, 1.0, 2.0, 3.0], (3, 1))  # the same answers, but on tasks with a truth
    copy = np.concatenate([values, values[:1]])
    assert not links_of(copy, gt).any()
    assert pair_evidence(copy, gt, np.ones((6, 3), dtype=bool))[2].sum() == 0


def test_unassigned_and_missing_results_do_not_link() -> None:
    values, gt = field(8)
    copy = np.concatenate([values, values[:1]])
    assigned = np.ones((6, 3), dtype=bool)
    assigned[5] = False  # the copy was never sent these tasks: its values are ignored
    assert not near_duplicate_links(copy, gt, assigned).any()


def test_false_positive_rate_on_honest_crews_is_low() -> None:
    """Independent crews that agree (careful ones nearly always do) are rarely linked."""
    assert honest_false_positive_rate(trials=150, tasks=1, seed=11) < 0.02
    assert honest_false_positive_rate(trials=100, tasks=3, seed=12) < 0.02


def test_perturbed_copies_are_caught() -> None:
    """Copies of any crew whose labellers disagree at all are caught over three shared tasks; copies of a
    careful crew (labellers ≈ the truth) whenever the reseller only reorders, rescales or drops."""
    for kind in PERTURBATIONS:
        assert copy_catch_rate(kind, trials=150, tasks=3, seed=13) > 0.95, kind
    for kind in ("shuffle", "rescale"):
        assert copy_catch_rate(kind, sources=("careful",), trials=60, tasks=3, seed=14) > 0.95, kind


def test_group_members_share_positive_rewards_on_tasks_they_answered_together() -> None:
    scores = np.array([[0.9, 0.6, -0.5, 0.8], [0.9, 0.6, -0.5, NAN], [0.9, 0.3, 0.2, 0.7], [0.9, 0.6, 0.1, 0.4]])
    shared = np.array([[1, 1, 1, 0], [1, 1, 1, 0], [1, 1, 1, 1], [1, 0, 1, 1]], dtype=bool)
    groups = np.array([0, 0, 1, 0])  # miners 0, 1 and 3 are one crew
    assert group_share(groups, shared).tolist() == [[3, 2, 3, 1], [3, 2, 3, 1], [1, 1, 1, 1], [3, 1, 3, 1]]
    out = duplicate_guard(scores, groups, shared)
    assert out[0] == pytest.approx([0.3, 0.3, -0.5, 0.8])  # a penalty is never shared away
    assert out[1, :3] == pytest.approx([0.3, 0.3, -0.5]) and np.isnan(out[1, 3])
    assert out[2] == pytest.approx(scores[2])
    assert out[3] == pytest.approx([0.3, 0.6, 0.1 / 3, 0.4])
    with pytest.raises(ValueError, match="same shape"):
        duplicate_guard(np.zeros((2, 3)), np.zeros(2), np.zeros((2, 4), dtype=bool))


def test_a_resold_crew_earns_one_reward_on_external_tasks() -> None:
    values, gt = field(9, tasks=4)
    rng = np.random.default_rng(10)
    resold = np.stack([perturb(rng, values[0], k) for k in ("cell", "shuffle")])
    allv = np.concatenate([values, resold])
    assigned = np.ones(allv.shape[:2], dtype=bool)
    detail = score_round_detail(allv, gt, assigned)
    groups = duplicate_groups(near_duplicate_links(allv, gt, assigned))
    guarded = duplicate_guard(detail.task_scores, groups, detail.has_result & detail.external[None])
    positive = detail.task_scores[0] > 0
    assert guarded[[0, 5, 6]][:, positive].sum(axis=0) == pytest.approx(
        detail.task_scores[[0, 5, 6]][:, positive].mean(axis=0)
    )
    assert guarded[1:5] == pytest.approx(detail.task_scores[1:5])
