"""Scoring one round: every miner on every task at once (DESIGN §7).

Arrays, by axis: ``M`` miners, ``T`` tasks, ``L`` labeller slots, ``C`` completion slots.
Tasks with fewer completions than ``C`` are padded with NaN; a labeller slot that is absent is
all NaN. All the work is array operations over the whole round; nothing loops per task or per
miner.

Rules, per task ``t`` and miner ``m``:

* A completion slot is real when the ground truth has a value there (synthetic task) or, on an
  external task (whole ground-truth row NaN), when any assigned miner gave it a value.
* A labeller counts ("usable") when it has a finite value for every real completion; a partial
  answer is dropped. The miner's vector ``s_m`` is the mean of its usable labellers; a miner
  with none has no result on the task.
* Every signal is a **signed** Spearman ρ in [−1, 1]: chance is 0, the reverse order −1. Ties
  get average ranks, and values are compared at 1e-9 so float rounding in means never breaks a
  tie. A constant ``s_m`` carries no order and scores 0.
* **Synthetic task** (a truth with spread): ρ of ``s_m`` against the hidden order (rank 0 =
  best, so against :func:`ranks_to_scores` of it) — and nothing else; other miners' answers never enter.
* **External task** (whole truth row NaN): consensus — ρ of ``s_m`` against the mean of the
  *other* miners' rank vectors, each weighted by its ``reliability`` (proven ground-truth
  skill, ``max(0, running mean)`` before this round). Rank vectors, so that a miner's scale
  (1–10, a ranking, 0–100) neither weighs on the others' consensus nor changes its own score.
  It needs at least ``min_consensus`` other miners with a result and a positive weight, their
  total weight above ``min_weight``, and a weighted mean that is not constant; otherwise the
  task says nothing about the miner and scores NaN (the running score skips it).
* A task with a truth but no spread (all ranks equal) has nothing to agree with: NaN.
* Assigned and no usable result: 0 (on every kind of task). Not assigned: NaN (its values, if
  any, are ignored).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dojo.scoring.spearman import FloatArray, agreement, has_spread, pearson_last, rank_last, spearman_last


class CriterionLike(Protocol):
    """What scoring needs of a criterion (:class:`dojo.protocol.ScoreCriterion` / ``RankingCriterion``)."""

    @property
    def is_ranking(self) -> bool: ...


#: Other miners with a result and a positive vote weight needed for an external-task consensus.
MIN_CONSENSUS = 1
#: The others' total vote weight must exceed this for a consensus to say anything.
MIN_CONSENSUS_WEIGHT = 1e-6


@dataclass(frozen=True)
class RoundScores:
    """Everything :func:`score_round_detail` works out; ``task_scores`` is what the running score takes."""

    task_scores: FloatArray  # [M, T] signed, in [-1, 1]; NaN where not assigned or no signal
    ground_truth: FloatArray  # [M, T] signed ρ against the hidden order; NaN where undefined
    consensus: FloatArray  # [M, T] signed ρ against the weighted others (external tasks); NaN where undefined
    vectors: FloatArray  # [M, T, C] each miner's mean over usable labellers; NaN where none
    has_result: NDArray[np.bool_]  # [M, T] assigned and at least one usable labeller
    usable: NDArray[np.bool_]  # [M, T, L] labeller slot counted
    external: NDArray[np.bool_]  # [T] no ground truth: scored by consensus


def ranks_to_scores(ranks: ArrayLike, n_completions: ArrayLike | None = None) -> FloatArray:
    """A ranking (0 = best) as scores (higher = better): ``n_completions - 1 - rank``.

    ``ranks`` is ``[..., C]`` with NaN for padding/absent. ``n_completions`` is an int or an
    array shaped like ``ranks.shape[:-1]`` (or broadcastable to it); by default the number of
    non-NaN ranks in each vector. The result lies in ``[0, n-1]``, the best completion highest.
    """
    r = np.asarray(ranks, dtype=np.float64)
    if n_completions is None:
        n = (~np.isnan(r)).sum(axis=-1).astype(np.float64)
    else:
        n = np.broadcast_to(np.asarray(n_completions, dtype=np.float64), r.shape[:-1])
    return (n[..., None] - 1.0) - r


def higher_is_better(
    values: ArrayLike, criteria: Sequence[CriterionLike], n_completions: ArrayLike | None = None
) -> FloatArray:
    """Every answer on its criterion's "higher is better" axis: rankings through :func:`ranks_to_scores`,
    scores as they are. The array form of ``criterion.better(value, n)``.

    ``values`` is ``[..., T, L, C]`` (NaN where absent), ``criteria`` one criterion per task ``T``
    (anything with ``is_ranking``, e.g. :func:`dojo.protocol.as_criterion`'s), ``n_completions``
    ``[T]`` each task's number of completions (by default, the valid values of each answer).
    """
    v = np.asarray(values, dtype=np.float64)
    ranking = np.array([c.is_ranking for c in criteria], dtype=bool)
    if v.ndim < 3 or ranking.shape != v.shape[-3:-2]:
        raise ValueError(
            f"values must be [..., tasks, labellers, completions] with one criterion per task, got {v.shape}"
        )
    if not ranking.any():
        return v
    n = None if n_completions is None else np.asarray(n_completions, dtype=np.float64)[:, None]
    return np.where(ranking[:, None, None], ranks_to_scores(v, n), v)


def completion_mask(values: ArrayLike, ground_truth: ArrayLike, assigned: ArrayLike | None = None) -> NDArray[np.bool_]:
    """Which completion slots are real, ``[T, C]``: from the truth, or from the values on external tasks."""
    v = np.asarray(values, dtype=np.float64)
    gt = np.asarray(ground_truth, dtype=np.float64)
    external = np.asarray(np.isnan(gt).all(axis=-1))
    finite = np.isfinite(v)
    if assigned is not None:
        finite &= np.asarray(assigned, dtype=bool)[:, :, None, None]
    seen = finite.any(axis=(0, 2))
    return np.where(external[:, None], seen, ~np.isnan(gt))


def miner_vectors(values: ArrayLike, valid: NDArray[np.bool_]) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Each miner's per-completion mean over its usable labellers, ``[M, T, C]``, and ``usable [M, T, L]``.

    A labeller is usable when it gave a finite value for every real completion (``valid [T, C]``);
    padded slots come out NaN, as does the whole vector of a miner with no usable labeller.
    """
    v = np.asarray(values, dtype=np.float64)
    real = valid[None, :, None, :]
    finite = np.isfinite(v)
    usable = ((finite | ~real).all(axis=-1)) & np.asarray(valid.any(axis=-1))[None, :, None]
    n = usable.sum(axis=2)
    total = np.where(usable[..., None] & real, np.where(finite, v, 0.0), 0.0).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n[..., None]
    mean = np.where((n > 0)[..., None] & valid[None], mean, np.nan)
    return mean, usable


def vote_weights(reliability: ArrayLike | None, miners: int, tasks: int) -> FloatArray:
    """Consensus vote weights ``[M, T]`` from ``reliability`` ``[M]`` (one weight per miner) or ``[M, T]``
    (per task, e.g. shared by a duplicate group); negative and NaN → 0; None → 1 each."""
    if reliability is None:
        return np.ones((miners, tasks))
    w = np.nan_to_num(np.asarray(reliability, dtype=np.float64), nan=0.0)
    if w.shape == (miners,):
        w = np.broadcast_to(w[:, None], (miners, tasks))
    if w.shape != (miners, tasks):
        raise ValueError(
            f"reliability must be [miners] = ({miners},) or [miners, tasks] = {(miners, tasks)}, got {w.shape}"
        )
    return np.maximum(w, 0.0)


def weighted_consensus(
    ranks: FloatArray,
    has_result: NDArray[np.bool_],
    weights: FloatArray,
    min_consensus: int = MIN_CONSENSUS,
    min_weight: float = MIN_CONSENSUS_WEIGHT,
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """The reliability-weighted mean of the OTHER miners' rank vectors ``[M, T, C]`` and where it is a signal ``[M, T]``.

    ``ranks [M, T, C]`` (NaN padding / no result), ``weights [M, T]`` ≥ 0. A voter on task ``t`` is
    a miner with a result and a positive weight. The mean for ``m`` leaves ``m`` out; it is a
    signal where ``m`` has a result, at least ``min_consensus`` others vote, their weight sums
    above ``min_weight`` and the mean has spread.
    """
    voter = has_result & (weights > 0)  # [M, T]
    w = np.where(voter, weights, 0.0)  # [M, T]
    contrib = np.where(voter[..., None], ranks, 0.0) * w[..., None]  # [M, T, C]
    total = contrib.sum(axis=0)  # [T, C]; NaN in padded slots
    weight_others = w.sum(axis=0)[None] - w  # [M, T]
    count_others = voter.sum(axis=0)[None] - voter  # [M, T]
    with np.errstate(invalid="ignore", divide="ignore"):
        others = (total[None] - contrib) / weight_others[..., None]
    others = np.where(has_result[..., None] & ~np.isnan(ranks), others, np.nan)
    signal = has_result & (count_others >= min_consensus) & (weight_others > min_weight) & has_spread(others)
    return others, signal


def score_round_detail(
    values: ArrayLike,
    ground_truth: ArrayLike,
    assigned: ArrayLike,
    reliability: ArrayLike | None = None,
    *,
    min_consensus: int = MIN_CONSENSUS,
    min_weight: float = MIN_CONSENSUS_WEIGHT,
) -> RoundScores:
    """Score a whole round; see the module docstring for the rules. Shapes as in :func:`score_round`."""
    v = np.asarray(values, dtype=np.float64)
    gt = np.asarray(ground_truth, dtype=np.float64)
    asg = np.asarray(assigned, dtype=bool)
    if v.ndim != 4:
        raise ValueError(f"values must be [miners, tasks, labellers, completions], got shape {v.shape}")
    m, t, _, c = v.shape
    if gt.shape != (t, c):
        raise ValueError(f"ground_truth must be [tasks, completions] = {(t, c)}, got {gt.shape}")
    if asg.shape != (m, t):
        raise ValueError(f"assigned must be [miners, tasks] = {(m, t)}, got {asg.shape}")
    weights = vote_weights(reliability, m, t)

    v = np.where(asg[:, :, None, None], v, np.nan)  # results of miners not assigned are ignored
    valid = completion_mask(v, gt)
    vectors, usable = miner_vectors(v, valid)
    has_result = asg & ~np.isnan(vectors).all(axis=-1)
    vectors = np.where(has_result[..., None], vectors, np.nan)

    external = np.asarray(np.isnan(gt).all(axis=-1))  # [T]
    truth_rows = np.where(valid, gt, np.nan)
    synthetic = has_spread(truth_rows)  # [T]: a truth with an order to agree with
    ranks = rank_last(vectors)  # ranked once, used by both signals
    constant = has_result & ~has_spread(vectors)

    rho_truth = pearson_last(ranks, rank_last(ranks_to_scores(truth_rows))[None])
    gt_score = np.where(synthetic[None] & has_result, np.where(constant, 0.0, rho_truth), np.nan)

    others, signal = weighted_consensus(ranks, has_result, weights, min_consensus, min_weight)
    signal &= external[None]
    rho_cons = pearson_last(ranks, rank_last(others))
    cons = np.where(signal, np.where(constant, 0.0, rho_cons), np.nan)

    task = np.where(synthetic[None], gt_score, np.where(external[None], cons, np.nan))
    task = np.where(has_result, task, 0.0)  # assigned, nothing usable: 0 whatever the task
    task = np.where(asg, task, np.nan)
    return RoundScores(task, gt_score, cons, vectors, has_result, usable & has_result[..., None], external)


def score_round(
    values: ArrayLike, ground_truth: ArrayLike, assigned: ArrayLike, reliability: ArrayLike | None = None
) -> FloatArray:
    """Signed task scores ``[M, T]`` in [−1, 1] for one round (NaN where not assigned or no signal).

    ``values`` float ``[M, T, L, C]`` (higher = better, NaN where absent; put answers on that axis
    with :func:`higher_is_better` first); ``ground_truth`` float ``[T, C]`` ranks, 0 = best, NaN for
    padding and the whole row NaN on an external task; ``assigned`` bool ``[M, T]``;
    ``reliability`` ``[M]`` (or ``[M, T]``) each miner's consensus vote weight on external tasks
    (the validator passes :func:`dojo.scoring.reliability` of the state before the round, shared
    within duplicate groups; None = 1 each).
    """
    return score_round_detail(values, ground_truth, assigned, reliability).task_scores


def labeller_grades(values: ArrayLike, ground_truth: ArrayLike) -> FloatArray:
    """Each labeller's own ground-truth agreement ``[M, T, L]`` in [0, 1], for feedback to miners.

    ``(ρ+1)/2`` of the labeller's answer against the hidden order: a grade to rank one's own
    labellers by, not a reward (rewards use the signed ρ). NaN where the slot is not usable or
    the task has no truth; 0 for a constant answer.
    """
    v = np.asarray(values, dtype=np.float64)
    gt = np.asarray(ground_truth, dtype=np.float64)
    valid = completion_mask(v, gt)
    real = valid[None, :, None, :]
    usable = (np.isfinite(v) | ~real).all(axis=-1) & np.asarray(valid.any(axis=-1))[None, :, None]
    answers = np.where(usable[..., None] & real, v, np.nan)
    truth = ranks_to_scores(np.where(valid, gt, np.nan))[None, :, None, :]
    grade = agreement(spearman_last(answers, truth))
    constant = usable & ~has_spread(answers)
    grade = np.where(constant, 0.0, grade)
    synthetic = has_spread(np.where(valid, gt, np.nan))
    return np.where(usable & synthetic[None, :, None], grade, np.nan)
