"""`dojo validator` start-up failures are one clear line and exit code 2, never a traceback.

Run in process through the real entry point (``dojo.cli.app.main``) to spare a slow interpreter start.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dojo.chain.wallets import create_wallet


def run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    import logging

    from dojo.cli import app as cli

    monkeypatch.setattr(sys, "argv", ["dojo", *args])
    monkeypatch.setattr("dojo.logs._CONFIGURED", False)  # log to this test's captured stderr
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        with pytest.raises(SystemExit) as exit_info:
            cli.main()
    finally:
        root.handlers[:], root.level = handlers, level
    out = capsys.readouterr()
    return int(exit_info.value.code or 0), out.out + out.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--wallet.name", "ghost"], "no wallet 'ghost'"),
        (["--wallet.name", "val", "--wallet.hotkey", "hot", "--task-source", "bogus"], "unknown task source 'bogus'"),
        (
            ["--wallet.name", "val", "--wallet.hotkey", "hot", "--db-url", "mysql://x/y"],
            "unsupported validator database",
        ),
    ],
)
def test_bad_starts_give_one_clear_line(args, message, tmp_path: Path, tmp_home: Path, monkeypatch, capsys) -> None:
    wallets = tmp_path / "wallets"
    create_wallet("val", "hot", wallets)
    monkeypatch.setenv("DOJO_WALLET_PATH", str(wallets))
    code, out = run_cli(["validator", *args], monkeypatch, capsys)
    assert code == 2, out
    flat = " ".join(out.split())  # the console wraps long lines
    assert message in flat and "Traceback" not in out
    assert flat.count("error:") == 1 and "level=error" not in flat, out


def test_help_lists_the_options(monkeypatch, capsys) -> None:
    code, out = run_cli(["validator", "--help"], monkeypatch, capsys)
    assert code == 0
    for flag in ("--rounds", "--seed", "--task-source", "--db-url", "--external-api-port"):
        assert flag in out
