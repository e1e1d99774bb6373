"""Run the ``dojo`` command in-process, exactly as the console script does (``dojo.cli.app.main``)."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_dojo(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Result:
    """Call ``main()`` with ``args``; return the exit code and what it printed."""
    from dojo.cli import app as app_module

    # main() attaches the groups each time it runs; start from a clean app like a fresh process.
    app_module.app.registered_groups.clear()
    app_module.app.registered_commands.clear()
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setattr(sys, "argv", ["dojo", *args])
    capsys.readouterr()
    code = 0
    try:
        app_module.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err, captured.out + captured.err
    return Result(code, captured.out, captured.err)
