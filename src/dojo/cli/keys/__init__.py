"""``dojo keys``: the miner's key shell (interactive) and the same actions as plain subcommands.

``dojo keys`` alone opens the shell; ``dojo keys api-key generate --wallet W --hotkey H --url URL``
(and ``list``/``delete``, and the same under ``subscription-key``) does one action for scripts.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from dojo.errors import DojoError

__all__ = ["app"]

app = typer.Typer(help="Manage the miner's API keys and subscription keys on a worker API.")

URL_HELP = "Worker API URL (default $DOJO_MINER_WORKER_API_URL or http://127.0.0.1:8080)."
PATH_HELP = "Wallet directory (default ~/.bittensor/wallets)."


def _url(url: Optional[str]) -> str:
    from dojo.config import MinerSettings
    from dojo.miner.keys_client import check_url

    return check_url(url or MinerSettings().worker_api_url)


@app.callback(invoke_without_command=True)
def keys(
    ctx: typer.Context,
    url: Optional[str] = typer.Option(None, "--url", help=URL_HELP),
    path: Optional[Path] = typer.Option(None, "--path", help="Default wallet directory offered by the shell."),
) -> None:
    """Without a subcommand: the interactive key shell (Tab completes wallet names and commands)."""
    if ctx.invoked_subcommand is not None:
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise DojoError("the key shell needs a terminal; in scripts use `dojo keys api-key generate --wallet …` etc.")
    from dojo.cli.keys.shell import KeyShell
    from dojo.cli.wallet import wallet_root

    KeyShell(_url(url), wallet_root(path)).run()


def _client(wallet: str, hotkey: str, path: Optional[Path], url: Optional[str]):  # type: ignore[no-untyped-def]
    from dojo.chain.wallets import load_wallet
    from dojo.cli.wallet import wallet_root
    from dojo.miner.keys_client import KeysClient

    base = _url(url)
    w = load_wallet(wallet, hotkey, wallet_root(path))
    return KeysClient(base, w.hotkey)


WALLET = typer.Option(..., "--wallet", help="Wallet (coldkey) name.")
HOTKEY = typer.Option(..., "--hotkey", help="Hotkey name (the miner's registered hotkey).")
PATH = typer.Option(None, "--path", help=PATH_HELP)
URL = typer.Option(None, "--url", help=URL_HELP)


@app.command("authenticate")
def authenticate(
    wallet: str = WALLET, hotkey: str = HOTKEY, path: Optional[Path] = PATH, url: Optional[str] = URL
) -> None:
    """Check that the hotkey can log in to the worker API."""
    with _client(wallet, hotkey, path, url) as client:
        expires = client.authenticate()
    Console().print(f"authenticated as {client.keypair.ss58_address} at {client.url} (session until {expires})")


def _key_group(kind: str, label: str) -> typer.Typer:
    group = typer.Typer(no_args_is_help=True, help=f"List, generate or delete {label}s.")

    @group.command("list")
    def list_(
        wallet: str = WALLET, hotkey: str = HOTKEY, path: Optional[Path] = PATH, url: Optional[str] = URL
    ) -> None:
        """List keys by prefix (the full keys are never shown again)."""
        from dojo.cli.keys.render import show_keys

        with _client(wallet, hotkey, path, url) as client:
            show_keys(Console(), kind, client.list_keys(kind))

    @group.command("generate")
    def generate(
        wallet: str = WALLET,
        hotkey: str = HOTKEY,
        path: Optional[Path] = PATH,
        url: Optional[str] = URL,
        name: Optional[str] = typer.Option(None, "--name", help="A label for the key."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the key (for scripts)."),
    ) -> None:
        """Create a key; the full key is printed once."""
        from dojo.cli.keys.render import show_new_key

        with _client(wallet, hotkey, path, url) as client:
            key, prefix = client.generate_key(kind, name)
        if quiet:
            print(key)
        else:
            show_new_key(Console(), kind, key, prefix)

    @group.command("delete")
    def delete(
        prefix: str = typer.Argument(..., help="The key's prefix (see list)."),
        wallet: str = WALLET,
        hotkey: str = HOTKEY,
        path: Optional[Path] = PATH,
        url: Optional[str] = URL,
    ) -> None:
        """Delete a key by prefix; it stops working at once."""
        with _client(wallet, hotkey, path, url) as client:
            client.delete_key(kind, prefix)
        Console().print(f"deleted {label} {prefix}")

    return group


app.add_typer(_key_group("api_key", "API key"), name="api-key")
app.add_typer(_key_group("subscription_key", "subscription key"), name="subscription-key")
