"""The interactive key shell: pick a wallet with Tab completion, then manage keys at a ``>>>`` prompt."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document
from rich.console import Console

from dojo.cli.keys.render import show_keys, show_new_key
from dojo.errors import DojoError
from dojo.miner.keys_client import KINDS, LABELS, KeysClient

ACTIONS = ("list", "generate", "delete")
COMMANDS = ("authenticate", *KINDS, "help", "exit")
HELP = """commands:
  authenticate                      log in to the worker API with the hotkey (done on demand too)
  api_key list                      list API keys (by prefix)
  api_key generate [NAME]           create an API key; the full key is shown once
  api_key delete PREFIX             delete an API key; it stops working at once
  subscription_key list|generate|delete   the same for subscription keys (give them to labellers)
  help                              this text
  exit                              leave (Ctrl-D too)"""


def prefix_matches(text: str, options: Iterable[str]) -> list[str]:
    """Options starting with ``text``, ignoring case."""
    low = text.lower()
    return [o for o in options if o.lower().startswith(low)]


def resolve_name(text: str, options: list[str]) -> str | None:
    """The option named by ``text``: an exact match, else the one option equal ignoring case."""
    if text in options:
        return text
    same = [o for o in options if o.lower() == text.lower()]
    return same[0] if len(same) == 1 else None


class NameCompleter(Completer):
    """Completes one word from a fixed list, by case-insensitive prefix."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = list(names)

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        text = document.text_before_cursor.strip()
        for name in prefix_matches(text, self.names):
            yield Completion(name, start_position=-len(document.text_before_cursor))


class CommandCompleter(Completer):
    """Completes ``>>>`` commands word by word; ``delete`` offers the prefixes seen so far."""

    def __init__(self, known_prefixes: dict[str, list[str]]) -> None:
        self.known = known_prefixes

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        before = document.text_before_cursor
        words = before.split()
        if before.endswith(" ") or not words:
            words.append("")
        current = words[-1]
        if len(words) == 1:
            options: list[str] = list(COMMANDS)
        elif len(words) == 2 and words[0].lower() in KINDS:
            options = list(ACTIONS)
        elif len(words) == 3 and words[0].lower() in KINDS and words[1].lower() == "delete":
            options = self.known.get(words[0].lower(), [])
        else:
            options = []
        for option in prefix_matches(current, options):
            yield Completion(option, start_position=-len(current))


class KeyShell:
    """The whole interactive session. ``session`` is injectable for tests."""

    def __init__(self, url: str, wallet_root: Path, console: Console | None = None, session: Any = None) -> None:
        self.url = url
        self.default_root = wallet_root
        self.console = console or Console(highlight=False)
        self.session: Any = session or PromptSession()
        self.client: KeysClient | None = None
        self.known: dict[str, list[str]] = {kind: [] for kind in KINDS}

    # -- choosing the wallet --------------------------------------------------------------

    def _ask(self, message: str, completer: Completer | None = None) -> str:
        return str(self.session.prompt(message, completer=completer, complete_while_typing=False)).strip()

    def choose_wallet(self) -> Any:
        """Ask for the wallet directory, then the coldkey and hotkey names (Tab completes them)."""
        from dojo.chain.wallets import list_wallets, load_wallet

        while True:
            answer = self._ask(
                f"Wallet directory [{self.default_root}] (Enter for the default): ",
                PathCompleter(only_directories=True, expanduser=True),
            )
            root = Path(answer).expanduser() if answer else self.default_root
            try:
                wallets = {w.name: [h.name for h in w.hotkeys] for w in list_wallets(root)}
            except DojoError as exc:
                self.console.print(f"[red]{exc}[/]")
                continue
            if wallets:
                break
            self.console.print(f"[red]no wallets under {root}[/]; create one with `dojo wallet create` or pick another")
        self.console.print(f"coldkeys: {', '.join(wallets)}")
        coldkey = self._pick("Coldkey: ", list(wallets), "coldkey")
        hotkeys = wallets[coldkey]
        if not hotkeys:
            raise DojoError(f"wallet {coldkey!r} has no hotkeys; create one with `dojo wallet create`")
        self.console.print(f"hotkeys of {coldkey}: {', '.join(hotkeys)}")
        hotkey = self._pick("Hotkey: ", hotkeys, "hotkey")
        wallet = load_wallet(coldkey, hotkey, root)
        self.console.print(f"using wallet {coldkey}/{hotkey} (hotkey {wallet.hotkey.ss58_address})")
        return wallet

    def _pick(self, message: str, options: list[str], what: str) -> str:
        completer = NameCompleter(options)
        while True:
            name = resolve_name(self._ask(message, completer), options)
            if name is not None:
                return name
            self.console.print(f"[red]no such {what}[/]; press Tab to see the choices: {', '.join(options)}")

    # -- the >>> prompt -----------------------------------------------------------------------

    def run(self) -> None:
        """Choose the wallet, then read commands until ``exit`` or Ctrl-D."""
        try:
            wallet = self.choose_wallet()
        except (EOFError, KeyboardInterrupt):
            self.console.print("bye")
            return
        self.client = KeysClient(self.url, wallet.hotkey)
        self.console.print(f"worker API: {self.client.url}. Type help for the commands, Tab to complete.")
        completer = CommandCompleter(self.known)
        try:
            while True:
                try:
                    line = self._ask(">>> ", completer)
                except KeyboardInterrupt:
                    continue
                except EOFError:
                    break
                if not line:
                    continue
                if not self.execute(line):
                    break
        finally:
            self.client.close()
        self.console.print("bye")

    def execute(self, line: str) -> bool:
        """Run one command line; False when the shell should end."""
        try:
            words = shlex.split(line)
        except ValueError as exc:
            self.console.print(f"[red]cannot read that line: {exc}[/]")
            return True
        command = words[0].lower()
        try:
            if command in {"exit", "quit"}:
                return False
            if command == "help":
                self.console.print(HELP, markup=False)
            elif command == "authenticate":
                assert self.client is not None
                expires = self.client.authenticate()
                self.console.print(f"authenticated as {self.client.keypair.ss58_address} (session until {expires})")
            elif command in KINDS:
                self._key_command(command, words[1:])
            else:
                self.console.print(f"[red]unknown command {words[0]!r}[/]; type help")
        except DojoError as exc:
            self.console.print(f"[red]error:[/] {exc}", highlight=False)
        return True

    def _key_command(self, kind: str, args: list[str]) -> None:
        assert self.client is not None
        action = args[0].lower() if args else ""
        if action == "list":
            keys = self.client.list_keys(kind)
            self.known[kind] = [k.prefix for k in keys if not k.deleted_at]
            show_keys(self.console, kind, keys)
        elif action == "generate":
            key, prefix = self.client.generate_key(kind, " ".join(args[1:]) or None)
            self.known[kind].append(prefix)
            show_new_key(self.console, kind, key, prefix)
        elif action == "delete":
            if len(args) != 2:
                raise DojoError(f"usage: {kind} delete PREFIX (see {kind} list)")
            self.client.delete_key(kind, args[1])
            self.known[kind] = [p for p in self.known[kind] if p != args[1]]
            self.console.print(f"deleted {LABELS[kind]} {args[1]}")
        else:
            raise DojoError(f"usage: {kind} list | generate [NAME] | delete PREFIX")
