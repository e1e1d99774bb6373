"""Stream the validator store into a dataset folder: JSON lines, Parquet, or a ``datasets`` DatasetDict.

Tasks are read in keyset-paginated batches and written batch by batch, so memory stays flat
however large the store is. Only tasks whose round was scored are exported: before that their
ground truth is still secret. Every export also writes its dataset card, ``README.md``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from dojo.dataset.card import CardFacts, render_card
from dojo.dataset.pairs import PAIRS_FORMATS, TRUNCATION_MODES, PairCounts, PairOptions, build_pairs, pair_schema
from dojo.dataset.rows import TASK_SCHEMA, AssignmentResults, build_task, fill_agreement
from dojo.errors import DojoError
from dojo.validator.states import TaskState
from dojo.validator.store.db import Database
from dojo.validator.store.models import Assignment, Result, Task

FORMATS = ("jsonl", "parquet", "hf")
EXPORTABLE = (TaskState.scored.value, TaskState.fed_back.value)


@dataclass
class ExportSummary:
    """What an export wrote."""

    out: Path
    format: str
    tasks: int
    pairs: int
    files: list[Path]
    counts: PairCounts = field(default_factory=PairCounts)
    options: PairOptions = field(default_factory=PairOptions)

    @property
    def min_margin_text(self) -> str:
        """The margin threshold used, in words."""
        if self.options.min_margin is not None:
            return f"{self.options.min_margin:g}"
        steps = ", ".join(f"{t:.3g}" for t in sorted(self.counts.thresholds)) or "1/9 on a 1–10 scale"
        return f"auto: one point of each task's scale ({steps})"


def iter_batches(
    db: Database,
    since: datetime | None,
    batch_size: int,
    opts: PairOptions | None = None,
    counts: PairCounts | None = None,
) -> Iterator[tuple[list[dict], list[dict], int]]:
    """Yield ``(task rows, pair rows, tasks read)`` per batch of stored tasks, oldest first."""
    opts = opts or PairOptions()
    counts = counts if counts is not None else PairCounts()
    # plain Core rows, not ORM objects: building a million Result objects costs more than the export.
    # One ordered query streamed in partitions (a server-side cursor on PostgreSQL): keyset pages
    # would re-sort the table for every page, as nothing indexes created_at.
    columns: tuple[Any, ...] = (Task.id, Task.source, Task.external_id, Task.created_at, Task.prompt)
    columns += (Task.criteria, Task.responses, Task.ground_truth)
    q = sa.select(*columns).where(Task.state.in_(EXPORTABLE)).order_by(Task.created_at, Task.id)
    if since is not None:
        q = q.where(Task.created_at >= since)
    with db.transaction() as s:
        stream = s.execute(q.execution_options(stream_results=True, yield_per=batch_size))
        for part in stream.partitions(batch_size):
            tasks = list(part)
            labels = _results_of(s, [t.id for t in tasks])
            items = [i for t in tasks if (i := build_task(t, list(labels.get(t.id, {}).values()))) is not None]  # type: ignore[arg-type]
            fill_agreement(items)
            pairs: list[dict] = []
            for item in items:
                pairs.extend(build_pairs(item, opts, counts))
            yield [i.row for i in items], pairs, len(tasks)


def _results_of(s: Any, task_ids: list[str]) -> dict[str, dict[int, AssignmentResults]]:
    """Per task, per assignment (in id order): the miner's hotkey and its result rows."""
    out: dict[str, dict[int, AssignmentResults]] = {}
    if not task_ids:
        return out
    q = (
        sa.select(
            Assignment.task_id,
            Assignment.id,
            Assignment.hotkey,
            Result.labeller_id,
            Result.completion_id,
            Result.value,
            Result.submitted_at,
        )
        .join(Result, Result.assignment_id == Assignment.id)
        .where(Assignment.task_id.in_(task_ids))
        .order_by(Assignment.id, Result.id)
    )
    for task_id, aid, hotkey, lab, cid, value, at in s.execute(q):
        per_task = out.setdefault(task_id, {})
        if aid not in per_task:
            per_task[aid] = (hotkey, [])
        per_task[aid][1].append((lab, cid, value, at))  # type: ignore[attr-defined]
    return out


class _Writer:
    """Writes batches of one table in one format."""

    def __init__(self, out: Path, name: str, schema: pa.Schema, fmt: str) -> None:
        self.schema, self.fmt = schema, fmt
        self.count = 0
        self.path = out / (f"{name}.jsonl" if fmt == "jsonl" else f"{name}.parquet")
        self._jsonl = open(self.path, "w", encoding="utf-8") if fmt == "jsonl" else None  # noqa: SIM115
        self._parquet = pq.ParquetWriter(self.path, schema) if fmt != "jsonl" else None

    def write(self, rows: list[dict]) -> None:
        if not rows:
            return
        self.count += len(rows)
        if self._jsonl is not None:
            for row in rows:
                self._jsonl.write(json.dumps(row, default=_json_default, ensure_ascii=False) + "\n")
        else:
            assert self._parquet is not None
            self._parquet.write_batch(pa.RecordBatch.from_pylist(rows, schema=self.schema))

    def close(self) -> None:
        if self._jsonl is not None:
            self._jsonl.close()
        if self._parquet is not None:
            self._parquet.close()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _parquet_split(path: Path, cache: str) -> Any:
    import datasets

    if pq.ParquetFile(path).metadata.num_rows == 0:  # from_parquet refuses an empty file; keep its schema
        return datasets.Dataset(pq.read_schema(path).empty_table())
    return datasets.Dataset.from_parquet(str(path), cache_dir=cache)


def parquet_to_hf(parquet: dict[str, Path], out: Path) -> list[Path]:
    """One ``DatasetDict`` (splits ``tasks`` and ``pairs``) that ``datasets.load_from_disk(out)`` opens,
    built from the Parquet files through a memory-mapped cache, never loaded whole."""
    import datasets

    for name in parquet:
        if (out / name).exists():
            shutil.rmtree(out / name)
    bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # the export has its own progress; theirs would print per split
    try:
        with tempfile.TemporaryDirectory(dir=out, prefix=".cache-") as cache:
            splits = {name: _parquet_split(p, cache) for name, p in parquet.items()}
            # an empty split needs one (empty) shard: with none, datasets 5.2 cannot load it back
            shards = {name: 1 for name, ds in splits.items() if len(ds) == 0}
            datasets.DatasetDict(splits).save_to_disk(str(out), num_shards=shards or None)
    finally:
        if bars:
            datasets.enable_progress_bars()
    return [out / name for name in parquet]


def export_dataset(
    db_url: str,
    out: Path,
    fmt: str = "parquet",
    since: datetime | None = None,
    batch_size: int = 256,
    progress: Callable[[int], None] | None = None,
    pairs: PairOptions | None = None,
) -> ExportSummary:
    """Write ``tasks`` and ``pairs`` tables under ``out`` in ``fmt`` (jsonl | parquet | hf) and the card ``README.md``."""
    opts = pairs or PairOptions()
    if fmt not in FORMATS:
        raise DojoError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if opts.fmt not in PAIRS_FORMATS:
        raise DojoError(f"unknown pairs format {opts.fmt!r}: expected one of {', '.join(PAIRS_FORMATS)}")
    if opts.truncation not in TRUNCATION_MODES:
        raise DojoError(f"unknown truncation mode {opts.truncation!r}: expected one of {', '.join(TRUNCATION_MODES)}")
    if opts.min_margin is not None and not 0 <= opts.min_margin <= 1:
        raise DojoError(f"--min-margin must lie in [0, 1] (margins are on the normalised scale), got {opts.min_margin}")
    if opts.max_tokens is not None and opts.max_tokens < 1:
        raise DojoError(f"--max-tokens must be a positive number of tokens, got {opts.max_tokens}")
    if out.exists() and not out.is_dir():
        raise DojoError(f"{out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    db = Database(db_url)
    counts = PairCounts()
    staging = Path(tempfile.mkdtemp(dir=out, prefix=".staging-")) if fmt == "hf" else out
    tasks_w = _Writer(staging, "tasks", TASK_SCHEMA, fmt)
    pairs_w = _Writer(staging, "pairs", pair_schema(opts.fmt), fmt)
    try:
        for rows, pair_rows, seen in iter_batches(db, since, batch_size, opts, counts):
            tasks_w.write(rows)
            pairs_w.write(pair_rows)
            if progress:
                progress(seen)
    finally:
        tasks_w.close()
        pairs_w.close()
        db.dispose()
    files = [tasks_w.path, pairs_w.path]
    if fmt == "hf":
        try:
            files = parquet_to_hf({"tasks": tasks_w.path, "pairs": pairs_w.path}, out)
        finally:
            shutil.rmtree(staging)
    summary = ExportSummary(
        out=out, format=fmt, tasks=tasks_w.count, pairs=pairs_w.count, files=files, counts=counts, options=opts
    )
    card = out / "README.md"
    card.write_text(render_card(card_facts(summary)), encoding="utf-8")
    summary.files.append(card)
    return summary


def card_facts(summary: ExportSummary) -> CardFacts:
    """What the dataset card says about this export."""
    o, c = summary.options, summary.counts
    return CardFacts(
        fmt=summary.format,
        pairs_format=o.fmt,
        tasks=summary.tasks,
        pairs=summary.pairs,
        min_margin=summary.min_margin_text,
        below_margin=c.below_margin,
        max_tokens=o.max_tokens,
        truncation=o.truncation,
        same_when_truncated=c.same_when_truncated,
    )
