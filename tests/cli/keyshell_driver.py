"""Drive ``dojo keys`` in a pseudo-terminal the way a person does: type a prefix, press Tab, read, Enter."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect

KEY = re.compile(r"(d[ks]_[A-Za-z0-9_-]{16,}|[A-Za-z0-9_-]{32,})")


def spawn_shell(url: str, home: Path) -> pexpect.spawn:
    """Start the key shell in a 120x40 terminal with HOME=home (its wallets under ~/.bittensor)."""
    env = {**os.environ, "HOME": str(home), "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm", "COLUMNS": "120"}
    env.pop("DOJO_WALLET_PATH", None)
    return pexpect.spawn(
        sys.executable,
        ["-m", "dojo.cli.app", "keys", "--url", url],
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 120),
    )


def tab(child: pexpect.spawn, typed: str, completed: str) -> None:
    """Type ``typed``, press Tab, and wait until the terminal shows ``completed``.

    The terminal redraws only what changed: the whole word when the case differs, else just the
    completed rest (``auth`` + Tab draws ``enticate``).
    """
    child.send(typed)
    word = typed.strip()  # a typed space is drawn as a cursor move, not as a space
    child.expect_exact(word)
    child.send("\t")
    shown = [completed]
    if completed.startswith(word) and len(completed) > len(word):
        shown.append(completed[len(word) :])
    child.expect_exact(shown)


def login_and_pick(child: pexpect.spawn, coldkey_typed: str, coldkey: str, hotkey_typed: str, hotkey: str) -> None:
    """Accept the default wallet directory, then complete the coldkey and hotkey names with Tab."""
    child.expect_exact("Wallet directory")
    child.sendline("")
    child.expect_exact("Coldkey:")
    tab(child, coldkey_typed, coldkey)
    child.send("\r")
    child.expect_exact(f"hotkeys of {coldkey}")
    child.expect_exact("Hotkey:")
    tab(child, hotkey_typed, hotkey)
    child.send("\r")
    child.expect_exact(f"using wallet {coldkey}/{hotkey}")
    child.expect_exact(">>>")


def command(child: pexpect.spawn, *steps: tuple[str, str]) -> None:
    """Type a command word by word with Tab completion ((typed, completed) pairs), then Enter."""
    for typed, completed in steps:
        tab(child, typed, completed)
    child.send("\r")
