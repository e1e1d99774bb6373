"""Command-line options shared by the service commands, defined once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

WalletName = Annotated[Optional[str], typer.Option("--wallet.name", "--wallet-name", help="Coldkey name.")]
WalletHotkey = Annotated[Optional[str], typer.Option("--wallet.hotkey", "--wallet-hotkey", help="Hotkey name.")]
WalletPath = Annotated[Optional[Path], typer.Option("--wallet.path", "--wallet-path", help="Wallets directory.")]
Network = Annotated[
    Optional[str], typer.Option("--network", help="local, finney, test or ws://… (env DOJO_CHAIN_NETWORK).")
]
Netuid = Annotated[Optional[int], typer.Option("--netuid", help="Subnet uid (env DOJO_CHAIN_NETUID).")]
Profile = Annotated[Optional[str], typer.Option("--profile", help="Timing profile: prod or fast (env DOJO_PROFILE).")]
Home = Annotated[Optional[Path], typer.Option("--home", help="Data directory (env DOJO_HOME, default ~/.dojo).")]
