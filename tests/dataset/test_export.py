"""Dataset export: one row per labelled task, preference pairs, every format loads."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dojo.dataset import export_dataset
from dojo.validator.store.db import Database
from dojo.validator.store.models import Assignment, Result, Round, Task

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def _fill(url: str, n_tasks: int, labelled: int, state: str = "scored") -> list[str]:
    """Tasks 0..n-1; the first ``labelled`` get two labellers (one agreeing with the truth, one not)."""
    db = Database(url)
    ids = []
    with db.transaction() as s:
        s.add(Round(id=1, state="scored", created_at=T0))
        for i in range(n_tasks):
            tid = str(uuid.uuid4())
            ids.append(tid)
            cids = [str(uuid.uuid4()) for _ in range(4)]
            s.add(
                Task(
                    id=tid,
                    round_id=1,
                    position=i,
                    source="synthetic",
                    state=state,
                    prompt=f"make thing {i}",
                    criteria={"type": "score", "min": 1, "max": 10},
                    responses=[
                        {"completion_id": c, "content": f"<html>{i}-{k}</html>", "model": f"m{k}"}
                        for k, c in enumerate(cids)
                    ],
                    ground_truth={c: k for k, c in enumerate(cids)},
                    created_at=T0 + timedelta(minutes=i),
                )
            )
            s.flush()
            a = Assignment(
                task_id=tid,
                uid=1,
                hotkey="5Fminer",
                address="http://x",
                miner_task_id=str(uuid.uuid4()),
                completion_map={c: c for c in cids},
                payload={},
                expire_at=T0,
                state="collected",
                updated_at=T0,
            )
            s.add(a)
            s.flush()
            if i < labelled:
                for k, c in enumerate(cids):
                    s.add(
                        Result(
                            assignment_id=a.id, labeller_id="0xaaa", completion_id=c, value=10 - 3 * k, submitted_at=T0
                        )
                    )
                    s.add(
                        Result(
                            assignment_id=a.id, labeller_id="0xbbb", completion_id=c, value=9 - 2 * k, submitted_at=T0
                        )
                    )
    db.dispose()
    return ids


def test_parquet_rows_and_pairs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    _fill(url, n_tasks=7, labelled=5)
    summary = export_dataset(url, tmp_path / "out", fmt="parquet", batch_size=2)
    tasks = pq.read_table(summary.files[0]).to_pylist()
    assert summary.tasks == 5 and len(tasks) == 5
    first = tasks[0]
    assert first["prompt"] == "make thing 0" and first["n_labellers"] == 2
    assert first["agreement"] == pytest.approx(1.0)  # both labellers agree on the order
    agg = [a["value"] for a in first["aggregate"]]
    assert agg == sorted(agg, reverse=True) and agg[0] == pytest.approx((1.0 + 8 / 9) / 2)
    assert [g["rank"] for g in first["ground_truth"]] == [0, 1, 2, 3]
    pairs = pq.read_table(summary.files[1]).to_pylist()
    assert len(pairs) == 5 * 6  # every pair of 4 completions differs
    p = pairs[0]
    assert set(p) >= {"prompt", "chosen", "rejected", "margin"} and p["margin"] > 0
    assert p["chosen"] == "<html>0-0</html>" and p["rejected"] == "<html>0-1</html>"


def test_jsonl_and_since(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    _fill(url, n_tasks=6, labelled=6)
    summary = export_dataset(url, tmp_path / "out", fmt="jsonl", since=T0 + timedelta(minutes=4))
    lines = (tmp_path / "out" / "tasks.jsonl").read_text().splitlines()
    assert summary.tasks == 2 and [json.loads(x)["prompt"] for x in lines] == ["make thing 4", "make thing 5"]


def test_unscored_tasks_are_not_exported(tmp_path: Path) -> None:
    """Before its round is scored a task's ground truth is secret, so it stays out."""
    url = f"sqlite:///{tmp_path / 'v.db'}"
    _fill(url, n_tasks=3, labelled=3, state="dispatched")
    assert export_dataset(url, tmp_path / "out", fmt="parquet").tasks == 0


def test_hf_folder_loads_with_datasets(tmp_path: Path) -> None:
    import datasets

    url = f"sqlite:///{tmp_path / 'v.db'}"
    _fill(url, n_tasks=4, labelled=3)
    export_dataset(url, tmp_path / "out", fmt="hf")
    tasks = datasets.load_from_disk(str(tmp_path / "out" / "tasks"))
    pairs = datasets.load_from_disk(str(tmp_path / "out" / "pairs"))
    assert len(tasks) == 3 and len(pairs) == 18
    assert {"prompt", "chosen", "rejected"} <= set(pairs.column_names)
    assert not any(p.name.startswith(".staging") for p in (tmp_path / "out").iterdir())


def test_postgres_store(pg_url: str, tmp_path: Path) -> None:
    _fill(pg_url, n_tasks=3, labelled=2)
    assert export_dataset(pg_url, tmp_path / "out", fmt="parquet", batch_size=1).tasks == 2


def test_bad_format_is_clear(tmp_path: Path) -> None:
    from dojo.errors import DojoError

    with pytest.raises(DojoError, match="unknown format"):
        export_dataset(f"sqlite:///{tmp_path / 'v.db'}", tmp_path / "out", fmt="csv")
