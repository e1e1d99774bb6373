"""``dojo chain init | register | stake | metagraph | balances``: the embedded local chain."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from dojo.errors import DojoError

if TYPE_CHECKING:
    from dojo.chain.local import LocalChain
    from dojo.config import Settings

app = typer.Typer(no_args_is_help=True, help="The local chain: init, register, stake, metagraph, balances.")


def _console() -> Console:
    """A console made per command, so the terminal width (or $COLUMNS) of this run applies."""
    return Console()


HOME = typer.Option(None, "--home", help="Data directory (default $DOJO_HOME or ~/.dojo).")
PROFILE = typer.Option(None, "--profile", help="Timing profile: prod or fast.")


def _settings(home: Optional[Path], profile: Optional[str], **extra: object) -> Settings:
    from dojo.config import load_settings

    return load_settings(home=home, profile=profile, **extra)


def _open_local(settings: Settings) -> LocalChain:
    from dojo.chain.local import LocalChain

    if settings.chain.network != "local":
        raise DojoError(
            f"this command works on the local chain only (DOJO_CHAIN_NETWORK is {settings.chain.network!r})"
        )
    path = settings.chain_db_path()
    if not path.is_file():
        raise DojoError(f"no local chain at {path}: run `dojo chain init` first")
    return LocalChain(path)


def _hotkey_and_coldkey(
    wallet: Optional[str],
    hotkey: Optional[str],
    path: Optional[Path],
    hotkey_ss58: Optional[str],
    coldkey_ss58: Optional[str],
) -> tuple[str, str]:
    """Either a wallet (name + hotkey name) or raw ss58 addresses; never both."""
    if hotkey_ss58:
        if wallet or hotkey:
            raise DojoError("give either --wallet/--hotkey or --hotkey-ss58, not both")
        return hotkey_ss58, coldkey_ss58 or hotkey_ss58
    if not wallet or not hotkey:
        raise DojoError("name the key: --wallet NAME --hotkey NAME [--path DIR], or --hotkey-ss58 ADDRESS")
    from dojo.chain.wallets import load_wallet
    from dojo.cli.wallet import wallet_root

    w = load_wallet(wallet, hotkey, wallet_root(path))
    return w.hotkey.ss58_address, w.coldkeypub.ss58_address


@app.command("init")
def init(
    home: Optional[Path] = HOME,
    profile: Optional[str] = PROFILE,
    reset: bool = typer.Option(False, "--reset", help="Delete an existing local chain first."),
    block_time: Optional[float] = typer.Option(None, "--block-time", help="Seconds per block (default: profile's)."),
    epoch_blocks: Optional[int] = typer.Option(None, "--epoch-blocks", help="Blocks per epoch (default: profile's)."),
    rate_limit: Optional[int] = typer.Option(None, "--rate-limit", help="Weights rate limit in blocks."),
) -> None:
    """Create the local chain file with the rules of the settings (and these flags)."""
    from dataclasses import asdict, replace

    from dojo.chain import chain_params
    from dojo.chain.local import LocalChain

    settings = _settings(home, profile)
    path = settings.chain_db_path()
    if path.exists():
        if not reset:
            raise DojoError(f"a local chain already exists at {path}; pass --reset to start a new one")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    params = chain_params(settings)
    overrides: dict[str, Any] = {
        "block_time_s": block_time,
        "epoch_blocks": epoch_blocks,
        "weights_rate_limit": rate_limit,
    }
    params = replace(params, **{k: v for k, v in overrides.items() if v is not None})
    chain = LocalChain(path, params)
    table = Table(title=f"Local chain at {path}")
    table.add_column("rule")
    table.add_column("value", justify="right")
    for key, value in asdict(chain.params).items():
        table.add_row(key, str(value))
    _console().print(table)


@app.command("register")
def register(
    wallet: Optional[str] = typer.Option(None, "--wallet", help="Wallet (coldkey) name."),
    hotkey: Optional[str] = typer.Option(None, "--hotkey", help="Hotkey name in the wallet."),
    path: Optional[Path] = typer.Option(None, "--path", help="Wallet directory."),
    hotkey_ss58: Optional[str] = typer.Option(None, "--hotkey-ss58", help="Register this raw hotkey address."),
    coldkey_ss58: Optional[str] = typer.Option(None, "--coldkey-ss58", help="Its owner (default: the hotkey)."),
    home: Optional[Path] = HOME,
) -> None:
    """Register a hotkey on the local subnet and print its uid."""
    hot, cold = _hotkey_and_coldkey(wallet, hotkey, path, hotkey_ss58, coldkey_ss58)
    chain = _open_local(_settings(home, None))
    uid = chain.register(hot, cold)
    _console().print(f"registered {hot} as uid {uid} on local subnet {chain.netuid}")


@app.command("stake")
def stake(
    amount: float = typer.Option(..., "--amount", help="Stake to add (> 0)."),
    wallet: Optional[str] = typer.Option(None, "--wallet", help="Wallet (coldkey) name."),
    hotkey: Optional[str] = typer.Option(None, "--hotkey", help="Hotkey name in the wallet."),
    path: Optional[Path] = typer.Option(None, "--path", help="Wallet directory."),
    hotkey_ss58: Optional[str] = typer.Option(None, "--hotkey-ss58", help="Stake on this raw hotkey address."),
    home: Optional[Path] = HOME,
) -> None:
    """Add stake to a registered hotkey."""
    hot, _ = _hotkey_and_coldkey(wallet, hotkey, path, hotkey_ss58, None)
    chain = _open_local(_settings(home, None))
    total = chain.add_stake(hot, amount)
    _console().print(f"staked {amount:g} on {hot}: stake now {total:g}")


@app.command("metagraph")
def metagraph(home: Optional[Path] = HOME) -> None:
    """Show every uid: hotkey, stake, validator permit, address, last update."""
    chain = _open_local(_settings(home, None))
    mg = chain.metagraph()
    table = Table(title=f"Local subnet {mg.netuid} at block {mg.block}")
    for col in ("uid", "hotkey", "coldkey", "stake", "validator", "address", "last update"):
        table.add_column(col, justify="right" if col in {"uid", "stake", "last update"} else "left")
    for n in mg.neurons:
        table.add_row(
            str(n.uid),
            n.hotkey,
            n.coldkey,
            f"{n.stake:g}",
            "yes" if n.validator_permit else "no",
            n.address or "-",
            str(n.last_update),
        )
    _console().print(table)


@app.command("balances")
def balances(home: Optional[Path] = HOME) -> None:
    """Show each uid's stake and the emission it has earned."""
    chain = _open_local(_settings(home, None))
    rows = chain.balances()
    table = Table(title=f"Balances on local subnet {chain.netuid} (epochs paid: {chain.last_emitted_epoch() + 1})")
    for col in ("uid", "hotkey", "stake", "balance"):
        table.add_column(col, justify="left" if col == "hotkey" else "right")
    for b in rows:
        table.add_row(str(b.uid), b.hotkey, f"{b.stake:g}", f"{b.balance:.6f}")
    _console().print(table)
