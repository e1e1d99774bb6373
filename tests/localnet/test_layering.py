"""The CLI is the top layer: no other part of ``dojo`` imports it (the local network once did, for the key client).

Lazy imports inside functions count too: the scan walks every module's whole syntax tree.
"""

from __future__ import annotations

import ast
from pathlib import Path

import dojo

SRC = Path(dojo.__file__).parent
PARTS = ("localnet", "validator", "miner", "worker_api")


def _imports(source: str) -> set[str]:
    """Every module a source file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def _imports_cli(source: str) -> bool:
    return any(m == "dojo.cli" or m.startswith("dojo.cli.") for m in _imports(source))


def test_the_scan_sees_top_level_and_lazy_imports_of_the_cli() -> None:
    assert _imports_cli("from dojo.cli.keys.client import KeysClient")
    assert _imports_cli("def f():\n    import dojo.cli.app\n")
    assert _imports_cli("from dojo import cli")
    assert not _imports_cli("from dojo.client import DojoClient\nimport dojo.config")
    assert not _imports_cli("ARGS = ['-m', 'dojo.cli.app']")  # running the CLI as a process is not importing it


def test_no_part_below_the_cli_imports_it() -> None:
    modules = [p for p in SRC.rglob("*.py") if (SRC / "cli") not in p.parents]
    assert {p.relative_to(SRC).parts[0] for p in modules} >= set(PARTS)
    offenders = sorted(str(p.relative_to(SRC)) for p in modules if _imports_cli(p.read_text(encoding="utf-8")))
    assert not offenders, f"these modules import dojo.cli (move what they need out of it): {offenders}"


def test_the_key_shell_client_is_not_the_miners_worker_client() -> None:
    """Two clients of the worker API, two names: the key shell's (hotkey login, keys) and the miner service's."""
    from dojo.miner.keys_client import KeysClient
    from dojo.miner.worker_client import WorkerApiClient

    assert KeysClient.__name__ != WorkerApiClient.__name__
    assert not (SRC / "cli" / "keys" / "client.py").exists()
