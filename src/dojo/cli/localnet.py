"""``dojo localnet``: the whole subnet on this machine (DESIGN §11)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from dojo.localnet.crews import CREWS_HELP


def localnet(
    miners: Optional[int] = typer.Option(
        None, "--miners", min=1, max=16, help="How many miners [default: one per --crews crew, else 3]."
    ),
    crews: Optional[str] = typer.Option(
        None,
        "--crews",
        help=CREWS_HELP + " Default: a best, a middling and a bad crew of people.",
    ),
    rounds: int = typer.Option(4, "--rounds", min=1, max=100, help="Rounds the validator runs before the leaderboard."),
    tasks_per_round: int = typer.Option(3, "--tasks-per-round", min=1, max=50, help="Tasks in each round."),
    seed: int = typer.Option(0, "--seed", help="Seed for tasks, shuffles and labellers."),
    home: Optional[Path] = typer.Option(None, "--home", help="Data directory [default: a fresh temporary folder]."),
    keep_open: bool = typer.Option(False, "--keep-open", help="Leave the worker API(s) and miners up for a person."),
    shared_worker_api: bool = typer.Option(False, "--shared-worker-api", help="One worker API for all miners."),
    external_tasks: int = typer.Option(1, "--external-tasks", min=0, max=20, help="External tasks to submit."),
    deadline: float = typer.Option(10.0, "--deadline", min=3.0, max=600.0, help="Seconds a task stays open."),
    kill_miner: Optional[int] = typer.Option(None, "--kill-miner", help="Kill this miner (index) after round 1."),
    timeout: float = typer.Option(600.0, "--timeout", min=30.0, help="Give up after this many seconds."),
    export_format: str = typer.Option("parquet", "--export-format", help="Dataset format: jsonl, parquet or hf."),
) -> None:
    """Run a whole Dojo subnet on this machine: chain, synthetic API, worker API(s), miners, a validator and
    simulated labellers of different skill (or cheating bots); then print the leaderboard, write it as
    leaderboard.json in the home (per miner: uid, hotkey, crew, tasks, score, running, weight, balance)
    and write a dataset."""
    from dojo.errors import DojoError
    from dojo.localnet.crews import parse_crews
    from dojo.localnet.network import LocalnetConfig
    from dojo.localnet.run import run_localnet

    if export_format not in ("jsonl", "parquet", "hf"):
        raise DojoError(f"--export-format must be jsonl, parquet or hf, not {export_format!r}")
    try:
        crew_list = parse_crews(crews) if crews is not None else []
    except ValueError as exc:
        raise DojoError(f"--crews: {exc}") from None
    if miners is None:
        miners = len(crew_list) if crew_list else 3
    elif crew_list and miners < len(crew_list):
        raise DojoError(
            f"--crews names {len(crew_list)} crews but --miners is {miners}; "
            "give one crew per miner or fewer (they repeat)"
        )
    cfg = LocalnetConfig(
        miners=miners,
        crews=crew_list,
        rounds=rounds,
        tasks_per_round=tasks_per_round,
        seed=seed,
        home=home,
        keep_open=keep_open,
        shared_worker_api=shared_worker_api,
        external_tasks=external_tasks,
        deadline_s=deadline,
        kill_miner=kill_miner,
        timeout_s=timeout,
        export_format=export_format,
    )
    result = run_localnet(cfg)
    if result.failures:
        raise typer.Exit(1)
