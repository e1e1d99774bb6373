"""Turn one stored task with its labels into a dataset row and its preference pairs."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pyarrow as pa

from dojo import scoring
from dojo.validator.store.models import Task

_SCORES = pa.list_(pa.struct([("completion_id", pa.string()), ("value", pa.float64())]))

TASK_SCHEMA = pa.schema(
    [
        ("task_id", pa.string()),
        ("source", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("prompt", pa.string()),
        ("criteria", pa.string()),  # JSON of the criterion, e.g. {"type": "score", "min": 1, "max": 10}
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

PAIR_SCHEMA = pa.schema(
    [
        ("prompt", pa.string()),
        ("chosen", pa.string()),
        ("rejected", pa.string()),
        ("margin", pa.float64()),
        ("task_id", pa.string()),
        ("chosen_id", pa.string()),
        ("rejected_id", pa.string()),
    ]
)


def _normalise(value: float, criteria: dict[str, Any], n: int) -> float:
    """A labeller's value on a common [0, 1] scale (1 = best) whatever the criterion."""
    if criteria.get("type") == "ranking":
        return (n - 1 - value) / (n - 1) if n > 1 else 1.0
    lo, hi = float(criteria.get("min", 1)), float(criteria.get("max", 10))
    return (value - lo) / (hi - lo)


def build_rows(task: Task) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The task's row and its preference pairs; ``(None, [])`` when nobody labelled it."""
    ids = [str(r["completion_id"]) for r in task.responses]
    index = {cid: i for i, cid in enumerate(ids)}
    n = len(ids)
    labels: list[dict[str, Any]] = []
    vectors: list[np.ndarray] = []
    for a in task.assignments:
        per_labeller: dict[str, dict[str, Any]] = {}
        for r in a.results:
            entry = per_labeller.setdefault(r.labeller_id, {"submitted_at": r.submitted_at, "scores": {}})
            entry["scores"][r.completion_id] = r.value
        for labeller_id, entry in per_labeller.items():
            if set(entry["scores"]) != set(ids):
                continue  # a partial answer is not a usable label
            labels.append(
                {
                    "miner_hotkey": a.hotkey,
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
        return None, []
    arr = np.vstack(vectors)
    mean = arr.mean(axis=0)
    agreement = scoring.mean_pairwise_agreement(arr)
    gt = task.ground_truth
    row = {
        "task_id": task.id,
        "source": task.source,
        "created_at": task.created_at,
        "prompt": task.prompt,
        "criteria": _json(task.criteria),
        "responses": [
            {"completion_id": str(r["completion_id"]), "content": r["content"], "model": r.get("model")}
            for r in task.responses
        ],
        "labels": labels,
        "aggregate": [{"completion_id": c, "value": float(mean[i])} for i, c in enumerate(ids)],
        "agreement": agreement,
        "n_labellers": len(labels),
        "ground_truth": [{"completion_id": c, "rank": int(gt[c])} for c in ids if c in gt] if gt else None,
    }
    content = {str(r["completion_id"]): r["content"] for r in task.responses}
    pair_rows = []
    for i, j in combinations(range(n), 2):
        margin = float(mean[i] - mean[j])
        if margin == 0:
            continue  # people saw no difference: no preference to learn from
        win, lose = (i, j) if margin > 0 else (j, i)
        pair_rows.append(
            {
                "prompt": task.prompt,
                "chosen": content[ids[win]],
                "rejected": content[ids[lose]],
                "margin": abs(margin),
                "task_id": task.id,
                "chosen_id": ids[win],
                "rejected_id": ids[lose],
            }
        )
    return row, pair_rows


def _json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)
