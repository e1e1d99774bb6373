"""The columnar export against a plain reference: every task row and pair, built one task at a time from ORM
objects as the definition reads, must come out the same — value for value, float bit for bit, in order —
in JSON lines (byte for byte), Parquet and the HF DatasetDict, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from storefill import SCORE, T0, Copy, Spec, fill_store

from dojo import scoring
from dojo.dataset import TASK_SCHEMA, PairOptions, export_dataset, pair_schema
from dojo.dataset.pairs import same_when_truncated, tokens
from dojo.protocol import as_criterion
from dojo.validator.store.db import Database
from dojo.validator.store.models import Assignment, Result, Task

RANKING = {"type": "ranking"}


def tricky(seed: int = 7, n: int = 40) -> list[Spec]:
    """Hand-made corner cases, then random tasks: 2–6 answers, 0–4 labellers on 1–3 copies, scores and ranks,
    partial answers, shuffled storage order, equal creation times across batch edges."""
    rng = random.Random(seed)
    specs = [
        Spec([f"<p>a{k}</p>" for k in range(4)], [[10, 7, 4, 1], [9, 7, 5, 3], [10, 8, 3, 2]]),
        Spec([f"<p>r{k}</p>" for k in range(3)], [[0, 1, 2], [0, 2, 1]], criteria=RANKING),
        Spec(["x", "y"], [[5, 5]]),  # one labeller, a tie: no agreement, no pair
        Spec(["x", "y", "z"], [[3, 3, 3], [1, 2, 3]]),  # a constant labeller: correlation undefined
        Spec(
            ["só", "ünï", "日本"],
            [[0, 50, 100], [2, 55, 81.5]],
            criteria={"type": "score", "min": 0, "max": 100},
            models=[None, "m", None],
            prompt="prompt ✓ ünïcode",
            external=True,
            ground_truth="none",
        ),
        Spec(["a", "b", "c", "d"], [], ground_truth="partial"),  # nobody labelled: no row
        Spec(["a", "b"], [[1, 2]], state="dispatched"),  # not scored: secret, no row
        Spec(
            ["a", "b", "c"],
            copies=[
                Copy([("L1", 0, 1), ("L1", 1, 2), ("L2", 0, 3), ("L1", 2, 3), ("L2", 1, 1)]),  # L2 partial
                Copy([("L1", 0, 9), ("L1", 1, 2), ("L1", 2, 3)], hotkey="5Fother"),  # same labeller, other copy
                Copy([("L3", 0, 1), ("L3", 1, 2), ("L3", 2, 3), ("L3", "not-an-answer", 4)], hotkey="5Fthird"),
                Copy(
                    [("L4", 2, 1.5, T0 + timedelta(seconds=3, microseconds=123456)), ("L4", 1, 2.25), ("L4", 0, 7.75)],
                    hotkey="5Ffourth",
                ),
            ],
            ground_truth="partial",
        ),
    ]
    scales = [SCORE, RANKING, {"type": "score", "min": 1, "max": 5}, {"type": "score", "min": 0, "max": 100}]
    for i in range(n):
        c, crit, n_lab = rng.randint(2, 6), rng.choice(scales), rng.randint(0, 4)
        copies = []
        for a in range(rng.randint(1, 3)):
            rows: list[tuple[Any, ...]] = []
            for li in range(n_lab):
                if crit["type"] == "ranking":
                    vals: list[float] = rng.sample(range(c), c)
                else:
                    lo, hi = crit["min"], crit["max"]
                    vals = [rng.choice([rng.randint(lo, hi), round(rng.uniform(lo, hi), 3)]) for _ in range(c)]
                order = rng.sample(range(c), c) if rng.random() < 0.3 else range(c)
                for k in order:
                    if rng.random() > 0.04:  # sometimes a value is missing: a partial answer
                        when = T0 + timedelta(seconds=rng.randint(0, 10**6), microseconds=rng.randint(0, 999999))
                        rows.append((f"0x{li}", k, vals[k], when))
            copies.append(Copy(rows, hotkey=f"5Fminer{a}"))
        specs.append(
            Spec(
                [f"<html>{i}-{k} {'x' * rng.randint(0, 30)}</html>" for k in range(c)],
                copies=copies,
                criteria=crit,
                external=rng.random() < 0.2,
                models=[rng.choice(["m", None]) for _ in range(c)],
                ground_truth=rng.choice(["order", "none", "partial"]),
                at=T0 + timedelta(minutes=rng.randint(0, 20)),
            )
        )
    return specs


def reference(url: str, opts: PairOptions) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Task rows and pairs, one task at a time, straight from the definitions."""
    db = Database(url)
    tasks_out: list[dict[str, Any]] = []
    pairs_out: list[dict[str, Any]] = []
    with db.transaction() as s:
        q = sa.select(Task).where(Task.state.in_(["scored", "fed_back"])).order_by(Task.created_at, Task.id)
        for task in s.scalars(q):
            crit = as_criterion(task.criteria)
            ids = [str(r["completion_id"]) for r in task.responses]
            n = len(ids)
            labels, vectors = [], []
            copies = s.scalars(sa.select(Assignment).where(Assignment.task_id == task.id).order_by(Assignment.id))
            for copy in copies:
                answers: dict[str, tuple[datetime, dict[str, float]]] = {}
                for r in s.scalars(sa.select(Result).where(Result.assignment_id == copy.id).order_by(Result.id)):
                    answers.setdefault(r.labeller_id, (r.submitted_at, {}))[1][r.completion_id] = r.value
                for labeller, (at, values) in answers.items():
                    if set(values) != set(ids):
                        continue
                    scores = [{"completion_id": c, "value": float(values[c])} for c in ids]
                    labels.append({"miner_hotkey": copy.hotkey, "labeller_id": labeller, "submitted_at": at})
                    labels[-1]["scores"] = scores
                    vectors.append([crit.unit(values[c], n) for c in ids])
            if not labels:
                continue
            arr = np.array(vectors)
            mean = arr.mean(axis=0)
            gt = task.ground_truth
            row = {
                "task_id": task.id,
                "source": task.source,
                "external_id": task.external_id,
                "created_at": task.created_at,
                "prompt": task.prompt,
                "criteria": {
                    "type": "ranking" if crit.is_ranking else "score",
                    "min": None if crit.is_ranking else crit.min,  # type: ignore[union-attr]
                    "max": None if crit.is_ranking else crit.max,  # type: ignore[union-attr]
                },
                "responses": [
                    {"completion_id": str(r["completion_id"]), "content": r["content"], "model": r.get("model")}
                    for r in task.responses
                ],
                "labels": labels,
                "aggregate": [{"completion_id": c, "value": float(mean[k])} for k, c in enumerate(ids)],
                "agreement": scoring.mean_pairwise_agreement(arr),
                "n_labellers": len(labels),
                "ground_truth": [{"completion_id": c, "rank": gt[c]} for c in ids if c in gt] if gt else None,
            }
            tasks_out.append(row)
            threshold = crit.step(n) if opts.min_margin is None else opts.min_margin
            contents = [r["content"] for r in task.responses]
            for i, j in combinations(range(n), 2):
                margin = float(mean[i] - mean[j])
                if margin == 0 or abs(margin) < threshold - 1e-12:
                    continue
                win, lose = (i, j) if margin > 0 else (j, i)
                same = None
                if opts.max_tokens is not None:
                    used = len(tokens(task.prompt, opts.max_tokens))
                    same = same_when_truncated(used, contents[win], contents[lose], opts.max_tokens)
                    if same and opts.truncation == "drop":
                        continue

                def text(role: str, value: str) -> Any:
                    return value if opts.fmt == "standard" else [{"role": role, "content": value}]

                pairs_out.append(
                    {
                        "prompt": text("user", task.prompt),
                        "chosen": text("assistant", contents[win]),
                        "rejected": text("assistant", contents[lose]),
                        "margin": abs(margin),
                        "task_id": task.id,
                        "chosen_id": ids[win],
                        "rejected_id": ids[lose],
                        "same_when_truncated": same,
                    }
                )
    db.dispose()
    return tasks_out, pairs_out


def _jsonl(rows: list[dict[str, Any]]) -> str:
    def default(value: Any) -> Any:
        assert isinstance(value, datetime)
        return value.isoformat()

    return "".join(json.dumps(r, default=default, ensure_ascii=False) + "\n" for r in rows)


OPTIONS = {
    "auto margin": PairOptions(),
    "conversational, all margins, flagged": PairOptions(
        min_margin=0.0, fmt="conversational", max_tokens=6, truncation="flag"
    ),
    "dropped under a token budget": PairOptions(min_margin=0.05, max_tokens=5),
}


def _check(url: str, tmp_path: Path, batch_sizes: tuple[int, ...]) -> None:
    for name, opts in OPTIONS.items():
        tasks, pairs = reference(url, opts)
        assert tasks and pairs, name
        for batch_size in batch_sizes:
            for fmt in ("jsonl", "parquet", "hf"):
                out = tmp_path / f"{name}-{batch_size}-{fmt}".replace(" ", "_").replace(",", "")
                summary = export_dataset(url, out, fmt=fmt, batch_size=batch_size, pairs=opts)
                assert (summary.tasks, summary.pairs) == (len(tasks), len(pairs)), (name, fmt)
                if fmt == "jsonl":
                    assert (out / "tasks.jsonl").read_text(encoding="utf-8") == _jsonl(tasks), name
                    assert (out / "pairs.jsonl").read_text(encoding="utf-8") == _jsonl(pairs), name
                    continue
                if fmt == "parquet":
                    got = {split: pq.read_table(out / f"{split}.parquet") for split in ("tasks", "pairs")}
                else:
                    dd = datasets.load_from_disk(str(out))
                    got = {split: dd[split].data.table for split in ("tasks", "pairs")}
                assert got["tasks"].schema.remove_metadata() == TASK_SCHEMA, fmt
                assert got["pairs"].schema.remove_metadata() == pair_schema(opts.fmt), fmt
                assert got["tasks"].to_pylist() == tasks, (name, fmt)
                assert got["pairs"].to_pylist() == pairs, (name, fmt)


def test_every_format_equals_the_reference(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    fill_store(url, tricky())
    _check(url, tmp_path, batch_sizes=(3, 256))  # batch edges between tasks created at the same time


@pytest.mark.postgres
def test_postgres_equals_the_reference(pg_url: str, tmp_path: Path) -> None:
    fill_store(pg_url, tricky(seed=11, n=20))
    _check(pg_url, tmp_path, batch_sizes=(4,))
