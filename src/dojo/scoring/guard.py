"""Duplicate guard: one crew's answers sold to several hotkeys earn one reward (DESIGN §7).

Only shared content needs it: synthetic tasks are per-miner instances, so labels copied from
one hotkey's instance are worth nothing on another's. On **external** tasks (no ground truth,
the same content for every miner), two hotkeys are linked when their results are identical or
nearly identical, and linked hotkeys share one reward per task (and vote once in consensus).

"Nearly identical" is judged on what a copy shares and an independent crew does not — the
labellers' own idiosyncrasies:

1. Each miner's usable labeller rows on a task become z-scores over the miner's own cells, so
   a copy rescaled or shifted by a constant (1–10 → 10–100) lines up with its source.
2. For a pair of miners, labeller rows are matched by the permutation that fits best, so
   shuffled order and a dropped labeller do not hide a copy. Over the matched cells of every
   external task both answered: the mismatch ``A = Σ (z_i − z_j)²`` and the evidence ``B`` =
   the matched cells' spread around the pair's own mean per completion.
3. Two independent crews (truth + independent noise each) give ``A ≈ B``: their differences
   are as large as their spread. A copy gives ``A ≪ B``: it repeats the spread of its source.
   A pair is linked when ``A ≤ max_ratio · B`` with ``B ≥ min_evidence`` — answers without
   spread (every labeller on the consensus) carry no sign of copying, since two careful crews
   also give them — or when its results are exactly identical (after matching and rescaling)
   on every one of at least ``min_tasks`` shared tasks.
4. Links are transitive (connected components), so a crew behind three hotkeys is one group.

The limit is information, not arithmetic: a copy of a careful crew that changes about as many
cells as careful labellers disagree on looks exactly like another careful crew. Such resale
earns only on external tasks (a capped share of a miner's tasks) — its hotkeys score ≈ 0 on
their own synthetic instances, which is what keeps resale unprofitable.

Everything is array work over the (pair, external task) triples that exist — an external task
goes to a few miners, so this is far fewer than ``M² · T``; the loops are over the ``L!``
labeller permutations (6 for three labellers) and over blocks of miners, to bound memory.
"""

from __future__ import annotations

import hashlib
import json
from itertools import permutations
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from dojo.scoring.round import completion_mask, miner_vectors
from dojo.scoring.spearman import FloatArray

#: Identical results on at least this many shared external tasks link two hotkeys.
DUPLICATE_MIN_TASKS = 3
#: A pair is a near-duplicate when its mismatch ``A`` is at most this fraction of its evidence ``B``.
DUPLICATE_MAX_RATIO = 0.3
#: Spread of the matched cells (squared z-units) needed before a near-match counts; one cell ±1 on
#: a 1–10 scale is ≈ 0.09.
DUPLICATE_MIN_EVIDENCE = 0.2

# Matching by permutation above this many labeller slots would be too slow (L!); rows are then
# put in a canonical order instead (by a weighted sum of the row), which survives shuffling.
_MAX_PERMUTED_SLOTS = 5
_EXACT = 1e-12
_TIE = 1e-9
_MASK_63 = (1 << 63) - 1


def _canonical(obj: Any) -> Any:
    """A JSON-ready copy with mapping keys as strings and floats normalised (7 == 7.0)."""
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, (int, float, np.integer, np.floating)):
        return float(obj)
    if hasattr(obj, "model_dump"):
        return _canonical(obj.model_dump(mode="json"))
    return str(obj)


def result_fingerprint(results: Any) -> int:
    """A stable, never-zero 63-bit hash of a miner's raw results for one task (kept for audit).

    ``results`` is any JSON-like structure (e.g. ``{labeller_id: {completion_id: value}}`` or a
    list of ``LabellerResult``); mapping order and the order of a top-level list do not matter.
    Returns 0 only for "no result" (``None`` or empty). The guard itself compares raw values
    (:func:`near_duplicate_links`), which also catches copies that were slightly changed.
    """
    if results is None or (hasattr(results, "__len__") and len(results) == 0):
        return 0
    data = _canonical(results)
    if isinstance(data, list):
        data = sorted(json.dumps(item, sort_keys=True, separators=(",", ":")) for item in data)
    blob = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    value = int.from_bytes(hashlib.blake2b(blob, digest_size=8).digest(), "big") & _MASK_63
    return value or 1


def _zscores(values: FloatArray, ground_truth: FloatArray, assigned: NDArray[np.bool_]) -> FloatArray:
    """``[M, E, L, C]`` each usable labeller cell on the external tasks as a z-score over the miner's
    own cells of that task (NaN elsewhere); usable rows first, in a canonical order when there
    are too many slots to try every permutation."""
    valid = completion_mask(values, ground_truth, assigned)  # [E, C]
    v = np.where(assigned[:, :, None, None], values, np.nan)
    _, usable = miner_vectors(v, valid)  # [M, E, L]
    cells = usable[..., None] & valid[None, :, None, :]
    x = np.where(cells, v, 0.0)
    n = np.maximum(cells.sum(axis=(2, 3)), 1)[..., None, None]
    mu = x.sum(axis=(2, 3), keepdims=True) / n
    sd = np.sqrt((np.where(cells, x - mu, 0.0) ** 2).sum(axis=(2, 3), keepdims=True) / n)
    z = np.where(cells, (x - mu) / np.where(sd > 1e-9, sd, 1.0), np.nan)
    key = np.where(usable, 0.0, 1.0)  # usable rows first
    if z.shape[2] > _MAX_PERMUTED_SLOTS:
        key = key * 1e12 + np.nansum(np.where(cells, z, 0.0) * np.arange(1, z.shape[3] + 1), axis=-1)
    order = np.argsort(key, axis=2, kind="stable")
    return np.take_along_axis(z, order[..., None], axis=2)


def _pair_block(
    z0: FloatArray,
    rows: NDArray[np.bool_],
    gram: FloatArray,
    i: NDArray[np.intp],
    j: NDArray[np.intp],
    e: NDArray[np.intp],
) -> tuple[FloatArray, FloatArray]:
    """``A`` and ``B`` ``[P]`` of the pairs (miner ``i``, miner ``j``, task ``e``) under the best row matching.

    ``z0 [M, E, L, C]`` z-scores with 0 for absent rows and padding, ``rows [M, E, L]`` usable
    rows, ``gram [M, E, L, L]`` each miner's row products. Works on ``L × L`` products per pair,
    so each permutation costs a few small products rather than a pass over every cell.
    """
    vi, vj = rows[i, e], rows[j, e]  # [P, L]
    g = np.einsum("plc,pkc->plk", z0[i, e], z0[j, e])  # cross products of i's rows with j's
    kii, kjj = gram[i, e], gram[j, e]  # [P, L, L] each miner's own
    ni = np.einsum("pll->pl", kii)  # squared norms of the rows
    nj = np.einsum("pll->pl", kjj)
    want = np.minimum(vi.sum(axis=-1), vj.sum(axis=-1))  # rows a full matching of the smaller crew pairs
    slots = z0.shape[2]
    perms = list(permutations(range(slots))) if slots <= _MAX_PERMUTED_SLOTS else [tuple(range(slots))]
    best_cost = np.full(len(i), np.inf)
    best_a = np.zeros(len(i))
    best_b = np.full(len(i), np.inf)
    for perm in perms:
        pi = list(perm)  # row l of i is matched with row pi[l] of j
        gp = g[:, :, pi]
        m = (vi & vj[:, pi]).astype(np.float64)
        k = m.sum(axis=-1)
        njp = nj[:, pi]
        a = (m * (ni + njp - 2.0 * np.einsum("pll->pl", gp))).sum(axis=-1)
        # evidence: the matched cells' spread around the pair's own mean of each completion
        mm = m[:, :, None] * m[:, None, :]
        cols = (mm * (kii + 2.0 * gp + kjj[:, pi][:, :, pi])).sum(axis=(-1, -2))
        with np.errstate(invalid="ignore", divide="ignore"):
            b = (m * (ni + njp)).sum(axis=-1) - np.where(k > 0, cols / (2.0 * np.maximum(k, 1.0)), 0.0)
        b = np.maximum(b, 0.0)
        a = np.maximum(a, 0.0)
        cost = a + 1e6 * (want - k)  # a full matching first
        # the best fit; among equal fits the one with less evidence (the cautious choice)
        better = (cost < best_cost - _TIE) | ((cost <= best_cost + _TIE) & (b < best_b))
        best_cost = np.where(better, cost, best_cost)
        best_a = np.where(better, a, best_a)
        best_b = np.where(better, b, best_b)
    return best_a, best_b


def pair_evidence(
    values: ArrayLike, ground_truth: ArrayLike, assigned: ArrayLike, block: int = 16
) -> tuple[FloatArray, FloatArray, NDArray[np.int64], NDArray[np.int64]]:
    """Per pair of miners ``[M, M]``, over the external tasks both answered: mismatch ``A``,
    evidence ``B``, shared tasks, and shared tasks answered identically (see the module docstring).

    ``values [M, T, L, C]``, ``ground_truth [T, C]`` (external tasks: whole row NaN), ``assigned
    [M, T]``. Symmetric; the diagonal is 0. Only pairs that share a task cost anything: the
    work is over (pair, task) triples, in blocks of ``block`` miners.
    """
    v = np.asarray(values, dtype=np.float64)
    gt = np.asarray(ground_truth, dtype=np.float64)
    asg = np.asarray(assigned, dtype=bool)
    m = v.shape[0]
    ext = np.isnan(gt).all(axis=-1)
    a_sum = np.zeros(m * m)
    b_sum = np.zeros(m * m)
    shared = np.zeros(m * m, dtype=np.int64)
    same = np.zeros(m * m, dtype=np.int64)
    if m > 0 and ext.any():
        z = _zscores(v[:, ext], gt[ext], asg[:, ext])  # [M, E, L, C]
        rows = np.asarray(np.isfinite(z).any(axis=-1))  # [M, E, L] usable rows
        z0 = np.where(np.isfinite(z), z, 0.0)
        gram = np.einsum("melc,mekc->melk", z0, z0)  # [M, E, L, L]
        answered = np.asarray(rows.any(axis=-1))  # [M, E]
        upper = np.arange(m)[:, None] < np.arange(m)[None, :]  # each pair once, i < j
        for start in range(0, m, block):
            both = answered[start : start + block, None, :] & answered[None] & upper[start : start + block, :, None]
            bi, j, e = np.nonzero(both)
            if len(bi) == 0:
                continue
            i = bi + start
            a, b = _pair_block(z0, rows, gram, i, j, e)
            flat = i * m + j
            a_sum += np.bincount(flat, weights=a, minlength=m * m)
            b_sum += np.bincount(flat, weights=b, minlength=m * m)
            shared += np.bincount(flat, minlength=m * m)
            same += np.bincount(flat, weights=(a <= _EXACT).astype(np.float64), minlength=m * m).astype(np.int64)
    a_mat, b_mat = a_sum.reshape(m, m), b_sum.reshape(m, m)
    s_mat, e_mat = shared.reshape(m, m), same.reshape(m, m)
    return a_mat + a_mat.T, b_mat + b_mat.T, s_mat + s_mat.T, e_mat + e_mat.T


def near_duplicate_links(
    values: ArrayLike,
    ground_truth: ArrayLike,
    assigned: ArrayLike,
    *,
    min_tasks: int = DUPLICATE_MIN_TASKS,
    max_ratio: float = DUPLICATE_MAX_RATIO,
    min_evidence: float = DUPLICATE_MIN_EVIDENCE,
) -> NDArray[np.bool_]:
    """``[M, M]`` symmetric: miners whose results on shared external tasks are (nearly) identical."""
    a, b, shared, same = pair_evidence(values, ground_truth, assigned)
    near = (shared > 0) & (b >= min_evidence) & (a <= max_ratio * b)
    exact = (same >= max(int(min_tasks), 1)) & (same == shared)
    links = near | exact
    np.fill_diagonal(links, False)
    return np.asarray(links)


def duplicate_groups(links: ArrayLike) -> NDArray[np.int64]:
    """Label ``[M]`` of each miner's duplicate group: miners linked directly or through others share a label."""
    lk = np.asarray(links, dtype=bool)
    if lk.size == 0:
        return np.zeros(0, dtype=np.int64)
    _, labels = connected_components(csr_matrix(lk), directed=False)
    return np.asarray(labels, dtype=np.int64)


def group_share(groups: ArrayLike, shared: ArrayLike) -> NDArray[np.int64]:
    """``[M, T]``: how many members of each miner's duplicate group have a shared cell on the task
    (at least 1, also where the miner has none)."""
    g = np.asarray(groups)
    sh = np.asarray(shared, dtype=bool)
    if sh.ndim != 2 or g.shape != sh.shape[:1]:
        raise ValueError(f"groups {g.shape} and shared {sh.shape} must be [M] and [M, T]")
    same_group = (g[:, None] == g[None, :]).astype(np.int64)  # [M, M]
    k = same_group @ sh.astype(np.int64)
    return np.asarray(np.where(sh, np.maximum(k, 1), 1), dtype=np.int64)


def duplicate_guard(task_scores: ArrayLike, groups: ArrayLike, shared: ArrayLike) -> FloatArray:
    """Task scores ``[M, T]`` with duplicated rewards shared.

    ``groups [M]`` labels from :func:`duplicate_groups`; ``shared [M, T]`` marks the cells
    that count as shared content (a result on an external task). On each task, the ``k``
    members of a group with a shared cell each get ``score / k`` when the score is positive
    (a penalty is never shared away). Other cells and NaN are unchanged.
    """
    scores = np.asarray(task_scores, dtype=np.float64)
    sh = np.asarray(shared, dtype=bool)
    if sh.shape != scores.shape:
        raise ValueError(f"task_scores {scores.shape} and shared {sh.shape} must have the same shape [M, T]")
    if scores.size == 0:
        return scores.copy()
    k = group_share(groups, sh)
    return np.where((k > 1) & (scores > 0), scores / k, scores)
