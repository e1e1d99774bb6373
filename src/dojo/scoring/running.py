"""Running scores across rounds and the weights set on the chain (DESIGN §7)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from dojo.scoring.spearman import FloatArray

ALPHA = 0.3
DECAY = 0.01


def round_means(task_scores: ArrayLike) -> FloatArray:
    """Each miner's mean task score ``[M]`` over the tasks that count (non-NaN); NaN if none."""
    s = np.asarray(task_scores, dtype=np.float64)
    counted = ~np.isnan(s)
    n = counted.sum(axis=-1)
    total = np.where(counted, s, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def update_running(prev: ArrayLike, task_scores: ArrayLike, alpha: float = ALPHA, decay: float = DECAY) -> FloatArray:
    """Fold one round into the running scores ``[M]``.

    A miner with at least one counted task (non-NaN in ``task_scores [M, T]``; a task assigned
    but unanswered counts as 0) moves to ``(1-alpha)·prev + alpha·mean``; a miner with none
    keeps ``prev - decay``, never below 0. NaN in ``prev`` is read as 0.
    """
    p = np.nan_to_num(np.asarray(prev, dtype=np.float64), nan=0.0)
    s = np.asarray(task_scores, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] != p.shape[0]:
        raise ValueError(f"task_scores must be [miners, tasks] with {p.shape[0]} miners, got {s.shape}")
    mean = round_means(s)
    active = ~np.isnan(mean)
    ema = (1.0 - alpha) * p + alpha * np.where(active, mean, 0.0)
    return np.where(active, ema, np.maximum(p - decay, 0.0))


def reset_changed(
    prev_scores: ArrayLike, prev_hotkeys: Sequence[str | None], hotkeys: Sequence[str | None]
) -> FloatArray:
    """Running scores ``[len(hotkeys)]`` with every uid whose hotkey changed (or is new) at 0.

    ``prev_scores[i]`` belonged to ``prev_hotkeys[i]``; ``hotkeys`` is the metagraph now. The
    metagraph may have grown or shrunk: new uids start from 0, vanished ones are dropped.
    """
    prev = np.asarray(prev_scores, dtype=np.float64)
    if prev.shape[0] != len(prev_hotkeys):
        raise ValueError(f"prev_scores has {prev.shape[0]} entries but prev_hotkeys {len(prev_hotkeys)}")
    out = np.zeros(len(hotkeys), dtype=np.float64)
    n = min(len(hotkeys), len(prev_hotkeys))
    if n:
        old = np.asarray(list(prev_hotkeys[:n]), dtype=object)
        new = np.asarray(list(hotkeys[:n]), dtype=object)
        keep = (old == new) & (new != None)  # noqa: E711 — element-wise comparison on an object array
        out[:n] = np.where(keep, np.nan_to_num(prev[:n], nan=0.0), 0.0)
    return out


def to_weights(running: ArrayLike, max_weight: float) -> FloatArray:
    """Weights ``[M]`` from running scores: non-negative, sum 1, none above ``max_weight`` where feasible.

    Negative and NaN scores count as 0; all zero gives uniform weights. Entries over the cap are
    set to it and the excess is shared among the others in proportion to their scores (evenly
    among zero-score entries once every scored entry is capped), repeated until nothing exceeds
    the cap. If ``M · max_weight < 1`` no weighting can respect the cap: the weights are uniform.
    """
    w = np.nan_to_num(np.asarray(running, dtype=np.float64), nan=0.0)
    w = np.where(w > 0, w, 0.0)
    m = w.shape[0]
    if m == 0:
        return w
    if w.sum() <= 0 or m * max_weight <= 1.0:
        return np.full(m, 1.0 / m)
    w = w / w.sum()
    capped = np.zeros(m, dtype=bool)
    for _ in range(m):  # each pass caps at least one more entry, so this ends within m passes
        over = ~capped & (w > max_weight * (1 + 1e-12))
        if not over.any():
            break
        capped |= over
        free = 1.0 - max_weight * capped.sum()
        rest = np.where(capped, 0.0, w)
        if rest.sum() > 0:
            rest = rest / rest.sum() * free
        else:
            rest = np.where(capped, 0.0, free / (~capped).sum())
        w = np.where(capped, max_weight, rest)
    return w / w.sum()
