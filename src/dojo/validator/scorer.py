"""Scoring glue: a stored round → the arrays of ``dojo.scoring`` → scores to store. Whole round at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dojo import scoring
from dojo.validator.store.records import RoundForScoring, RoundScores


@dataclass(frozen=True)
class ScoringParams:
    """The knobs of the running score."""

    alpha: float = scoring.ALPHA
    decay: float = scoring.DECAY
    duplicate_min_tasks: int = 3


def _arrays(
    rnd: RoundForScoring,
) -> tuple[
    list[tuple[int, str]],
    list[str],
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    dict[tuple[int, int, int], tuple[int, str]],
]:
    tasks = [t for t in rnd.tasks if t.state != "expired"]
    t_index = {t.id: i for i, t in enumerate(tasks)}
    miners = sorted({(a.uid, a.hotkey) for a in rnd.assignments if a.task_id in t_index})
    m_index = {k: i for i, k in enumerate(miners)}
    n_c = max((len(t.completion_ids) for t in tasks), default=2)
    labs: dict[int, list[str]] = {}
    for a in rnd.assignments:
        seen = labs.setdefault(a.id, [])
        for r in a.rows:
            if r.labeller_id not in seen:
                seen.append(r.labeller_id)
    n_l = max((len(v) for v in labs.values()), default=1) or 1
    values = np.full((len(miners), len(tasks), n_l, n_c), np.nan)
    gt = np.full((len(tasks), n_c), np.nan)
    assigned = np.zeros((len(miners), len(tasks)), dtype=bool)
    fps = np.zeros((len(miners), len(tasks)), dtype=np.int64)
    slots: dict[tuple[int, int, int], tuple[int, str]] = {}  # (m, t, l) -> (assignment id, labeller id)
    c_index = {t.id: {c: j for j, c in enumerate(t.completion_ids)} for t in tasks}
    for ti, t in enumerate(tasks):
        if t.ground_truth:
            for c, rank in t.ground_truth.items():
                gt[ti, c_index[t.id][c]] = rank
    for a in rnd.assignments:
        if a.task_id not in t_index:
            continue
        mi, ti = m_index[(a.uid, a.hotkey)], t_index[a.task_id]
        assigned[mi, ti] = True
        fps[mi, ti] = a.fingerprint or 0
        order = labs[a.id]
        for li, lab in enumerate(order):
            slots[(mi, ti, li)] = (a.id, lab)
        for r in a.rows:
            values[mi, ti, order.index(r.labeller_id), c_index[a.task_id][r.completion_id]] = r.value
    ranking = np.array([t.criteria.get("type") == "ranking" for t in tasks], dtype=bool)
    if ranking.any():
        n_per_task = np.array([len(t.completion_ids) for t in tasks], dtype=float)
        converted = scoring.ranks_to_scores(values, n_per_task[None, :, None])
        values = np.where(ranking[None, :, None, None], converted, values)
    return miners, [t.id for t in tasks], values, gt, assigned, fps, slots


def _external_result(vectors: list[list[float]], completion_ids: list[str]) -> dict[str, Any]:
    """Per-completion mean of every labeller's values, and their mean pairwise agreement in [0, 1]."""
    if not vectors:
        return {"scores": {}, "agreement": None, "labellers": 0}
    arr = np.asarray(vectors, dtype=float)
    mean = arr.mean(axis=0)
    agree = scoring.mean_pairwise_agreement(arr)
    return {
        "scores": {c: float(v) for c, v in zip(completion_ids, mean, strict=True)},
        "agreement": agree,
        "labellers": len(arr),
    }


def score_stored_round(rnd: RoundForScoring, params: ScoringParams = ScoringParams()) -> RoundScores:
    """Task scores, labeller grades and new running scores for one round."""
    miners, task_ids, values, gt, assigned, fps, slots = _arrays(rnd)
    task_scores_out: list[tuple[str, int, str, float]] = []
    grades: dict[int, dict[str, float]] = {}
    if miners and task_ids:
        ts = scoring.score_round(values, gt, assigned)
        ts = scoring.duplicate_guard(fps, ts, min_tasks=params.duplicate_min_tasks)
        for mi, (uid, hotkey) in enumerate(miners):
            for ti, tid in enumerate(task_ids):
                if assigned[mi, ti] and np.isfinite(ts[mi, ti]):
                    task_scores_out.append((tid, uid, hotkey, float(ts[mi, ti])))
        g = scoring.labeller_grades(values, gt)
        for (mi, ti, li), (aid, lab) in slots.items():
            if np.isfinite(g[mi, ti, li]):
                grades.setdefault(aid, {})[lab] = float(g[mi, ti, li])
    else:
        ts = np.zeros((len(miners), 0))

    # running scores: miners of this round plus everyone known; a uid seen with a new hotkey restarts at 0
    round_hotkey = {uid: hk for uid, hk in miners}
    dropped = [(uid, hk) for (uid, hk) in rnd.running if uid in round_hotkey and round_hotkey[uid] != hk]
    keys = sorted(set(miners) | {k for k in rnd.running if k not in dropped})
    prev = np.array([rnd.running.get(k, 0.0) for k in keys], dtype=float)
    full = np.full((len(keys), ts.shape[1]), np.nan)
    k_index = {k: i for i, k in enumerate(keys)}
    for mi, k in enumerate(miners):
        full[k_index[k]] = ts[mi]
    new = scoring.update_running(prev, full, alpha=params.alpha, decay=params.decay) if keys else np.zeros(0)
    running = {k: float(v) for k, v in zip(keys, new, strict=True)}

    external: dict[str, dict[str, Any]] = {}
    by_task: dict[str, dict[tuple[int, str], dict[str, float]]] = {}
    for a in rnd.assignments:
        for r in a.rows:
            by_task.setdefault(a.task_id, {}).setdefault((a.id, r.labeller_id), {})[r.completion_id] = r.value
    for t in rnd.tasks:
        if t.external_id is None:
            continue
        vecs = [
            [cells[c] for c in t.completion_ids]
            for cells in by_task.get(t.id, {}).values()
            if all(c in cells for c in t.completion_ids)
        ]
        if t.criteria.get("type") == "ranking":
            vecs = [[len(v) - 1 - x for x in v] for v in vecs]
        external[t.external_id] = {"state": t.state, **_external_result(vecs, t.completion_ids)}
    return RoundScores(
        round_id=rnd.round_id,
        task_scores=task_scores_out,
        labeller_grades=grades,
        running=running,
        dropped=dropped,
        external_results=external,
    )
