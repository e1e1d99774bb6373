"""A straightforward per-task, per-miner reference of the scoring rules, built on scipy.stats.spearmanr.

It restates dojo.scoring.round's documented rules one task and one miner at a time, so the
property tests can check the vectorised engine against it.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata, spearmanr


def _q(x: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(x, dtype=np.float64), 9)


def _spread(x: np.ndarray) -> bool:
    return len(np.unique(_q(x))) >= 2


def _rho(a: np.ndarray, b: np.ndarray) -> float:
    return float(spearmanr(_q(a), _q(b)).statistic)


def reference_round(
    values: np.ndarray,
    gt: np.ndarray,
    assigned: np.ndarray,
    reliability: np.ndarray | None = None,
    min_consensus: int = 1,
    min_weight: float = 1e-6,
) -> np.ndarray:
    """Signed task scores [M, T], one task and one miner at a time."""
    m_count, t_count, l_count, _ = values.shape
    weights = np.ones(m_count) if reliability is None else np.maximum(np.nan_to_num(reliability), 0.0)
    out = np.full((m_count, t_count), np.nan)
    for t in range(t_count):
        external = bool(np.isnan(gt[t]).all())
        if external:
            valid = np.zeros(gt.shape[1], dtype=bool)
            for m in range(m_count):
                if assigned[m, t]:
                    valid |= np.isfinite(values[m, t]).any(axis=0)
        else:
            valid = ~np.isnan(gt[t])
        vectors: dict[int, np.ndarray] = {}
        for m in range(m_count):
            if not assigned[m, t] or not valid.any():
                continue
            rows = [values[m, t, lab][valid] for lab in range(l_count) if np.isfinite(values[m, t, lab][valid]).all()]
            if rows:
                vectors[m] = np.mean(rows, axis=0)
        truth = gt[t][valid]
        synthetic = not external and _spread(truth)
        for m in range(m_count):
            if not assigned[m, t]:
                continue
            if m not in vectors:
                out[m, t] = 0.0
                continue
            s = vectors[m]
            constant = not _spread(s)
            if synthetic:
                out[m, t] = 0.0 if constant else _rho(s, -truth)
            elif external:
                voters = [o for o in vectors if o != m and weights[o] > 0]
                total = sum(weights[o] for o in voters)
                if len(voters) < min_consensus or total <= min_weight:
                    continue  # no signal: NaN
                others = sum(weights[o] * rankdata(_q(vectors[o])) for o in voters) / total
                if not _spread(others):
                    continue
                out[m, t] = 0.0 if constant else _rho(s, others)
            # a truth without spread: NaN
    return out
