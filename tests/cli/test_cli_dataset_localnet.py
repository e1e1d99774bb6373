"""Bad input to `dojo dataset export` and `dojo localnet`: one clear line, non-zero exit, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _dojo(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"DOJO_HOME": str(home / ".dojo"), "HOME": str(home), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "dojo.cli.app", *args], capture_output=True, text=True, env=env, timeout=120, cwd=home
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["dataset", "export", "--out", "x"], "no validator store"),
        (["dataset", "export", "--out", "x", "--format", "csv", "--db-url", "sqlite:///v.db"], "unknown format 'csv'"),
        (["dataset", "export", "--out", "x", "--since", "yesterday", "--db-url", "sqlite:///v.db"], "is not a date"),
        (["dataset", "export", "--out", "x", "--db-url", "mysql://h/db"], "unsupported validator database"),
        (["localnet", "--crews", "careful,sloppy"], "unknown labeller skill 'sloppy'"),
        (["localnet", "--crews", "careful;copier"], "a copier names the miner it resells, e.g. 'copier:0'"),
        (["localnet", "--crews", "careful;copier:4"], "miner1 is 'copier:4' but the miners are 0..1"),
        (
            ["localnet", "--crews", "careful;lengthbot;colluder", "--miners", "2"],
            "--crews names 3 crews but --miners is 2",
        ),
        (["localnet", "--kill-miner", "7"], "--kill-miner must name a miner index 0..2"),
        (["localnet", "--export-format", "xml"], "--export-format must be jsonl, parquet or hf"),
        (["localnet", "--home", "afile"], "File exists"),
        (["localnet", "--miners", "0"], "greater than or equal to 1"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path: Path, args: list[str], expected: str) -> None:
    (tmp_path / "afile").write_text("not a folder")
    r = _dojo(*args, home=tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert expected in " ".join(out.split()), out
    assert "Traceback" not in out


def test_help_lists_only_working_commands(tmp_path: Path) -> None:
    r = _dojo("--help", home=tmp_path)
    assert r.returncode == 0
    for name in ("localnet", "validator", "miner", "worker-api", "synthetic-api", "wallet", "chain", "keys", "dataset"):
        assert name in r.stdout
    for name in ("localnet", "validator", "miner", "worker-api", "synthetic-api"):
        sub = _dojo(name, "--help", home=tmp_path)
        assert sub.returncode == 0 and "Usage" in sub.stdout, sub.stderr
    text = " ".join(_dojo("localnet", "--help", home=tmp_path).stdout.split())
    for word in ("lengthbot", "copier:N", "colluder", "leaderboard.json"):
        assert word in text, text
