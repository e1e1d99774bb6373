"""``dojo wallet create | list``: bittensor wallets, with flags for scripts and never a prompt."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from dojo.errors import DojoError

app = typer.Typer(no_args_is_help=True, help="Create and list bittensor wallets (standard layout).")


def _console() -> Console:
    """A console made per command, so the terminal width (or $COLUMNS) of this run applies."""
    return Console()


PASSWORD_ENV = "DOJO_WALLET_PASSWORD"


def wallet_root(path: Optional[Path]) -> Path:
    """The wallet directory: ``--path``, else ``DOJO_WALLET_PATH``, else ``~/.bittensor/wallets``."""
    if path is not None:
        return path.expanduser()
    from dojo.config import WalletSettings

    return WalletSettings().path


@app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="Coldkey (wallet) name."),
    hotkey: str = typer.Option(..., "--hotkey", help="Hotkey name."),
    path: Optional[Path] = typer.Option(None, "--path", help="Wallet directory (default ~/.bittensor/wallets)."),
    no_password: bool = typer.Option(False, "--no-password", help="Leave the coldkey unencrypted."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing coldkey and hotkey."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Do not print the new keys' mnemonics."),
) -> None:
    """Create a coldkey (reused when it exists) and a hotkey. Never prompts.

    The coldkey is encrypted with the password in $DOJO_WALLET_PASSWORD unless --no-password.
    """
    from dojo.chain.wallets import create_wallet

    password = None if no_password else os.environ.get(PASSWORD_ENV) or None
    if not no_password and password is None:
        raise DojoError(f"no coldkey password: set {PASSWORD_ENV} or pass --no-password")
    root = wallet_root(path)
    mnemonics: list[tuple[str, str]] = []
    wallet = create_wallet(
        name, hotkey, root, password=password, overwrite=overwrite, on_mnemonic=lambda k, w: mnemonics.append((k, w))
    )
    _console().print(f"created wallet [bold]{name}[/] hotkey [bold]{hotkey}[/] under {root}")
    if not quiet:
        for kind, words in mnemonics:
            _console().print(
                f"  {kind} mnemonic (write it down: it restores the key): {words}", highlight=False, soft_wrap=True
            )
    _console().print(f"  coldkey {wallet.coldkeypub.ss58_address}")
    _console().print(f"  hotkey  {wallet.hotkey.ss58_address}")


@app.command("list")
def list_(
    path: Optional[Path] = typer.Option(None, "--path", help="Wallet directory (default ~/.bittensor/wallets)."),
) -> None:
    """List coldkeys and hotkeys with their addresses."""
    from dojo.chain.wallets import HotkeyEntry, list_wallets

    root = wallet_root(path)
    entries = list_wallets(root)
    if not entries:
        _console().print(f"no wallets under {root}")
        return
    table = Table(title=f"Wallets in {root}")
    for col in ("wallet", "coldkey", "encrypted", "hotkey", "hotkey ss58"):
        table.add_column(col)
    for entry in entries:
        rows: list[HotkeyEntry | None] = list(entry.hotkeys) or [None]
        for i, hk in enumerate(rows):
            table.add_row(
                entry.name if i == 0 else "",
                (entry.coldkey_ss58 or "?") if i == 0 else "",
                ("yes" if entry.encrypted else "no") if i == 0 else "",
                hk.name if hk else "-",
                (hk.ss58 or "?") if hk else "",
            )
    _console().print(table)
