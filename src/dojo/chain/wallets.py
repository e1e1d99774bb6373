"""Bittensor wallets in the standard ``~/.bittensor/wallets/<coldkey>/hotkeys/<hotkey>`` layout.

Thin helpers over ``bt.Wallet`` that never prompt: a missing wallet or a bad path becomes a
``DojoError`` with a message saying what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dojo.errors import DojoError

if TYPE_CHECKING:
    from bittensor import Wallet

DEFAULT_PATH = Path("~/.bittensor/wallets")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class HotkeyEntry:
    """One hotkey of a coldkey on disk."""

    name: str
    ss58: str | None


@dataclass(frozen=True)
class WalletEntry:
    """One coldkey directory and its hotkeys."""

    name: str
    coldkey_ss58: str | None
    encrypted: bool
    hotkeys: list[HotkeyEntry] = field(default_factory=list)


def _check_name(kind: str, name: str) -> None:
    if not _NAME.match(name) or name in {".", ".."}:
        raise DojoError(f"invalid {kind} name {name!r}: use 1-64 letters, digits, '_', '-' or '.'")


def _root(path: str | Path | None) -> Path:
    return Path(path or DEFAULT_PATH).expanduser()


def load_wallet(name: str, hotkey: str, path: str | Path | None = None) -> Wallet:
    """Open an existing wallet and load its hotkey; ``DojoError`` when it is missing or unreadable."""
    import bittensor as bt

    _check_name("wallet", name)
    _check_name("hotkey", hotkey)
    root = _root(path)
    if not (root / name).is_dir():
        raise DojoError(
            f"no wallet {name!r} under {root}: create it with `dojo wallet create --name {name} --hotkey {hotkey}`"
        )
    wallet = bt.Wallet(name=name, hotkey=hotkey, path=str(root))
    if not wallet.hotkey_file.exists_on_device():
        raise DojoError(
            f"wallet {name!r} has no hotkey {hotkey!r} under {root / name / 'hotkeys'}: "
            f"create it with `dojo wallet create --name {name} --hotkey {hotkey}`"
        )
    if not wallet.coldkeypub_file.exists_on_device():
        raise DojoError(f"wallet {name!r} has no coldkeypub.txt under {root / name}")
    try:
        _ = wallet.hotkey
        _ = wallet.coldkeypub
    except Exception as exc:  # noqa: BLE001 - the SDK raises several types for unreadable key files
        raise DojoError(f"cannot read the keys of wallet {name!r}/{hotkey!r}: {exc}") from exc
    return wallet


def create_wallet(
    name: str,
    hotkey: str,
    path: str | Path | None = None,
    *,
    password: str | None = None,
    overwrite: bool = False,
    on_mnemonic: Callable[[str, str], None] | None = None,
) -> Wallet:
    """Create a wallet (coldkey + hotkey) with no prompt.

    An existing coldkey is reused, so several hotkeys can share one coldkey; an existing
    hotkey is refused unless ``overwrite`` (which also replaces the coldkey). The coldkey is
    encrypted only when ``password`` is given; the hotkey never is (a running miner or
    validator must open it without a person). ``on_mnemonic(kind, words)`` receives each new
    key's mnemonic (kind ``coldkey`` or ``hotkey``) so a caller can show it for safe keeping.
    """
    import bittensor as bt

    _check_name("wallet", name)
    _check_name("hotkey", hotkey)
    root = _root(path)
    if root.exists() and not root.is_dir():
        raise DojoError(f"wallet path {root} exists and is not a directory")
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise DojoError(f"cannot create the wallet directory {root}: {exc.strerror or exc}") from exc
    wallet = bt.Wallet(name=name, hotkey=hotkey, path=str(root))
    if wallet.hotkey_file.exists_on_device() and not overwrite:
        raise DojoError(f"wallet {name!r} already has a hotkey {hotkey!r} under {root}; pass --overwrite to replace it")
    try:
        if overwrite or not wallet.coldkeypub_file.exists_on_device():
            wallet.create_new_coldkey(
                use_password=password is not None,
                coldkey_password=password,
                overwrite=overwrite,
                suppress=True,
                on_mnemonic=(lambda words: on_mnemonic("coldkey", words)) if on_mnemonic else None,
            )
        wallet.create_new_hotkey(
            use_password=False,
            overwrite=overwrite,
            suppress=True,
            on_mnemonic=(lambda words: on_mnemonic("hotkey", words)) if on_mnemonic else None,
        )
    except OSError as exc:
        raise DojoError(f"cannot write wallet {name!r} under {root}: {exc.strerror or exc}") from exc
    return wallet


def list_wallets(path: str | Path | None = None) -> list[WalletEntry]:
    """Every coldkey under ``path`` with its hotkeys and public addresses (keys stay locked)."""
    from bittensor import wallets as bt_wallets

    root = _root(path)
    if root.exists() and not root.is_dir():
        raise DojoError(f"wallet path {root} is not a directory")
    entries = []
    for info in bt_wallets.list_wallets_detailed(str(root)):
        cold = root / info.name / "coldkey"
        encrypted = False
        if cold.is_file():
            from bittensor.keyfiles import Keyfile

            encrypted = Keyfile(cold).is_encrypted()
        entries.append(
            WalletEntry(
                name=info.name,
                coldkey_ss58=info.ss58,
                encrypted=encrypted,
                hotkeys=[HotkeyEntry(h.name, h.ss58) for h in info.hotkeys],
            )
        )
    return entries
