"""The local network end to end: real processes, simulated labellers, weights, balances, dataset."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from rich.console import Console

from dojo.localnet.network import LocalnetConfig
from dojo.localnet.run import run_localnet
from dojo.localnet.skills import Skill

S = Skill


@pytest.mark.e2e
def test_local_network_ranks_crews_and_survives_a_dead_miner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    crews = [
        [S.careful, S.careful, S.careful],
        [S.random, S.random, S.lazy],
        [S.adversarial, S.adversarial, S.random],
        [S.careful, S.careful, S.careful],  # killed after round 1
    ]
    cfg = LocalnetConfig(
        miners=4,
        crews=crews,
        rounds=3,
        tasks_per_round=3,
        seed=1,
        home=tmp_path / "net",
        external_tasks=1,
        deadline_s=8.0,
        kill_miner=3,
        timeout_s=240,
        export_format="hf",
    )
    out = io.StringIO()
    result = run_localnet(cfg, Console(file=out, width=160))
    text = out.getvalue()

    assert result.failures == [], text
    rows = {r.name: r for r in result.miners}
    best, mid, worst, killed = rows["miner0"], rows["miner1"], rows["miner2"], rows["miner3"]
    # weights and balances follow the crews' quality: careful first, adversarial last
    assert best.weight > mid.weight > worst.weight, text
    assert best.balance > worst.balance and best.balance > 0, text
    assert result.ranked_as_expected
    assert "Leaderboard" in text and "rank the miners by the quality of their crews" in text
    # the killed miner: the run went on, its score fell, the summary says so
    assert killed.killed and killed.score_before_kill is not None
    assert killed.running_score is not None and killed.running_score < killed.score_before_kill, text
    assert "miner3 was down for the later rounds" in text
    # the external task was judged by people
    assert result.external and result.external[0]["state"] == "done", result.external
    assert result.external[0]["result"]["labellers"] >= 3
    # the dataset has one row per labelled task, and loads
    import datasets

    tasks = datasets.load_from_disk(str(result.dataset_dir / "tasks"))
    pairs = datasets.load_from_disk(str(result.dataset_dir / "pairs"))
    db = sqlite3.connect(tmp_path / "net" / "validator.db")
    labelled = db.execute(
        "SELECT COUNT(DISTINCT a.task_id) FROM results r JOIN assignments a ON a.id = r.assignment_id"
    ).fetchone()[0]
    db.close()
    assert labelled > 0 and len(tasks) == labelled == result.dataset_tasks
    assert len(pairs) > 0 and {"prompt", "chosen", "rejected", "margin"} <= set(pairs.column_names)
