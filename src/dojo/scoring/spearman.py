"""Spearman correlation along the last axis of stacked, NaN-padded vectors.

Every vector in a batch may have a different set of valid entries (NaN = padding); ranks are
average ranks over the valid entries only, so ties are handled the way ``scipy.stats.spearmanr``
handles them. A vector with no spread (constant, or fewer than two valid entries) has no
defined correlation: the functions here return NaN for it and leave the policy to the caller.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata

FloatArray = NDArray[np.float64]

# Values are compared at this many decimals, so that float rounding in an average (a mean over
# labellers, a leave-one-out mean) never splits what is a tie in exact arithmetic.
TIE_DECIMALS = 9
# Below this sum of squared rank deviations a vector counts as constant (ranks are multiples
# of 0.5, so any real spread is far larger).
_MIN_SPREAD = 1e-9


def quantise(x: FloatArray) -> FloatArray:
    """``x`` rounded to :data:`TIE_DECIMALS` decimals (NaN stays NaN)."""
    return np.round(x, TIE_DECIMALS)


def rank_last(x: FloatArray) -> FloatArray:
    """Average ranks (1-based) along the last axis, ignoring NaN entries (which stay NaN)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return x.copy()
    return np.asarray(rankdata(quantise(x), axis=-1, nan_policy="omit"), dtype=np.float64)


def pearson_last(a: FloatArray, b: FloatArray) -> FloatArray:
    """Pearson correlation along the last axis over entries valid (non-NaN) in both.

    ``a`` and ``b`` broadcast against each other. NaN where either side has no spread.
    """
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    both = ~(np.isnan(a) | np.isnan(b))
    n = both.sum(axis=-1)
    safe_n = np.maximum(n, 1)
    a0 = np.where(both, a, 0.0)
    b0 = np.where(both, b, 0.0)
    da = np.where(both, a0 - (a0.sum(axis=-1) / safe_n)[..., None], 0.0)
    db = np.where(both, b0 - (b0.sum(axis=-1) / safe_n)[..., None], 0.0)
    saa = (da * da).sum(axis=-1)
    sbb = (db * db).sum(axis=-1)
    sab = (da * db).sum(axis=-1)
    defined = (n >= 2) & (saa > _MIN_SPREAD) & (sbb > _MIN_SPREAD)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = sab / np.sqrt(saa * sbb)
    return np.where(defined, np.clip(rho, -1.0, 1.0), np.nan)


def has_spread(x: FloatArray) -> NDArray[np.bool_]:
    """True where the vector along the last axis has at least two distinct valid values."""
    q = quantise(np.asarray(x, dtype=np.float64))
    if q.shape[-1] == 0:
        return np.zeros(q.shape[:-1], dtype=bool)
    hi = np.max(np.where(np.isnan(q), -np.inf, q), axis=-1)
    lo = np.min(np.where(np.isnan(q), np.inf, q), axis=-1)
    return np.isfinite(hi) & np.isfinite(lo) & (hi > lo)


def spearman_last(a: FloatArray, b: FloatArray) -> FloatArray:
    """Spearman ρ along the last axis (NaN = padding, average ranks for ties; NaN if undefined).

    Both sides are ranked over their own valid entries, so they should share NaN positions.
    """
    return pearson_last(rank_last(a), rank_last(b))


def agreement(rho: FloatArray) -> FloatArray:
    """ρ ∈ [-1, 1] mapped to [0, 1] as ``(ρ + 1) / 2`` (NaN stays NaN)."""
    return np.clip((np.asarray(rho, dtype=np.float64) + 1.0) / 2.0, 0.0, 1.0)


def mean_pairwise_agreement(vectors: FloatArray) -> float | None:
    """Labellers' agreement: the mean over every pair of rows of ``agreement(spearman)``, in [0, 1].

    ``vectors`` is [L, C] (one row per labeller). None with fewer than two rows or when no pair
    has a defined correlation (e.g. every row constant).
    """
    arr = np.asarray(vectors, dtype=np.float64)
    if arr.ndim != 2 or len(arr) < 2:
        return None
    i, j = np.triu_indices(len(arr), k=1)
    rho = spearman_last(arr[i], arr[j])
    if not np.isfinite(rho).any():
        return None
    return float(np.nanmean(agreement(rho)))
