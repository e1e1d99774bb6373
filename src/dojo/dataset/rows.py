"""Turn one stored task with its labels into a dataset row; its preference pairs come from :mod:`pairs`."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from dojo import scoring

_SCORES = pa.list_(pa.struct([("completion_id", pa.string()), ("value", pa.float64())]))

#: the task's criterion as a typed struct: ``{type: "score", min, max}`` or ``{type: "ranking"}`` (min/max null)
CRITERIA = pa.struct([("type", pa.string()), ("min", pa.int32()), ("max", pa.int32())])

TASK_SCHEMA = pa.schema(
    [
        ("task_id", pa.string()),
        ("source", pa.string()),  # synthetic | external
        ("external_id", pa.string()),  # the external request's id (null for synthetic tasks)
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("prompt", pa.string()),
        ("criteria", CRITERIA),
        (
            "responses",
            pa.list_(pa.struct([("completion_id", pa.string()), ("content", pa.string()), ("model", pa.string())])),
        ),
        (
            "labels",
            pa.list_(
                pa.struct(
                    [
                        ("miner_hotkey", pa.string()),
                        ("labeller_id", pa.string()),
                        ("submitted_at", pa.timestamp("us", tz="UTC")),
                        ("scores", _SCORES),
                    ]
                )
            ),
        ),
        ("aggregate", _SCORES),  # mean of every labeller's values, normalised to [0, 1] (1 = best)
        ("agreement", pa.float64()),  # mean pairwise Spearman between labellers mapped to [0, 1]; null below 2
        ("n_labellers", pa.int32()),
        ("ground_truth", pa.list_(pa.struct([("completion_id", pa.string()), ("rank", pa.int32())]))),
    ]
)


@dataclass
class Labelled:
    """What pairs are built from: the task row plus the aggregate in completion order and the scale step."""

    row: dict[str, Any]
    ids: list[str]
    contents: list[str]
    mean: np.ndarray  # [C] normalised aggregate, 1 = best
    step: float  # one point of the task's own scale after normalisation
    vectors: np.ndarray  # [L, C] each labeller's normalised values (the agreement is computed per batch)


class TaskLike(Protocol):
    """The stored task's columns a row needs (an ORM ``Task`` or a Core row of the same columns)."""

    id: str
    source: str
    external_id: str | None
    created_at: datetime
    prompt: str
    criteria: dict[str, Any]
    responses: list[dict[str, Any]]
    ground_truth: dict[str, int] | None


#: one miner's copy: its hotkey and its result rows ``(labeller_id, completion_id, value, submitted_at)``
AssignmentResults = tuple[str, Sequence[tuple[str, str, float, datetime]]]


def criteria_struct(criteria: dict[str, Any]) -> dict[str, Any]:
    """The stored criterion as the typed ``criteria`` struct."""
    if criteria.get("type") == "ranking":
        return {"type": "ranking", "min": None, "max": None}
    return {"type": "score", "min": int(criteria.get("min", 1)), "max": int(criteria.get("max", 10))}


def scale_step(criteria: dict[str, Any], n: int) -> float:
    """One point of the task's scale on the normalised [0, 1] axis: ``1/(max−min)``, or ``1/(n−1)`` for a ranking."""
    if criteria.get("type") == "ranking":
        return 1.0 / (n - 1) if n > 1 else 1.0
    return 1.0 / (float(criteria.get("max", 10)) - float(criteria.get("min", 1)))


def _normalise(value: float, criteria: dict[str, Any], n: int) -> float:
    """A labeller's value on a common [0, 1] scale (1 = best) whatever the criterion."""
    if criteria.get("type") == "ranking":
        return (n - 1 - value) / (n - 1) if n > 1 else 1.0
    lo, hi = float(criteria.get("min", 1)), float(criteria.get("max", 10))
    return (value - lo) / (hi - lo)


def build_task(task: TaskLike, assignments: Sequence[AssignmentResults]) -> Labelled | None:
    """The task's row with what its pairs need; None when nobody labelled it completely.

    ``agreement`` is left None: :func:`fill_agreement` computes it for a whole batch at once.
    """
    ids = [str(r["completion_id"]) for r in task.responses]
    index = {cid: i for i, cid in enumerate(ids)}
    n = len(ids)
    labels: list[dict[str, Any]] = []
    vectors: list[np.ndarray] = []
    for hotkey, results in assignments:
        per_labeller: dict[str, dict[str, Any]] = {}
        for labeller_id, completion_id, value, submitted_at in results:
            entry = per_labeller.setdefault(str(labeller_id), {"submitted_at": submitted_at, "scores": {}})
            entry["scores"][str(completion_id)] = value
        for labeller_id, entry in per_labeller.items():
            if set(entry["scores"]) != set(ids):
                continue  # a partial answer is not a usable label
            labels.append(
                {
                    "miner_hotkey": hotkey,
                    "labeller_id": labeller_id,
                    "submitted_at": entry["submitted_at"],
                    "scores": [{"completion_id": c, "value": float(entry["scores"][c])} for c in ids],
                }
            )
            vec = np.empty(n)
            for c, v in entry["scores"].items():
                vec[index[c]] = _normalise(float(v), task.criteria, n)
            vectors.append(vec)
    if not labels:
        return None
    arr = np.vstack(vectors)
    mean = arr.mean(axis=0)
    gt = task.ground_truth
    row = {
        "task_id": str(task.id),
        "source": task.source,
        "external_id": None if task.external_id is None else str(task.external_id),
        "created_at": task.created_at,
        "prompt": task.prompt,
        "criteria": criteria_struct(task.criteria),
        "responses": [
            {"completion_id": str(r["completion_id"]), "content": r["content"], "model": r.get("model")}
            for r in task.responses
        ],
        "labels": labels,
        "aggregate": [{"completion_id": c, "value": float(mean[i])} for i, c in enumerate(ids)],
        "agreement": None,
        "n_labellers": len(labels),
        "ground_truth": [{"completion_id": c, "rank": int(gt[c])} for c in ids if c in gt] if gt else None,
    }
    contents = [str(r["content"]) for r in task.responses]
    return Labelled(row=row, ids=ids, contents=contents, mean=mean, step=scale_step(task.criteria, n), vectors=arr)


def fill_agreement(items: Sequence[Labelled]) -> None:
    """Set each row's ``agreement`` — the labellers' mean pairwise agreement, exactly
    :func:`dojo.scoring.mean_pairwise_agreement` — vectorised over tasks of the same shape."""
    groups: dict[tuple[int, ...], list[Labelled]] = {}
    for item in items:
        groups.setdefault(item.vectors.shape, []).append(item)
    for (n_lab, _), group in groups.items():
        if n_lab < 2:
            continue  # one labeller: nothing to agree with (stays None)
        arr = np.stack([g.vectors for g in group])  # [T, L, C]
        i, j = np.triu_indices(n_lab, k=1)
        agree = scoring.agreement(scoring.spearman_last(arr[:, i], arr[:, j]))  # [T, P]
        defined = np.asarray(np.isfinite(agree).any(axis=1)).tolist()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN row: no defined pair (None below)
            mean = np.nanmean(agree, axis=1)
        for g, ok, m in zip(group, defined, mean.tolist(), strict=True):
            g.row["agreement"] = float(m) if ok else None
