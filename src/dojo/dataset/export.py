"""Stream the validator store into a dataset folder: JSON lines, Parquet, or a ``datasets`` DatasetDict.

Tasks are read from one ordered, streamed query in batches; each batch's result rows come in one
query as plain driver tuples, become Arrow columns (:mod:`rows`, :mod:`pairs`) and are written
before the next batch is read, so memory stays flat however large the store is. Only tasks whose
round was scored are exported: before that their ground truth is still secret. Every export also
writes its dataset card, ``README.md``.
"""

from __future__ import annotations

import gc
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dojo.dataset.card import CardFacts, render_card
from dojo.dataset.pairs import PAIRS_FORMATS, TRUNCATION_MODES, PairCounts, PairOptions, build_pairs, pair_schema
from dojo.dataset.rows import TASK_SCHEMA, Results, build_rows
from dojo.errors import DojoError
from dojo.validator.store.repo import ValidatorStore

FORMATS = ("jsonl", "parquet", "hf")


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
    store: ValidatorStore,
    since: datetime | None,
    batch_size: int,
    opts: PairOptions | None = None,
    counts: PairCounts | None = None,
) -> Iterator[tuple[pa.RecordBatch, pa.RecordBatch, int]]:
    """Yield ``(task rows, pair rows, tasks read)`` per batch of stored tasks, oldest first."""
    opts = opts or PairOptions()
    counts = counts if counts is not None else PairCounts()
    batches = store.export_batches(since, batch_size)
    while True:
        with _collector_paused():
            batch = next(batches, None)
            if batch is None:
                return
            tasks, copies, rows = batch
            labelled = build_rows(tasks, _results(copies, rows))  # type: ignore[arg-type]
            pairs = build_pairs(labelled, opts, counts)
        yield labelled.table, pairs, len(tasks)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No automatic garbage collection while one batch is read and built: it allocates tens of thousands
    of short-lived, acyclic tuples and strings (freed by reference counting), which the collector would
    otherwise rescan again and again (a fifth of the export's time). It runs again between batches."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _results(copies: list[tuple[Any, ...]], rows: list[tuple[Any, ...]]) -> Results:
    """The batch's copies and result rows (as the store reads them) as columns."""
    aid, task, hotkey = (list(c) for c in zip(*copies, strict=True)) if copies else ([], [], [])
    cols = list(zip(*rows, strict=True)) if rows else [(), (), (), (), ()]
    return Results(aid, task, hotkey, *cols)


#: Arrow bytes gathered into one Parquet row group: the writer keeps every row group's metadata
#: (~20 KB for the tasks table) until it closes the file, so one row group per batch would make memory
#: grow with the store; this bounds both the buffer and the number of row groups.
ROW_GROUP_BYTES = 4 * 2**20


class _Writer:
    """Writes batches of one table in one format."""

    def __init__(self, out: Path, name: str, schema: pa.Schema, fmt: str) -> None:
        self.schema, self.fmt = schema, fmt
        self.count = 0
        self.path = out / (f"{name}.jsonl" if fmt == "jsonl" else f"{name}.parquet")
        self._jsonl = open(self.path, "w", encoding="utf-8") if fmt == "jsonl" else None  # noqa: SIM115
        self._parquet = pq.ParquetWriter(self.path, schema) if fmt != "jsonl" else None
        self._pending: list[pa.RecordBatch] = []
        self._pending_bytes = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if not batch.num_rows:
            return
        self.count += batch.num_rows
        if self._jsonl is not None:
            rows = pa.RecordBatch.from_arrays(
                [_iso_times(c) for c in batch.columns], schema=None, names=batch.schema.names
            )
            self._jsonl.writelines(
                json.dumps(row, default=_json_default, ensure_ascii=False) + "\n" for row in rows.to_pylist()
            )
        else:
            self._pending.append(batch)
            self._pending_bytes += batch.nbytes
            if self._pending_bytes >= ROW_GROUP_BYTES:
                self._flush()

    def _flush(self) -> None:
        if self._pending and self._parquet is not None:
            group = pa.Table.from_batches(self._pending, schema=self.schema)
            self._parquet.write_table(group, row_group_size=group.num_rows)
        self._pending, self._pending_bytes = [], 0

    def close(self) -> None:
        if self._jsonl is not None:
            self._jsonl.close()
        if self._parquet is not None:
            self._flush()
            self._parquet.close()


def _iso_times(arr: pa.Array) -> pa.Array:
    """``arr`` with every timestamp, however deeply nested, as the text ``datetime.isoformat`` writes for it
    (``2026-11-01T00:00:03.123456+00:00``, no fraction when it is zero) — made by Arrow, not per value."""
    kind = arr.type
    mask = arr.is_null() if arr.null_count else None
    if pa.types.is_timestamp(kind):
        text = pc.replace_substring_regex(pc.strftime(arr, format="%Y-%m-%dT%H:%M:%S"), r"\.0{6}$", "")
        return pc.binary_join_element_wise(text, pa.scalar("+00:00"), "")
    if pa.types.is_struct(kind):
        children = [_iso_times(arr.field(i)) for i in range(kind.num_fields)]
        return pa.StructArray.from_arrays(children, names=[f.name for f in kind], mask=mask)
    if pa.types.is_list(kind):
        return pa.ListArray.from_arrays(arr.offsets, _iso_times(arr.values), mask=mask)
    return arr


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
    db = ValidatorStore(db_url)
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
