"""Reading a consumer's input (JSON lines, Parquet, a saved ``datasets`` folder) row by row, and
writing fetched results (tasks and preference pairs) as jsonl, parquet or hf."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dojo.errors import DojoError
from dojo.protocol import AnyCriterion, RankingCriterion, as_criterion

INPUT_KINDS = ("jsonl", "parquet", "hf")
FORMATS = ("jsonl", "parquet", "hf")

_VALUES = pa.list_(pa.struct([("completion_id", pa.string()), ("value", pa.float64())]))
TASKS = pa.schema(
    [
        ("id", pa.string()),
        ("client_id", pa.string()),
        ("state", pa.string()),
        ("prompt", pa.string()),
        ("criteria", pa.struct([("type", pa.string()), ("min", pa.int32()), ("max", pa.int32())])),
        ("responses", pa.list_(pa.struct([("completion_id", pa.string()), ("content", pa.string())]))),
        ("scores", _VALUES),  # per completion, the aggregate human score on the task's scale
        ("agreement", pa.float64()),
        ("n_labellers", pa.int32()),
        ("n_miners", pa.int32()),
        ("weighted", pa.bool_()),
        ("labels", pa.list_(pa.struct([("labeller", pa.string()), ("values", _VALUES)]))),
    ]
)
PAIRS = pa.schema(
    [
        ("prompt", pa.string()),
        ("chosen", pa.string()),
        ("rejected", pa.string()),
        ("margin", pa.float64()),  # difference of the aggregate scores, normalised to [0, 1]
        ("id", pa.string()),
        ("client_id", pa.string()),
        ("chosen_id", pa.string()),
        ("rejected_id", pa.string()),
    ]
)


def input_kind(path: Path) -> str:
    """jsonl, parquet or hf (a folder written by ``save_to_disk``), from the path."""
    if path.is_dir():
        return "hf"
    if path.suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if path.suffix in (".parquet", ".pq"):
        return "parquet"
    raise DojoError(f"{path}: expected a .jsonl or .parquet file, or a folder saved by datasets.save_to_disk")


def read_rows(path: Path, split: str | None = None) -> Iterator[tuple[int, Any]]:
    """``(row number from 1, row)`` for every row, streaming; a line that is not JSON is yielded as an error."""
    if not path.exists():
        raise DojoError(f"no such file or folder: {path}")
    kind = input_kind(path)
    if kind == "jsonl":
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    yield n, json.loads(line)
                except json.JSONDecodeError as exc:
                    yield n, ValueError(f"not JSON ({exc.msg} at column {exc.colno})")
    elif kind == "parquet":
        n = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=512):
            for row in batch.to_pylist():
                n += 1
                yield n, row
    else:
        import datasets

        ds = datasets.load_from_disk(str(path))
        if isinstance(ds, datasets.DatasetDict):
            name = split or ("train" if "train" in ds else next(iter(ds)))
            if name not in ds:
                raise DojoError(f"{path} has no split {name!r} (it has {', '.join(ds)})")
            ds = ds[name]
        for n, row in enumerate(ds, start=1):
            yield n, row


def task_rows(item: dict[str, Any]) -> dict[str, Any]:
    """One fetched request as a ``tasks`` row."""
    result = item.get("result") or {}
    scores = result.get("scores") or {}
    crit = as_criterion(item["criteria"])
    per: list[dict[str, Any]] = [
        {
            "labeller": lab["labeller"],
            "values": [{"completion_id": c, "value": float(v)} for c, v in sorted(lab["values"].items())],
        }
        for lab in item.get("labels", [])
    ]
    return {
        "id": item["id"],
        "client_id": item.get("client_id"),
        "state": item["state"],
        "prompt": item["prompt"],
        "criteria": _criteria_row(crit),
        "responses": [{"completion_id": r["completion_id"], "content": r["content"]} for r in item["responses"]],
        "scores": [{"completion_id": c, "value": float(v)} for c, v in scores.items()],
        "agreement": result.get("agreement"),
        "n_labellers": result.get("labellers", 0),
        "n_miners": result.get("miners", 0),
        "weighted": result.get("weighted"),
        "labels": per,
    }


def _criteria_row(crit: AnyCriterion) -> dict[str, Any]:
    """The criterion as the ``tasks`` table's struct (a ranking has no min or max)."""
    if isinstance(crit, RankingCriterion):
        return {"type": crit.type, "min": None, "max": None}
    return {"type": crit.type, "min": crit.min, "max": crit.max}


def pair_rows(item: dict[str, Any], min_margin: float | None = None) -> list[dict[str, Any]]:
    """Preference pairs of one finished request; ``min_margin`` None = one point of its scale (see the export)."""
    scores = (item.get("result") or {}).get("scores") or {}
    crit = as_criterion(item["criteria"])
    n = len(item["responses"])
    span = float(max(n - 1, 1)) if isinstance(crit, RankingCriterion) else float(crit.max - crit.min)
    threshold = crit.step(n) if min_margin is None else min_margin  # one point of the scale, or one rank
    content = {r["completion_id"]: r["content"] for r in item["responses"]}
    out = []
    for a, b in combinations([c for c in content if c in scores], 2):
        margin = (scores[a] - scores[b]) / span
        if margin == 0 or abs(margin) < threshold - 1e-12:
            continue
        win, lose = (a, b) if margin > 0 else (b, a)
        out.append(
            {
                "prompt": item["prompt"],
                "chosen": content[win],
                "rejected": content[lose],
                "margin": abs(margin),
                "id": item["id"],
                "client_id": item.get("client_id"),
                "chosen_id": win,
                "rejected_id": lose,
            }
        )
    return out


@dataclass
class FetchSummary:
    """What a fetch wrote."""

    out: Path
    format: str
    tasks: int
    pairs: int


def write_results(
    items: Iterable[dict[str, Any]], out: Path, fmt: str, min_margin: float | None = None
) -> FetchSummary:
    """Stream fetched requests into ``out/tasks.*`` and ``out/pairs.*`` (or one DatasetDict for hf)."""
    if fmt not in FORMATS:
        raise DojoError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out, prefix=".staging-")) if fmt == "hf" else out
    ext = "jsonl" if fmt == "jsonl" else "parquet"
    paths = {"tasks": staging / f"tasks.{ext}", "pairs": staging / f"pairs.{ext}"}
    counts = {"tasks": 0, "pairs": 0}
    if fmt == "jsonl":
        with open(paths["tasks"], "w", encoding="utf-8") as ft, open(paths["pairs"], "w", encoding="utf-8") as fp:
            for item in items:
                ft.write(json.dumps(task_rows(item), ensure_ascii=False) + "\n")
                counts["tasks"] += 1
                for p in pair_rows(item, min_margin):
                    fp.write(json.dumps(p, ensure_ascii=False) + "\n")
                    counts["pairs"] += 1
    else:
        with pq.ParquetWriter(paths["tasks"], TASKS) as wt, pq.ParquetWriter(paths["pairs"], PAIRS) as wp:
            buf_t: list[dict[str, Any]] = []
            buf_p: list[dict[str, Any]] = []
            for item in items:
                buf_t.append(task_rows(item))
                buf_p.extend(pair_rows(item, min_margin))
                if len(buf_t) >= 256:
                    _flush(wt, wp, buf_t, buf_p, counts)
            _flush(wt, wp, buf_t, buf_p, counts)
        if fmt == "hf":
            from dojo.dataset.export import parquet_to_hf

            try:
                parquet_to_hf(paths, out)
            finally:
                shutil.rmtree(staging)
    return FetchSummary(out=out, format=fmt, tasks=counts["tasks"], pairs=counts["pairs"])


def _flush(wt: Any, wp: Any, buf_t: list[dict[str, Any]], buf_p: list[dict[str, Any]], counts: dict[str, int]) -> None:
    if buf_t:
        wt.write_table(pa.Table.from_pylist(buf_t, schema=TASKS))
        counts["tasks"] += len(buf_t)
    if buf_p:
        wp.write_table(pa.Table.from_pylist(buf_p, schema=PAIRS))
        counts["pairs"] += len(buf_p)
    buf_t.clear()
    buf_p.clear()
