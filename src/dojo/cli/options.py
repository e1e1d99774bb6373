"""Command-line options shared by the service commands, defined once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

if TYPE_CHECKING:
    from dojo.config import Settings

__all__ = [
    "Home",
    "Netuid",
    "Network",
    "Profile",
    "WalletHotkey",
    "WalletName",
    "WalletPath",
    "service_overrides",
    "service_settings",
]

WalletName = Annotated[Optional[str], typer.Option("--wallet.name", "--wallet-name", help="Coldkey name.")]
WalletHotkey = Annotated[Optional[str], typer.Option("--wallet.hotkey", "--wallet-hotkey", help="Hotkey name.")]
WalletPath = Annotated[Optional[Path], typer.Option("--wallet.path", "--wallet-path", help="Wallets directory.")]
Network = Annotated[
    Optional[str], typer.Option("--network", help="local, finney, test or ws://… (env DOJO_CHAIN_NETWORK).")
]
Netuid = Annotated[Optional[int], typer.Option("--netuid", help="Subnet uid (env DOJO_CHAIN_NETUID).")]
Profile = Annotated[Optional[str], typer.Option("--profile", help="Timing profile: prod or fast (env DOJO_PROFILE).")]
Home = Annotated[Optional[Path], typer.Option("--home", help="Data directory (env DOJO_HOME, default ~/.dojo).")]


def service_overrides(
    *,
    home: Path | None,
    profile: str | None,
    network: str | None,
    netuid: int | None,
    wallet_name: str | None = None,
    wallet_hotkey: str | None = None,
    wallet_path: Path | None = None,
    **own: Any,
) -> dict[str, Any]:
    """``load_settings`` overrides: the options above mapped once, plus the command's own (``section__field``).

    Unset options are dropped, so the environment decides; paths become strings, so the result
    can be handed to another process as JSON.
    """
    shared: dict[str, Any] = {
        "home": home,
        "profile": profile,
        "chain__network": network,
        "chain__netuid": netuid,
        "wallet__name": wallet_name,
        "wallet__hotkey": wallet_hotkey,
        "wallet__path": wallet_path,
        **own,
    }
    return {k: str(v) if isinstance(v, Path) else v for k, v in shared.items() if v is not None}


def service_settings(overrides: dict[str, Any]) -> Settings:
    """The settings a service command runs with (flags over environment over defaults), logging set up."""
    from dojo.config import load_settings
    from dojo.logs import setup_logging

    settings = load_settings(**overrides)
    setup_logging(settings.log_level, settings.log_json)
    return settings
