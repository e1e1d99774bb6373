"""How keys are shown, the same in the shell and in the plain subcommands."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from dojo.miner.keys_client import LABELS, KeyInfo


def keys_table(kind: str, keys: list[KeyInfo]) -> Table:
    """A table of keys by prefix (the full keys are never stored, so never shown again)."""
    table = Table(title=f"{LABELS[kind]}s")
    for col in ("prefix", "name", "created", "status"):
        table.add_column(col)
    for k in keys:
        table.add_row(
            k.prefix, k.name or "-", k.created_at[:19], f"deleted {k.deleted_at[:19]}" if k.deleted_at else "active"
        )
    return table


def show_keys(console: Console, kind: str, keys: list[KeyInfo]) -> None:
    if not keys:
        console.print(f"no {LABELS[kind]}s yet")
        return
    console.print(keys_table(kind, keys))


def show_new_key(console: Console, kind: str, key: str, prefix: str) -> None:
    console.print(f"new {LABELS[kind]} (prefix {prefix}); copy it now, it is shown only once:")
    console.print(key, markup=False, highlight=False, soft_wrap=True)
