"""Dataset export: one row per labelled task, preference pairs, every format loads."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from storefill import T0, Spec, fill_store

from dojo.dataset import export_dataset


def _fill(url: str, n_tasks: int, labelled: int, state: str = "scored") -> list[str]:
    """Tasks 0..n-1; the first ``labelled`` get two labellers (one agreeing with the truth, one not)."""
    two = [[10 - 3 * k for k in range(4)], [9 - 2 * k for k in range(4)]]
    return fill_store(
        url,
        [
            Spec(
                [f"<html>{i}-{k}</html>" for k in range(4)],
                two if i < labelled else [],
                labellers=["0xaaa", "0xbbb"],
                models=[f"m{k}" for k in range(4)],
                state=state,
            )
            for i in range(n_tasks)
        ],
    )


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
    # batches of 2 tasks are gathered into row groups of a few MiB, not one small row group per batch
    assert pq.ParquetFile(summary.files[0]).metadata.num_row_groups == 1


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


def test_a_stored_criterion_that_is_not_one_names_its_task(tmp_path: Path) -> None:
    from dojo.errors import DojoError

    url = f"sqlite:///{tmp_path / 'v.db'}"
    ids = fill_store(url, [Spec(["a", "b"], [[5, 5]], criteria={"type": "score", "min": 5, "max": 5})])
    with pytest.raises(DojoError, match=f"task {ids[0]}: the stored criteria .* not a valid criterion"):
        export_dataset(url, tmp_path / "out", fmt="parquet")


def test_stored_timestamps_of_either_database_become_utc() -> None:
    from datetime import datetime, timezone

    from dojo.dataset.rows import timestamps

    utc = timezone.utc
    sqlite_text = ["2026-11-01 00:00:03.123456", "2026-11-01 00:00:00", None]
    assert timestamps(sqlite_text).to_pylist() == [
        datetime(2026, 11, 1, 0, 0, 3, 123456, tzinfo=utc),
        datetime(2026, 11, 1, tzinfo=utc),
        None,
    ]
    # text Arrow does not parse as a plain timestamp (here: an offset) is read by Python
    assert timestamps(["2026-11-01T02:00:00+02:00"]).to_pylist() == [datetime(2026, 11, 1, tzinfo=utc)]
    naive = [datetime(2026, 11, 1, 5), datetime(2026, 11, 1, 6, tzinfo=utc)]  # PostgreSQL: naive UTC
    assert timestamps(naive).to_pylist() == [datetime(2026, 11, 1, 5, tzinfo=utc), datetime(2026, 11, 1, 6, tzinfo=utc)]
