"""Learned bots: what a miner fits on the orders the validator reveals after each deadline.

Each answer is described by every feature, raw and normalised within its task (z-score and rank
among the task's answers), so a model can learn "longer than its siblings" as well as "long".
Models are fitted on some tasks with their true order and score the others (cross-fitting:
every task is scored by a model that never saw it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.stats import rankdata

from .features import Features


def design(f: Features, skip: str | None = None) -> np.ndarray:
    """One row per answer: raw features, within-task z-scores, within-task rank in [0, 1], the prompt's shape.

    ``skip`` leaves out the features whose names start with it (e.g. ``"run_"``: no script running).
    """
    x = f.values if skip is None else f.values[:, [i for i, n in enumerate(f.names) if not n.startswith(skip)]]
    n = len(x)
    sd = x.std(axis=0)
    z = np.where(sd > 0, (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0), 0.0)
    r = (rankdata(x, axis=0) - 1.0) / max(1, n - 1)
    shape = np.tile(f.extra.get("prompt", np.zeros(0)), (n, 1))
    return np.hstack([x, z, r, shape])


def surface_design(f: Features) -> np.ndarray:
    """:func:`design` without what running the page's scripts gives (the surface alone)."""
    return design(f, skip="run_")


def bag(f: Features) -> Any:
    """One sparse row per answer: the hashed tokens it holds."""
    return f.extra["bag"]


def decoded_bag(f: Features) -> Any:
    """One sparse row per answer: the hashed ``path=value`` pairs of what its scripts decode."""
    return f.extra["decoded_bag"]


def _target(ranks: np.ndarray) -> np.ndarray:
    n = len(ranks)
    return 1.0 - np.asarray(ranks, dtype=float) / max(1, n - 1)


def _pairs(x: Any, ranks: np.ndarray | None = None) -> tuple[Any, np.ndarray, list[tuple[int, int]]]:
    """Row differences for every ordered pair of answers (dense or sparse rows), and "i beats j" labels."""
    n = x.shape[0]
    idx = [(i, j) for i in range(n) for j in range(n) if i != j]
    diff = x[[i for i, _ in idx]] - x[[j for _, j in idx]]
    label = np.array([int(ranks[i] < ranks[j]) for i, j in idx]) if ranks is not None else np.zeros(len(idx), int)
    return diff, label, idx


def _stack(parts: Sequence[Any]) -> Any:
    import scipy.sparse as sp

    return sp.vstack(parts, format="csr") if sp.issparse(parts[0]) else np.vstack(parts)


class Pointwise:
    """Regress each answer's normalised rank (1 = best) on its features."""

    def __init__(self, model: Any, inputs: Callable[[Features], Any] = design) -> None:
        self.model = model
        self.inputs = inputs

    def fit(self, xs: Sequence[Any], ranks: Sequence[np.ndarray]) -> Pointwise:
        self.model.fit(_stack(xs), np.concatenate([_target(r) for r in ranks]))
        return self

    def score(self, x: Any) -> np.ndarray:
        return np.asarray(self.model.predict(x), dtype=float)


class Pairwise:
    """Classify "answer i beats answer j" from the difference of their features; score = expected wins."""

    def __init__(self, model: Any, inputs: Callable[[Features], Any] = design) -> None:
        self.model = model
        self.inputs = inputs

    def fit(self, xs: Sequence[Any], ranks: Sequence[np.ndarray]) -> Pairwise:
        parts = [_pairs(x, r) for x, r in zip(xs, ranks, strict=True)]
        self.model.fit(_stack([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
        return self

    def score(self, x: Any) -> np.ndarray:
        diff, _, idx = _pairs(x)
        p = self.model.predict_proba(diff)[:, 1]
        out = np.zeros(x.shape[0])
        for (i, _j), pij in zip(idx, p, strict=True):
            out[i] += pij
        return out


def _hgb_regressor(seed: int) -> Pointwise:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return Pointwise(HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05, random_state=seed))


def _hgb_pairwise(seed: int) -> Pairwise:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return Pairwise(HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=seed))


def _hgb_pairwise_surface(seed: int) -> Pairwise:
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=seed)
    return Pairwise(model, inputs=surface_design)


def _logistic_pairwise(seed: int) -> Pairwise:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return Pairwise(make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=5000, random_state=seed)))


def _tokens_pairwise(seed: int) -> Pairwise:
    from sklearn.linear_model import LogisticRegression

    return Pairwise(LogisticRegression(C=1.0, max_iter=5000, random_state=seed), inputs=bag)


def _decoded_pairwise(seed: int) -> Pairwise:
    from sklearn.linear_model import LogisticRegression

    return Pairwise(LogisticRegression(C=1.0, max_iter=5000, random_state=seed), inputs=decoded_bag)


#: name → factory(seed); each is fitted fresh per fold.
LEARNERS: dict[str, Callable[[int], Pointwise | Pairwise]] = {
    "learned: boosted trees, pointwise": _hgb_regressor,
    "learned: boosted trees, pairwise": _hgb_pairwise,
    "learned: boosted trees, pairwise, without running scripts": _hgb_pairwise_surface,
    "learned: logistic regression, pairwise": _logistic_pairwise,
    "learned: which tokens an answer holds, pairwise": _tokens_pairwise,
    "learned: which values its scripts decode, pairwise": _decoded_pairwise,
}


def folds_of(n_tasks: int, k: int, seed: int) -> np.ndarray:
    """A fold number per task, balanced and shuffled."""
    fold = np.arange(n_tasks) % k
    np.random.default_rng(seed).shuffle(fold)
    return fold


def cross_fit(
    learner: Callable[[int], Pointwise | Pairwise],
    features: Sequence[Features],
    ranks: Sequence[np.ndarray],
    k: int = 2,
    seed: int = 0,
) -> list[np.ndarray]:
    """Scores for every task from a model fitted on the other folds' tasks and their revealed orders."""
    fold = folds_of(len(features), k, seed)
    out: list[np.ndarray] = [np.zeros(0)] * len(features)
    xs: list[Any] = []
    for held in range(k):
        model = learner(seed + held)
        xs = xs or [model.inputs(f) for f in features]
        train = [i for i in range(len(xs)) if fold[i] != held]
        model.fit([xs[i] for i in train], [ranks[i] for i in train])
        for i in np.flatnonzero(fold == held):
            out[i] = model.score(xs[i])
    return out
