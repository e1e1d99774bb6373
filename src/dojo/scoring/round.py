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
* Ground-truth agreement = ``(ρ+1)/2`` with ρ the Spearman correlation of ``s_m`` and the truth
  (rank 0 = best, so against ``-rank``); a constant ``s_m`` scores 0. Ties get average ranks,
  and values are compared at 1e-9 so float rounding in means never breaks a tie.
* Consensus = ``(ρ+1)/2`` with ρ between ``s_m`` and the mean of the *other* miners' vectors that
  have a result, each vector taken as its ranks, so that a miner's scale (scores 1–10, a
  ranking, 0–100) neither weighs on the others' consensus nor changes its own score; it needs
  at least ``min_consensus`` (3) miners with results, and the others' mean must not be
  constant, else the task gives no consensus signal for that miner.
* Synthetic task: ``0.8·gt + 0.2·consensus``, or ``gt`` alone without a consensus signal.
  External task: ``consensus``; without a consensus signal the task says nothing about the
  miner and scores NaN (the running score then treats it like a task not assigned).
  A synthetic task whose truth has no spread (all ranks equal) counts as external.
* Assigned and no usable result: 0. Not assigned: NaN (its values, if any, are ignored).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dojo.scoring.spearman import FloatArray, agreement, has_spread, pearson_last, rank_last, spearman_last

GT_WEIGHT = 0.8
MIN_CONSENSUS = 3


@dataclass(frozen=True)
class RoundScores:
    """Everything :func:`score_round_detail` works out; ``task_scores`` is what the EMA takes."""

    task_scores: FloatArray  # [M, T] in [0, 1]; NaN where not assigned or no signal
    ground_truth: FloatArray  # [M, T] gt agreement in [0, 1]; NaN where undefined
    consensus: FloatArray  # [M, T] consensus agreement in [0, 1]; NaN where undefined
    vectors: FloatArray  # [M, T, C] each miner's mean over usable labellers; NaN where none
    has_result: NDArray[np.bool_]  # [M, T] assigned and at least one usable labeller
    usable: NDArray[np.bool_]  # [M, T, L] labeller slot counted


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


def _gt_agreement(ranks: FloatArray, constant: NDArray[np.bool_], truth: FloatArray) -> FloatArray:
    """Ground-truth agreement ``[M, T]`` from the miners' rank vectors and the truth ``[T, C]``
    (-rank, NaN padding): 0 for a constant vector, NaN without a result."""
    score = agreement(pearson_last(ranks, rank_last(truth)[None]))
    return np.where(constant, 0.0, score)


def _consensus(
    ranks: FloatArray, constant: NDArray[np.bool_], has_result: NDArray[np.bool_], min_consensus: int
) -> FloatArray:
    """Leave-one-out consensus agreement ``[M, T]`` over rank vectors; NaN where there is no signal."""
    n = has_result.sum(axis=0)  # [T]
    contrib = np.where(has_result[..., None], ranks, 0.0)
    total = contrib.sum(axis=0)  # [T, C]; NaN in padded slots
    with np.errstate(invalid="ignore", divide="ignore"):
        others = (total[None] - contrib) / (n[None, :, None] - 1)
    others = np.where(has_result[..., None] & ~np.isnan(ranks), others, np.nan)
    signal = has_result & (n >= min_consensus)[None] & has_spread(others)
    score = agreement(pearson_last(ranks, rank_last(others)))
    return np.where(signal, np.where(constant, 0.0, score), np.nan)


def score_round_detail(
    values: ArrayLike,
    ground_truth: ArrayLike,
    assigned: ArrayLike,
    *,
    gt_weight: float = GT_WEIGHT,
    min_consensus: int = MIN_CONSENSUS,
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

    v = np.where(asg[:, :, None, None], v, np.nan)  # results of miners not assigned are ignored
    valid = completion_mask(v, gt)
    vectors, usable = miner_vectors(v, valid)
    has_result = asg & ~np.isnan(vectors).all(axis=-1)
    vectors = np.where(has_result[..., None], vectors, np.nan)

    truth_rows = np.where(valid, gt, np.nan)
    synthetic = has_spread(truth_rows)  # [T]: a truth with an order to agree with
    ranks = rank_last(vectors)  # ranked once, used by both signals
    constant = has_result & ~has_spread(vectors)
    gt_score = _gt_agreement(ranks, constant, np.where(valid, -gt, np.nan))
    gt_score = np.where(synthetic[None] & has_result, gt_score, np.nan)
    cons = _consensus(ranks, constant, has_result, min_consensus)

    mixed = np.where(np.isnan(cons), gt_score, gt_weight * gt_score + (1.0 - gt_weight) * cons)
    task = np.where(synthetic[None], mixed, cons)
    task = np.where(has_result, task, 0.0)
    task = np.where(asg, np.clip(task, 0.0, 1.0), np.nan)
    return RoundScores(task, gt_score, cons, vectors, has_result, usable & has_result[..., None])


def score_round(values: ArrayLike, ground_truth: ArrayLike, assigned: ArrayLike) -> FloatArray:
    """Task scores ``[M, T]`` in [0, 1] for one round (NaN where not assigned or no signal).

    ``values`` float ``[M, T, L, C]`` (higher = better, NaN where absent; convert rankings with
    :func:`ranks_to_scores` first); ``ground_truth`` float ``[T, C]`` ranks, 0 = best, NaN for
    padding and the whole row NaN on an external task; ``assigned`` bool ``[M, T]``.
    """
    return score_round_detail(values, ground_truth, assigned).task_scores


def labeller_grades(values: ArrayLike, ground_truth: ArrayLike) -> FloatArray:
    """Each labeller's own ground-truth agreement ``[M, T, L]`` in [0, 1], for feedback.

    NaN where the slot is not usable or the task has no truth; 0 for a constant answer.
    """
    v = np.asarray(values, dtype=np.float64)
    gt = np.asarray(ground_truth, dtype=np.float64)
    valid = completion_mask(v, gt)
    real = valid[None, :, None, :]
    usable = (np.isfinite(v) | ~real).all(axis=-1) & np.asarray(valid.any(axis=-1))[None, :, None]
    answers = np.where(usable[..., None] & real, v, np.nan)
    truth = np.where(valid, -gt, np.nan)[None, :, None, :]
    grade = agreement(spearman_last(answers, truth))
    constant = usable & ~has_spread(answers)
    grade = np.where(constant, 0.0, grade)
    synthetic = has_spread(np.where(valid, gt, np.nan))
    return np.where(usable & synthetic[None, :, None], grade, np.nan)
