"""``dojo validator``: run a validator (tasks out to miners, results in, scores, weights on the chain)."""

from __future__ import annotations

from typing import Optional

import typer

from dojo.cli.options import (
    Home,
    Netuid,
    Network,
    Profile,
    WalletHotkey,
    WalletName,
    WalletPath,
    service_overrides,
    service_settings,
)


def validator(
    db_url: Optional[str] = typer.Option(
        None,
        "--db-url",
        help="Store URL: sqlite:///FILE or postgresql+psycopg://… (env DOJO_VALIDATOR_DB_URL, default <home>/validator.db).",
    ),
    task_source: Optional[str] = typer.Option(
        None,
        "--task-source",
        help="'api' (the synthetic API) or 'procedural' (in-process) (env DOJO_VALIDATOR_TASK_SOURCE, default api).",
    ),
    synthetic_api_url: Optional[str] = typer.Option(
        None,
        "--synthetic-api-url",
        help="Synthetic API (env DOJO_VALIDATOR_SYNTHETIC_API_URL, default http://127.0.0.1:5003).",
    ),
    tasks_per_round: Optional[int] = typer.Option(None, "--tasks-per-round", min=1, max=1000, help="Tasks per round."),
    seed: Optional[int] = typer.Option(
        None, "--seed", help="Make tasks, shuffles and ids reproducible (tests, local networks)."
    ),
    rounds: Optional[int] = typer.Option(
        None, "--rounds", min=1, help="Stop after this many rounds are fed back (default: run forever)."
    ),
    external_api_port: Optional[int] = typer.Option(
        None, "--external-api-port", min=1, max=65535, help="External-task API port (default 1888)."
    ),
    wallet_name: WalletName = None,
    wallet_hotkey: WalletHotkey = None,
    wallet_path: WalletPath = None,
    network: Network = None,
    netuid: Netuid = None,
    profile: Profile = None,
    home: Home = None,
) -> None:
    """Run a validator: send each miner its own copy of every task, score the labels, set weights."""
    import asyncio

    from dojo.validator.service import run_validator

    overrides = service_overrides(
        home=home,
        profile=profile,
        network=network,
        netuid=netuid,
        wallet_name=wallet_name,
        wallet_hotkey=wallet_hotkey,
        wallet_path=wallet_path,
        validator__db_url=db_url,
        validator__task_source=task_source,
        validator__synthetic_api_url=synthetic_api_url,
        validator__tasks_per_round=tasks_per_round,
        validator__seed=seed,
        validator__external_api_port=external_api_port,
    )
    settings = service_settings(overrides)
    try:
        asyncio.run(run_validator(settings, max_rounds=rounds))
    except KeyboardInterrupt:
        pass
