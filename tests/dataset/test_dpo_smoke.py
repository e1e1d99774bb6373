"""scripts/dpo_smoke.py without TRL: its arguments, loading each export format, and the pairs it trains on.

The training itself needs torch, transformers and TRL, which the suite does not install; the README
gives the command and the numbers of a real run.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from storefill import Spec, fill_store

from dojo.dataset import PairOptions, export_dataset

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "dpo_smoke.py"


def _load() -> ModuleType:
    # scripts/ is not a package: load the script by path
    name = "dojo_scripts_dpo_smoke"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


dpo = _load()
HEAD = "<html><body>" + " ".join(f"<p>line {k}</p>" for k in range(50))


@pytest.fixture
def url(tmp_path: Path) -> str:
    u = f"sqlite:///{tmp_path / 'v.db'}"
    # answers that share a long start and differ only at the end, as procedural answers do
    fill_store(u, [Spec([f"{HEAD}<p>a{k}</p>" for k in range(3)], [[9, 5, 1], [10, 6, 2]])])
    return u


def test_arguments_default_to_a_run_that_keeps_the_configuration_block() -> None:
    args = dpo.parse_args(["data"])
    assert args.export == Path("data")
    assert (args.steps, args.pairs, args.batch_size, args.max_length) == (16, 16, 4, 1024)
    args = dpo.parse_args(["d", "--steps", "3", "--pairs", "5", "--max-length", "512", "--learning-rate", "0.01"])
    assert (args.steps, args.pairs, args.max_length, args.learning_rate) == (3, 5, 512, 0.01)
    for bad in (["d", "--steps", "0"], ["d", "--max-length", "-1"], []):
        with pytest.raises(SystemExit):
            dpo.parse_args(bad)


@pytest.mark.parametrize("fmt", ["hf", "parquet", "jsonl"])
def test_loads_the_pairs_of_every_export_format(url: str, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / fmt
    summary = export_dataset(url, out, fmt=fmt)
    pairs = dpo.load_pairs(out)
    assert len(pairs) == summary.pairs == 3
    rows = list(pairs)
    assert all(r["chosen"].endswith("<p>a0</p>") or r["chosen"].endswith("<p>a1</p>") for r in rows)
    texts = dpo.texts_of(rows)
    assert len(texts) == 9 and texts[0] == "make thing 0" and all(isinstance(t, str) for t in texts)


def test_conversational_pairs_give_their_message_texts(url: str, tmp_path: Path) -> None:
    out = tmp_path / "conv"
    export_dataset(url, out, fmt="parquet", pairs=PairOptions(fmt="conversational"))
    rows = list(dpo.load_pairs(out))
    assert rows[0]["prompt"][0]["role"] == "user"
    texts = dpo.texts_of(rows)
    assert len(texts) == 9 and texts[0] == "make thing 0" and texts[1].startswith("<html>")


def test_a_folder_without_an_export_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no export found"):
        dpo.load_pairs(tmp_path)


def test_pairs_identical_once_cut_are_left_out(url: str, tmp_path: Path) -> None:
    export_dataset(url, tmp_path / "out", fmt="jsonl")
    rows = list(dpo.load_pairs(tmp_path / "out"))

    def words(prompt: str, answer: str) -> list[int]:  # a stand-in tokenizer: one id per word
        return [hash(w) for w in (prompt + answer).replace("<", " <").split()]

    n = len(words(rows[0]["prompt"], rows[0]["chosen"]))
    assert dpo.distinct_when_cut(rows, words, n - 2) == []  # the answers differ only in their last word
    assert dpo.distinct_when_cut(rows, words, n) == [0, 1, 2]
    same = dict(rows[0], rejected=rows[0]["chosen"])
    assert dpo.distinct_when_cut([same, rows[1]], words, 10_000) == [1]


def test_training_counts_only_when_the_loss_falls() -> None:
    assert dpo.fell(0.6931, 0.0007)
    assert not dpo.fell(0.6931, 0.6931) and not dpo.fell(0.6931, float("nan"))


def test_without_trl_it_says_how_to_install_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in ("torch", "transformers", "trl"):
        monkeypatch.setitem(sys.modules, name, None)  # an import of it raises ImportError
    assert dpo.main([str(tmp_path)]) == 2
    assert "pip install 'trl>=1.13' torch" in capsys.readouterr().err
