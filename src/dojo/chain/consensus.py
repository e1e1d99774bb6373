"""The local chain's maths, pure NumPy: weight normalisation, validator permits, simplified Yuma."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]


def normalize_clip(values: Floats, max_weight: float) -> Floats:
    """Normalise non-negative ``values`` to sum 1 with no entry above ``max_weight``.

    The excess of clipped entries is handed to the others in proportion to their weight, until
    nothing is above the cap. When the cap cannot be met (``max_weight * n_nonzero < 1``) the
    non-zero entries end up equal, which is the closest feasible answer.
    """
    w = np.asarray(values, dtype=np.float64).copy()
    if w.ndim != 1 or w.size == 0:
        raise ValueError("weights must be a non-empty vector")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")
    total = w.sum()
    if total <= 0:
        raise ValueError("weights must not all be zero")
    w /= total
    nonzero = w > 0
    if max_weight * nonzero.sum() < 1.0:
        out = np.zeros_like(w)
        out[nonzero] = 1.0 / nonzero.sum()
        return out
    for _ in range(w.size + 1):
        over = w > max_weight + 1e-12
        if not over.any():
            break
        free = ~over & (w > 0) & (w < max_weight)
        excess = float((w[over] - max_weight).sum())
        w[over] = max_weight
        if not free.any():
            break
        w[free] += excess * w[free] / w[free].sum()
    return w / w.sum()


def validator_permits(stakes: Floats, max_validators: int, min_stake: float) -> NDArray[np.bool_]:
    """Permit for the ``max_validators`` largest stakes (ties: lower uid), or stake ≥ ``min_stake``; never for 0 stake."""
    stakes = np.asarray(stakes, dtype=np.float64)
    permits = stakes >= min_stake
    order = np.lexsort((np.arange(stakes.size), -stakes))  # stake descending, then uid ascending
    top = order[: max(0, max_validators)]
    permits[top[stakes[top] > 0]] = True
    return permits & (stakes > 0)


def consensus_weights(weights: Floats, stakes: Floats, kappa: float = 0.5) -> Floats:
    """Stake-weighted median per column: the largest ``w`` that validators holding ≥ ``kappa`` of stake give at least.

    ``weights`` is [validators, uids] (each row normalised), ``stakes`` [validators].
    """
    weights = np.asarray(weights, dtype=np.float64)
    stakes = np.asarray(stakes, dtype=np.float64)
    n_val, n_uid = weights.shape
    if n_val == 0 or stakes.sum() <= 0:
        return np.zeros(n_uid)
    share = stakes / stakes.sum()
    order = np.argsort(-weights, axis=0, kind="stable")  # per column, weights descending
    sorted_w = np.take_along_axis(weights, order, axis=0)
    support = np.cumsum(share[order], axis=0)  # stake giving at least sorted_w[k, j]
    reached = support >= kappa - 1e-12
    first = np.argmax(reached, axis=0)  # first row where kappa is reached
    return sorted_w[first, np.arange(n_uid)]


def epoch_emission(weights: Floats, stakes: Floats, emission: float) -> Floats:
    """Split ``emission`` over uids in proportion to the consensus weights (zeros when there is none)."""
    c = consensus_weights(weights, stakes)
    total = c.sum()
    if total <= 0:
        return np.zeros_like(c)
    return emission * c / total
