"""Exports trainers take as they are: one DatasetDict, typed structs, string ids, TRL's pair formats,
margin and truncation filters, and a dataset card — each format loaded by the real ``datasets``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from storefill import SCORE, Spec, fill_store

from dojo.dataset import PairOptions, export_dataset
from dojo.dataset.pairs import same_when_truncated, tokens

HEAD = "<html><body>" + " ".join(f"<p>line {k}</p>" for k in range(200))


def fill(url: str, tasks: list[tuple[list[str], list[list[float]], dict]]) -> None:
    """One scored task per ``(contents, per-labeller values, criteria)``."""
    fill_store(url, [Spec(contents, values, criteria) for contents, values, criteria in tasks])


@pytest.fixture
def url(tmp_path: Path) -> str:
    u = f"sqlite:///{tmp_path / 'v.db'}"
    fill(
        u,
        [
            # clear preferences: 4 answers, 3 labellers
            ([f"<p>a{k}</p>" for k in range(4)], [[10, 7, 4, 1], [9, 7, 5, 3], [10, 8, 3, 2]], SCORE),
            # a ranking task: 3 answers
            ([f"<p>r{k}</p>" for k in range(3)], [[0, 1, 2], [0, 2, 1]], {"type": "ranking"}),
        ],
    )
    return u


def test_hf_is_one_datasetdict_with_typed_structs_and_string_ids(url: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export_dataset(url, out, fmt="hf")
    dd = datasets.load_from_disk(str(out))
    assert isinstance(dd, datasets.DatasetDict) and set(dd) == {"tasks", "pairs"}
    tasks, pairs = dd["tasks"], dd["pairs"]
    assert len(tasks) == 2
    crit = tasks.features["criteria"]
    assert {k: v.dtype for k, v in crit.items()} == {"type": "string", "min": "int32", "max": "int32"}
    assert tasks[0]["criteria"] == {"type": "score", "min": 1, "max": 10}
    assert tasks[1]["criteria"] == {"type": "ranking", "min": None, "max": None}
    assert tasks.features["task_id"].dtype == "string"
    assert tasks.features["responses"].feature["completion_id"].dtype == "string"
    for col in ("prompt", "chosen", "rejected"):
        assert pairs.features[col].dtype == "string"
    assert {"margin", "task_id", "chosen_id", "rejected_id"} <= set(pairs.column_names)
    assert not any(p.name.startswith(".") for p in out.iterdir())
    assert (out / "README.md").exists()


def test_parquet_and_jsonl_load_with_datasets_and_the_card_configs(url: str, tmp_path: Path) -> None:
    for fmt in ("parquet", "jsonl"):
        out = tmp_path / fmt
        summary = export_dataset(url, out, fmt=fmt)
        # the card's YAML header names the data files, so the folder loads by config name alone
        pairs = datasets.load_dataset(str(out), "pairs", split="train")
        tasks = datasets.load_dataset(str(out), "tasks", split="train")
        assert len(pairs) == summary.pairs and len(tasks) == summary.tasks == 2
        assert {"prompt", "chosen", "rejected"} <= set(pairs.column_names)
        assert all(isinstance(p["chosen"], str) and p["chosen"] != p["rejected"] for p in pairs)
        assert all(isinstance(t["task_id"], str) for t in tasks)
        assert tasks[0]["criteria"]["type"] == "score"
    schema = pq.read_schema(tmp_path / "parquet" / "tasks.parquet")
    assert pa.types.is_struct(schema.field("criteria").type)
    assert all(schema.field(f).type == pa.string() for f in ("task_id", "external_id"))
    first = json.loads((tmp_path / "jsonl" / "tasks.jsonl").read_text().splitlines()[0])
    assert first["criteria"] == {"type": "score", "min": 1, "max": 10} and isinstance(first["task_id"], str)
    assert all(isinstance(r["completion_id"], str) for r in first["responses"])


def test_conversational_pairs_are_trl_message_lists(url: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export_dataset(url, out, fmt="hf", pairs=PairOptions(fmt="conversational"))
    pairs = datasets.load_from_disk(str(out))["pairs"]
    p = pairs[0]
    assert p["prompt"] == [{"role": "user", "content": "make thing 0"}]
    assert p["chosen"] == [{"role": "assistant", "content": "<p>a0</p>"}]
    assert p["rejected"][0]["role"] == "assistant"
    conv = datasets.load_dataset("parquet", data_files=str(_parquet(url, tmp_path, "conversational")), split="train")
    assert conv[0]["chosen"][0]["content"] == "<p>a0</p>"


def _parquet(url: str, tmp_path: Path, fmt: str) -> Path:
    export_dataset(url, tmp_path / f"pq-{fmt}", fmt="parquet", pairs=PairOptions(fmt=fmt))
    return tmp_path / f"pq-{fmt}" / "pairs.parquet"


def test_min_margin_auto_is_one_point_of_the_tasks_scale(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    # answers 0 and 1 differ by one point of one labeller out of three: mean margin 1/27 < 1/9
    fill(url, [([f"<p>{k}</p>" for k in range(3)], [[8, 8, 2], [8, 8, 2], [9, 8, 2]], SCORE)])
    auto = export_dataset(url, tmp_path / "auto", fmt="jsonl")
    assert auto.pairs == 2 and auto.counts.below_margin == 1
    assert "auto" in auto.min_margin_text and "0.111" in auto.min_margin_text
    keep = export_dataset(url, tmp_path / "all", fmt="jsonl", pairs=PairOptions(min_margin=0.0))
    assert keep.pairs == 3 and keep.counts.below_margin == 0
    margins = [json.loads(x)["margin"] for x in (tmp_path / "all" / "pairs.jsonl").read_text().splitlines()]
    assert min(margins) == pytest.approx(1 / 27)
    strict = export_dataset(url, tmp_path / "strict", fmt="jsonl", pairs=PairOptions(min_margin=0.9))
    assert strict.pairs == 0 and strict.counts.below_margin == 3


def test_pairs_identical_under_the_token_budget_are_dropped_or_flagged(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    # three answers share a long head and differ only at the end
    contents = [HEAD + f" <p>ending {k}</p></body></html>" for k in range(3)]
    fill(url, [(contents, [[10, 5, 1]], SCORE), (["<p>x</p>", "<p>y</p>"], [[9, 2]], SCORE)])
    n_head = len(tokens(HEAD, 10**6))
    dropped = export_dataset(url, tmp_path / "d", fmt="parquet", pairs=PairOptions(max_tokens=n_head // 2))
    assert dropped.pairs == 1 and dropped.counts.same_when_truncated == 3 and dropped.counts.dropped_truncated == 3
    flagged = export_dataset(
        url, tmp_path / "f", fmt="parquet", pairs=PairOptions(max_tokens=n_head // 2, truncation="flag")
    )
    rows = pq.read_table(tmp_path / "f" / "pairs.parquet").to_pylist()
    assert flagged.pairs == 4 and sorted(r["same_when_truncated"] for r in rows) == [False, True, True, True]
    roomy = export_dataset(url, tmp_path / "r", fmt="parquet", pairs=PairOptions(max_tokens=n_head + 50))
    assert roomy.pairs == 4 and roomy.counts.same_when_truncated == 0
    card = (tmp_path / "d" / "README.md").read_text()
    assert "3 pairs became identical" in card and "dropped" in card


def test_truncation_counts_the_prompt_too() -> None:
    assert same_when_truncated(5, "a b c", "a b d", 7)  # budget 2 tokens: "a b" both
    assert not same_when_truncated(5, "a b c", "a b d", 8)
    assert same_when_truncated(9, "x", "y", 9)  # the prompt alone fills the budget


def test_card_lists_fields_labels_and_a_licence_placeholder(url: str, tmp_path: Path) -> None:
    export_dataset(url, tmp_path / "out", fmt="parquet")
    card = (tmp_path / "out" / "README.md").read_text()
    assert card.startswith("---\nlicense: other")
    assert "TODO" in card and "## How the labels were made" in card and "## Licence" in card
    for name in ("task_id", "criteria", "labels", "aggregate", "agreement", "ground_truth", "chosen", "margin"):
        assert f"`{name}`" in card
    assert "2 labelled tasks" in card


def test_cli_flags_and_printed_counts(url: str, tmp_path: Path, capsys, monkeypatch) -> None:
    sys.path.insert(0, str(Path(__file__).parents[1] / "cli"))
    from clirun import run_dojo

    out = tmp_path / "cli"
    args = ["dataset", "export", "--out", str(out), "--db-url", url, "--format", "hf"]
    r = run_dojo(
        [*args, "--pairs-format", "conversational", "--max-tokens", "3", "--truncated", "flag"], capsys, monkeypatch
    )
    assert r.code == 0, r.err
    assert "identical when cut to 3 tokens" in r.out and "flagged" in r.out and "min margin auto" in r.out
    assert datasets.load_from_disk(str(out))["pairs"][0]["prompt"][0]["role"] == "user"
    bad = run_dojo([*args, "--min-margin", "lots"], capsys, monkeypatch)
    assert bad.code == 2 and "--min-margin 'lots' is not a number" in bad.err
    bad = run_dojo([*args, "--pairs-format", "chatml"], capsys, monkeypatch)
    assert bad.code == 2 and "unknown pairs format 'chatml'" in bad.err


def test_an_empty_store_still_writes_every_format(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    fill(url, [])
    for fmt in ("jsonl", "parquet", "hf"):
        assert export_dataset(url, tmp_path / fmt, fmt=fmt).tasks == 0
    dd = datasets.load_from_disk(str(tmp_path / "hf"))
    assert len(dd["pairs"]) == 0 and "chosen" in dd["pairs"].column_names
