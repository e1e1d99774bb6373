"""The local network end to end: real processes, simulated labellers, weights, balances, dataset."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest
from rich.console import Console

from dojo.localnet.crews import Crew, Strategy
from dojo.localnet.network import LocalnetConfig
from dojo.localnet.run import run_localnet
from dojo.localnet.skills import Skill

S = Skill


@pytest.mark.e2e
def test_local_network_ranks_crews_and_survives_a_dead_miner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    crews = [
        Crew.of([S.careful, S.careful, S.careful]),
        Crew(Strategy.lengthbot),
        Crew.of([S.adversarial, S.adversarial, S.random]),
        Crew.of([S.careful, S.careful, S.careful]),  # killed after round 1
        Crew(Strategy.copier, source=0),  # resells miner0's crew
    ]
    cfg = LocalnetConfig(
        miners=5,
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
    best, bot, worst, killed, copier = (rows[f"miner{i}"] for i in range(5))
    # weights and balances follow the crews' quality: careful first, adversarial earns nothing more than the bot
    assert best.weight > bot.weight >= worst.weight, text
    assert best.weight > copier.weight, text
    assert best.balance > worst.balance and best.balance > 0, text
    assert "Leaderboard" in text and "leaderboard.json" in text
    # the bots really labelled: the length bot read its copies, the copier resold miner0's crew
    assert bot.labels > 0 and copier.labels > 0 and bot.tasks > 0 and copier.tasks > 0, text
    board = json.loads((tmp_path / "net" / "leaderboard.json").read_text())
    assert [b["crew"] for b in board] == [
        "careful,careful,careful",
        "lengthbot",
        "adversarial,adversarial,random",
        "careful,careful,careful",
        "copier:0",
    ]
    for b, r in zip(board, result.miners, strict=True):
        assert (b["uid"], b["hotkey"], b["tasks"], b["weight"], b["balance"]) == (
            r.uid,
            r.hotkey,
            r.tasks,
            r.weight,
            r.balance,
        )
        assert b["score"] == r.mean_task_score and b["running"] == r.running_score
    # the killed miner: the run went on, its score fell, the summary says so
    assert killed.killed and killed.score_before_kill is not None
    assert killed.running_score is not None and killed.running_score < killed.score_before_kill, text
    assert "miner3 was down for the later rounds" in text
    # the external task was judged by people
    assert result.external and result.external[0]["state"] == "done", result.external
    # Only miners with a proven ground-truth record vote (DESIGN §7): which of them the external task
    # reached depends on when it was queued, so at least one person's labels count, never none.
    judged = result.external[0]["result"]
    assert judged["labellers"] >= 1 and len(judged["scores"]) >= 2, result.external
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
