"""Duplicate guard: one crew selling the same answers to many hotkeys gets one reward (DESIGN §7)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from dojo.scoring.spearman import FloatArray

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
    """A stable, never-zero 63-bit hash of a miner's raw results for one task.

    ``results`` is any JSON-like structure (e.g. ``{labeller_id: {completion_id: value}}`` or a
    list of ``LabellerResult``); mapping order and the order of a top-level list do not matter,
    so re-ordering copied answers does not evade the guard. Key results by the task's canonical
    completion ids (not a miner's shuffled slots) so copies compare equal across miners.
    Returns 0 only for "no result" (``None`` or empty), which the guard ignores.
    """
    if results is None or (hasattr(results, "__len__") and len(results) == 0):
        return 0
    data = _canonical(results)
    if isinstance(data, list):
        data = sorted(json.dumps(item, sort_keys=True, separators=(",", ":")) for item in data)
    blob = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    value = int.from_bytes(hashlib.blake2b(blob, digest_size=8).digest(), "big") & _MASK_63
    return value or 1


def _same(fp: np.ndarray) -> np.ndarray:
    """``[M, M, T]``: miners i and j returned the same non-empty result on task t."""
    return (fp[:, None, :] == fp[None, :, :]) & (fp != 0)[:, None, :]


def _labels(same: np.ndarray, min_tasks: int) -> np.ndarray:
    linked = same.sum(axis=-1) >= max(int(min_tasks), 1)
    _, labels = connected_components(csr_matrix(linked), directed=False)
    return np.asarray(labels)


def duplicate_groups(fingerprints: ArrayLike, min_tasks: int = 3) -> np.ndarray:
    """Label ``[M]`` of each miner's duplicate group: miners linked (directly or through others)
    by identical non-zero fingerprints on at least ``min_tasks`` tasks share a label."""
    fp = np.asarray(fingerprints, dtype=np.int64)
    return _labels(_same(fp), min_tasks)


def duplicate_guard(fingerprints: ArrayLike, task_scores: ArrayLike, min_tasks: int = 3) -> FloatArray:
    """Task scores ``[M, T]`` with duplicated rewards shared.

    Miners whose fingerprints (int64 ``[M, T]``, 0 = no result) are identical on at least
    ``min_tasks`` tasks form a group (transitively). On each task, the ``k`` members of a group
    that returned that same result each get ``score / k``; tasks where their results differ, and
    miners outside any group, are unchanged. NaN (not assigned) stays NaN.
    """
    fp = np.asarray(fingerprints, dtype=np.int64)
    scores = np.asarray(task_scores, dtype=np.float64)
    if fp.shape != scores.shape:
        raise ValueError(f"fingerprints {fp.shape} and task_scores {scores.shape} must have the same shape")
    if fp.size == 0:
        return scores.copy()
    same = _same(fp)
    labels = _labels(same, min_tasks)
    group = labels[:, None] == labels[None, :]
    k = (same & group[..., None]).sum(axis=1)  # [M, T], 1 for a unique result (itself), 0 for none
    return np.where(k > 1, scores / np.maximum(k, 1), scores)
