"""The local network's outcome: each miner's row of the leaderboard, and whether the weights rank
the miners as their crews' quality says they should."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dojo.localnet.crews import Crew, Strategy


@dataclass
class MinerResult:
    """A row of the leaderboard."""

    name: str
    hotkey: str
    uid: int
    crew: Crew
    mean_task_score: float | None
    running_score: float | None
    weight: float
    balance: float
    labels: int
    killed: bool
    score_before_kill: float | None = None
    tasks: int = 0  # tasks scored

    def as_json(self) -> dict[str, Any]:
        """One object of ``leaderboard.json``."""
        return {
            "miner": self.name,
            "uid": self.uid,
            "hotkey": self.hotkey,
            "crew": self.crew.spec,
            "strategy": self.crew.strategy.value,
            "tasks": self.tasks,
            "score": self.mean_task_score,
            "running": self.running_score,
            "weight": self.weight,
            "balance": self.balance,
            "labels": self.labels,
            "killed": self.killed,
        }


@dataclass
class LocalnetResult:
    """What a run of the local network produced."""

    home: Path
    miners: list[MinerResult]
    dataset_dir: Path | None
    dataset_tasks: int
    external: list[dict[str, Any]]
    failures: list[str]
    ranked_as_expected: bool


#: A reseller's hotkeys together (the resold miner and its copiers) may earn at most this times the resold miner.
RESALE_LIMIT = 1.1


def ranking_problems(rows: list[MinerResult]) -> list[str]:
    """Where the weights do not order the miners (those not killed) as their crews' quality does.

    A crew with signal (quality > 0) must out-earn every worse crew; crews without signal (bots
    count as quality 0, as do lazy and random people) need only not earn less than worse ones,
    since the scoring may rightly pay them all nothing. Copiers are their own category: the
    resold miner and its copiers together may earn at most :data:`RESALE_LIMIT` times the
    resold miner alone.
    """
    problems = []
    rated = [(r, r.crew.quality) for r in rows if not r.killed and r.crew.quality is not None]
    for better, qb in rated:
        for worse, qw in rated:
            if qb is None or qw is None or qb <= qw:
                continue
            if better.weight < worse.weight or (qb > 0 and better.weight <= worse.weight):
                problems.append(
                    f"{worse.name} ({worse.crew.label}) earns {worse.weight:.3f}, "
                    f"not less than {better.name} ({better.crew.label}) with {better.weight:.3f}"
                )
    by_name = {r.name: r for r in rows}
    for n in sorted({r.crew.source for r in rows if r.crew.strategy is Strategy.copier and r.crew.source is not None}):
        source = by_name.get(f"miner{n}")
        copiers = [r for r in rows if r.crew.strategy is Strategy.copier and r.crew.source == n]
        total = sum(c.weight for c in copiers)
        if source is not None and source.weight + total > RESALE_LIMIT * source.weight + 1e-9:
            problems.append(
                f"miner{n}'s copiers earn {total:.3f} on top of its {source.weight:.3f} "
                f"(together more than {RESALE_LIMIT}× miner{n})"
            )
    return problems


def ranked_as_expected(rows: list[MinerResult]) -> bool:
    """Do the weights order the miners as their crews' quality does? (see :func:`ranking_problems`)"""
    return not ranking_problems(rows)


def write_leaderboard(path: Path, rows: list[MinerResult]) -> Path:
    """``leaderboard.json``: one object per miner, in miner order."""
    path.write_text(json.dumps([r.as_json() for r in rows], indent=2) + "\n")
    return path
