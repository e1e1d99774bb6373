"""Which command groups the ``dojo`` command shows. Add a line when a group works end to end.

Each entry imports its module lazily so ``dojo --help`` stays quick (bittensor is slow to import:
modules import it inside their commands).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib import import_module
from typing import Any

import typer

# (command name, module, attribute holding a typer.Typer, help text)
GROUPS: list[tuple[str, str, str, str]] = [
    ("wallet", "dojo.cli.wallet", "app", "Create and list bittensor wallets."),
    ("chain", "dojo.cli.chain", "app", "The local chain: init, register, stake, metagraph, balances."),
    (
        "keys",
        "dojo.cli.keys",
        "app",
        "Key shell (run alone) or one action: api-key / subscription-key list, generate, delete.",
    ),
    ("dataset", "dojo.cli.dataset", "app", "Datasets from the validator store: export as jsonl, parquet or hf."),
    ("external", "dojo.cli.external", "app", "External tasks: submit a file for human judgement, follow, fetch."),
    ("synthetic", "dojo.cli.synthetic", "app", "Synthetic tasks: write one out to open in a browser, check documents."),
    ("autoupdate", "dojo.cli.autoupdate", "app", "Update a git checkout: check, apply (migrate, restart, roll back)."),
]

# (command name, module, attribute holding a function) for single commands
COMMANDS: list[tuple[str, str, str]] = [
    ("localnet", "dojo.cli.localnet", "localnet"),
    ("worker-api", "dojo.cli.worker_api", "worker_api"),
    ("miner", "dojo.cli.miner", "miner"),
    ("validator", "dojo.cli.validator", "validator"),
    ("synthetic-api", "dojo.cli.synthetic", "synthetic_api"),
    ("status", "dojo.cli.status", "status"),
]


def groups() -> Iterator[tuple[str, typer.Typer, str]]:
    for name, module, attr, help_text in GROUPS:
        yield name, getattr(import_module(module), attr), help_text


def commands() -> Iterator[tuple[str, Callable[..., Any]]]:
    for name, module, attr in COMMANDS:
        yield name, getattr(import_module(module), attr)
