"""Scoring glue: a stored round → the arrays of ``dojo.scoring`` → scores to store. Whole round at once.

Steps (DESIGN §7): each miner's consensus vote weight is its proven reliability from the running
state before the round (the lower confidence bound of its signed running score); hotkeys whose
results on shared external tasks are (nearly) identical are grouped, and a group votes once;
every task is scored (hidden order for synthetic tasks, reliability-weighted consensus for
external ones); a group shares its reward on the external tasks it answered together; the
running states are updated (a uid seen with a new hotkey restarts from zero); each external
request gets the aggregate of the same weighted votes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dojo import scoring
from dojo.validator.states import TaskState, external_name
from dojo.validator.store.records import MinerState, RoundForScoring, RoundScores, TaskForScoring


@dataclass(frozen=True)
class ScoringParams:
    """The knobs of scoring, running scores and weights (defaults: ``dojo.scoring``'s constants)."""

    alpha: float = scoring.ALPHA
    lcb_k: float = scoring.LCB_K
    lcb_power: float = scoring.LCB_POWER
    var_floor: float = scoring.VAR_FLOOR
    min_consensus: int = scoring.MIN_CONSENSUS
    min_consensus_weight: float = scoring.MIN_CONSENSUS_WEIGHT
    duplicate_min_tasks: int = scoring.DUPLICATE_MIN_TASKS
    duplicate_max_ratio: float = scoring.DUPLICATE_MAX_RATIO
    duplicate_min_evidence: float = scoring.DUPLICATE_MIN_EVIDENCE


@dataclass(frozen=True)
class _RoundArrays:
    miners: list[tuple[int, str]]
    tasks: list[TaskForScoring]
    values: np.ndarray  # [M, T, L, C] higher is better (rankings converted by scoring.higher_is_better)
    gt: np.ndarray  # [T, C]
    assigned: np.ndarray  # [M, T]
    slots: dict[tuple[int, int, int], tuple[int, str]]  # (m, t, l) -> (assignment id, labeller id)


def _arrays(rnd: RoundForScoring) -> _RoundArrays:
    tasks = [t for t in rnd.tasks if t.state != TaskState.undelivered.value]
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
    slots: dict[tuple[int, int, int], tuple[int, str]] = {}
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
        order = labs[a.id]
        for li, lab in enumerate(order):
            slots[(mi, ti, li)] = (a.id, lab)
        for r in a.rows:
            values[mi, ti, order.index(r.labeller_id), c_index[a.task_id][r.completion_id]] = r.value
    n_per_task = [len(t.completion_ids) for t in tasks]
    values = scoring.higher_is_better(values, [t.criteria for t in tasks], n_per_task)
    return _RoundArrays(miners, tasks, values, gt, assigned, slots)


def _state(running: dict[tuple[int, str], MinerState], keys: list[tuple[int, str]]) -> scoring.RunningState:
    rows = [running.get(k, MinerState()) for k in keys]
    return scoring.RunningState.of([r.n for r in rows], [r.s1 for r in rows], [r.s2 for r in rows])


def external_aggregate(
    vectors: np.ndarray,
    weights: np.ndarray,
    labeller_rows: np.ndarray,
    completion_ids: list[str],
    min_weight: float = scoring.MIN_CONSENSUS_WEIGHT,
) -> dict[str, Any]:
    """What an external requester gets for one task: per completion, the vote-weighted mean of the
    miners' vectors (each the mean of its labellers), and the labellers' mean pairwise agreement.

    ``vectors [M, C]`` (NaN = no result), ``weights [M]`` the miners' consensus vote weights,
    ``labeller_rows [K, C]`` the usable answers of the labellers whose miner counts. Only miners
    with a positive weight count; when their total is not above ``min_weight`` (no miner has
    proven itself yet) every miner with a result counts equally and ``weighted`` is False.
    """
    has = ~np.isnan(vectors).any(axis=-1)
    w = np.where(has, np.maximum(np.nan_to_num(weights, nan=0.0), 0.0), 0.0)
    weighted = bool(w.sum() > min_weight)
    if not weighted:
        w = has.astype(float)
    if w.sum() <= 0:
        return {"scores": {}, "agreement": None, "labellers": 0, "miners": 0, "weighted": False}
    mean = (np.where(w[:, None] > 0, np.nan_to_num(vectors), 0.0) * w[:, None]).sum(axis=0) / w.sum()
    return {
        "scores": {c: float(v) for c, v in zip(completion_ids, mean, strict=True)},
        "agreement": scoring.mean_pairwise_agreement(labeller_rows),
        "labellers": len(labeller_rows),
        "miners": int((w > 0).sum()),
        "weighted": weighted,
    }


def score_stored_round(rnd: RoundForScoring, params: ScoringParams = ScoringParams()) -> RoundScores:
    """Signed task scores, labeller grades, new running states and external results for one round."""
    arr = _arrays(rnd)
    miners, tasks = arr.miners, arr.tasks

    # running states: miners of this round plus everyone known; a uid seen with a new hotkey restarts at 0
    round_hotkey = {uid: hk for uid, hk in miners}
    dropped = [(uid, hk) for (uid, hk) in rnd.running if uid in round_hotkey and round_hotkey[uid] != hk]
    keys = sorted(set(miners) | {k for k in rnd.running if k not in dropped})
    prev = _state(rnd.running, keys)
    k_index = {k: i for i, k in enumerate(keys)}
    reliability = scoring.reliability(_state(rnd.running, miners), params.lcb_k, params.var_floor)

    task_scores_out: list[tuple[str, int, str, float]] = []
    grades: dict[int, dict[str, float]] = {}
    external: dict[str, dict[str, Any]] = {}
    full = np.full((len(keys), len(tasks)), np.nan)
    if miners and tasks:
        values, gt, assigned = arr.values, arr.gt, arr.assigned
        links = scoring.near_duplicate_links(
            values,
            gt,
            assigned,
            min_tasks=params.duplicate_min_tasks,
            max_ratio=params.duplicate_max_ratio,
            min_evidence=params.duplicate_min_evidence,
        )
        groups = scoring.duplicate_groups(links)
        detail = scoring.score_round_detail(
            values,
            gt,
            assigned,
            reliability,
            min_consensus=params.min_consensus,
            min_weight=params.min_consensus_weight,
        )
        shared = detail.has_result & detail.external[None]
        share = scoring.group_share(groups, shared)
        votes = reliability[:, None] / share  # [M, T]: a duplicate group votes once
        if (share > 1).any():
            detail = scoring.score_round_detail(
                values, gt, assigned, votes, min_consensus=params.min_consensus, min_weight=params.min_consensus_weight
            )
        ts = scoring.duplicate_guard(detail.task_scores, groups, shared)
        full[[k_index[k] for k in miners]] = ts
        for mi, ti in zip(*np.nonzero(assigned & np.isfinite(ts)), strict=True):
            uid, hotkey = miners[mi]
            task_scores_out.append((tasks[ti].id, uid, hotkey, float(ts[mi, ti])))
        g = scoring.labeller_grades(values, gt)
        for (mi, ti, li), (aid, lab) in arr.slots.items():
            if np.isfinite(g[mi, ti, li]):
                grades.setdefault(aid, {})[lab] = float(g[mi, ti, li])
        for ti, t in enumerate(tasks):
            if t.external_id is None:
                continue
            n = len(t.completion_ids)
            w = np.where(detail.has_result[:, ti], votes[:, ti], 0.0)
            counts = w > 0 if w.sum() > params.min_consensus_weight else detail.has_result[:, ti]
            rows = values[:, ti, :, :n][counts[:, None] & detail.usable[:, ti]]
            external[t.external_id] = {
                "state": external_name(t.state),
                **external_aggregate(detail.vectors[:, ti, :n], w, rows, t.completion_ids, params.min_consensus_weight),
            }
    for t in rnd.tasks:  # external tasks nobody took (undelivered) still get an answer
        if t.external_id is not None and t.external_id not in external:
            nothing = external_aggregate(np.zeros((0, 0)), np.zeros(0), np.zeros((0, 0)), [])
            external[t.external_id] = {"state": external_name(t.state), **nothing}

    new = scoring.update_running(prev, full, alpha=params.alpha) if keys else prev
    running = {k: MinerState(float(new.n[i]), float(new.s1[i]), float(new.s2[i])) for i, k in enumerate(keys)}
    return RoundScores(
        round_id=rnd.round_id,
        task_scores=task_scores_out,
        labeller_grades=grades,
        running=running,
        dropped=dropped,
        external_results=external,
    )
