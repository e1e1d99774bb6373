"""Stream the validator store into a dataset folder: JSON lines, Parquet, or a ``datasets`` folder.

Tasks are read in keyset-paginated batches and written batch by batch, so memory stays flat
however large the store is. Only tasks whose round was scored are exported: before that their
ground truth is still secret.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from dojo.dataset.rows import PAIR_SCHEMA, TASK_SCHEMA, build_rows
from dojo.errors import DojoError
from dojo.validator.states import TaskState
from dojo.validator.store.db import Database
from dojo.validator.store.models import Assignment, Task

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


def iter_batches(db: Database, since: datetime | None, batch_size: int) -> Iterator[tuple[list[dict], list[dict], int]]:
    """Yield ``(task rows, pair rows, tasks read)`` per batch of stored tasks, oldest first."""
    last: tuple[datetime, str] | None = None
    while True:
        q = (
            sa.select(Task)
            .where(Task.state.in_(EXPORTABLE))
            .options(selectinload(Task.assignments).selectinload(Assignment.results))
            .order_by(Task.created_at, Task.id)
            .limit(batch_size)
        )
        if since is not None:
            q = q.where(Task.created_at >= since)
        if last is not None:
            q = q.where(sa.tuple_(Task.created_at, Task.id) > sa.tuple_(*last))
        with db.transaction() as s:
            tasks = s.scalars(q).all()
            rows: list[dict] = []
            pairs: list[dict] = []
            for t in tasks:
                row, task_pairs = build_rows(t)
                if row is not None:
                    rows.append(row)
                    pairs.extend(task_pairs)
        if not tasks:
            return
        last = (tasks[-1].created_at, tasks[-1].id)
        yield rows, pairs, len(tasks)


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


def _to_hf(parquet_path: Path, target: Path) -> None:
    """A folder ``datasets.load_from_disk`` opens, built from the Parquet file without loading it whole."""
    import datasets

    with tempfile.TemporaryDirectory(dir=target.parent) as cache:
        ds = datasets.Dataset.from_parquet(str(parquet_path), cache_dir=cache, keep_in_memory=False)
        ds.save_to_disk(str(target))


def export_dataset(
    db_url: str,
    out: Path,
    fmt: str = "parquet",
    since: datetime | None = None,
    batch_size: int = 256,
    progress: Callable[[int], None] | None = None,
) -> ExportSummary:
    """Write ``tasks`` and ``pairs`` tables under ``out`` in ``fmt`` (jsonl | parquet | hf)."""
    if fmt not in FORMATS:
        raise DojoError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if out.exists() and not out.is_dir():
        raise DojoError(f"{out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    db = Database(db_url)
    staging = Path(tempfile.mkdtemp(dir=out, prefix=".staging-")) if fmt == "hf" else out
    tasks_w = _Writer(staging, "tasks", TASK_SCHEMA, fmt)
    pairs_w = _Writer(staging, "pairs", PAIR_SCHEMA, fmt)
    try:
        for rows, pairs, seen in iter_batches(db, since, batch_size):
            tasks_w.write(rows)
            pairs_w.write(pairs)
            if progress:
                progress(seen)
    finally:
        tasks_w.close()
        pairs_w.close()
        db.dispose()
    files = [tasks_w.path, pairs_w.path]
    if fmt == "hf":
        files = []
        for name, w in (("tasks", tasks_w), ("pairs", pairs_w)):
            target = out / name
            if target.exists():
                shutil.rmtree(target)
            _to_hf(w.path, target)
            files.append(target)
        shutil.rmtree(staging)
    return ExportSummary(out=out, format=fmt, tasks=tasks_w.count, pairs=pairs_w.count, files=files)
