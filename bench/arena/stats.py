"""How well a bot's scores match the hidden order: Spearman ρ per task, its mean and interval over tasks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

#: The arena's figure (DESIGN §8): a bot is within chance when its mean ρ is at most this, in either direction.
MAX_MEAN_RHO = 0.10


def spearman(scores: np.ndarray, ranks: np.ndarray) -> float:
    """ρ between a bot's scores (higher = better) and the true ranks (0 = best); 0 when either is flat."""
    a = rankdata(scores)
    b = rankdata(-np.asarray(ranks, dtype=float))
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def perfect(scores: np.ndarray, ranks: np.ndarray) -> bool:
    """The scores order every answer exactly as the truth does (no ties)."""
    scores = np.asarray(scores, dtype=float)
    if len(np.unique(scores)) < len(scores):
        return False
    return bool((np.argsort(-scores) == np.argsort(np.asarray(ranks))).all())


def bootstrap_interval(values: np.ndarray, seed: int = 0, resamples: int = 2000) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean (tasks resampled with replacement)."""
    if len(values) < 2 or resamples <= 0 or values.std() == 0:
        m = float(values.mean()) if len(values) else 0.0
        return m, m
    idx = np.random.default_rng(seed).integers(0, len(values), size=(resamples, len(values)))
    means = values[idx].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


@dataclass(frozen=True)
class Summary:
    """One bot over the scored tasks."""

    name: str
    tasks: int
    mean_rho: float
    low: float
    high: float
    perfect_share: float  # in the bot's better direction (a miner would flip a bot that is reliably wrong)

    @property
    def passes(self) -> bool:
        return abs(self.mean_rho) <= MAX_MEAN_RHO


@dataclass(frozen=True)
class PerTask:
    """A bot's result on each task: ρ, and whether it ordered the task perfectly either way round."""

    rho: np.ndarray
    perfect_up: np.ndarray
    perfect_down: np.ndarray

    @classmethod
    def of(cls, scores: Sequence[np.ndarray], ranks: Sequence[np.ndarray]) -> PerTask:
        pairs = list(zip(scores, ranks, strict=True))
        return cls(
            rho=np.array([spearman(s, r) for s, r in pairs], dtype=float),
            perfect_up=np.array([perfect(s, r) for s, r in pairs], dtype=bool),
            perfect_down=np.array([perfect(-np.asarray(s, dtype=float), r) for s, r in pairs], dtype=bool),
        )

    def subset(self, idx: Sequence[int]) -> PerTask:
        """The same bot on some of the tasks."""
        i = np.asarray(idx, dtype=int)
        return PerTask(self.rho[i], self.perfect_up[i], self.perfect_down[i])


def summarise(name: str, per_task: PerTask, seed: int = 0, resamples: int = 2000) -> Summary:
    """Mean ρ over tasks with a 95% bootstrap interval (over tasks), and the share ordered perfectly."""
    rhos = per_task.rho
    mean = float(rhos.mean()) if len(rhos) else 0.0
    low, high = bootstrap_interval(rhos, seed, resamples)
    hits = per_task.perfect_down if mean < 0 else per_task.perfect_up
    share = float(hits.mean()) if len(hits) else 0.0
    return Summary(name=name, tasks=len(rhos), mean_rho=mean, low=low, high=high, perfect_share=share)
