"""``dojo localnet``: the whole subnet on this machine (DESIGN §11)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def localnet(
    miners: int = typer.Option(3, "--miners", min=1, max=16, help="How many miners."),
    crews: Optional[str] = typer.Option(
        None,
        "--crews",
        help="Each miner's labellers, miners separated by ';', e.g. 'careful,careful,careful;noisy,random,lazy'. "
        "Skills: careful, noisy, random, adversarial, lazy. Default: a best, a middling and a bad crew.",
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
    simulated labellers of different skill; then print the leaderboard and write a dataset."""
    from dojo.errors import DojoError
    from dojo.localnet.network import LocalnetConfig
    from dojo.localnet.run import run_localnet
    from dojo.localnet.skills import parse_crew

    if export_format not in ("jsonl", "parquet", "hf"):
        raise DojoError(f"--export-format must be jsonl, parquet or hf, not {export_format!r}")
    try:
        crew_list = [parse_crew(c) for c in crews.split(";")] if crews else []
    except ValueError as exc:
        raise DojoError(f"--crews: {exc}") from None
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
