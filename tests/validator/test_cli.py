"""`dojo validator` start-up failures are one clear line and exit code 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

from dojo.chain.wallets import create_wallet
from support import start_dojo


def test_bad_starts_give_one_clear_line(tmp_path: Path, tmp_home: Path) -> None:
    wallets = tmp_path / "wallets"
    create_wallet("val", "hot", wallets)
    common = {"DOJO_HOME": str(tmp_path / "home"), "DOJO_WALLET_PATH": str(wallets)}
    cases = {
        "no-wallet": (["validator", "--wallet.name", "ghost"], "no wallet 'ghost'"),
        "bad-source": (["validator", "--wallet.name", "val", "--wallet.hotkey", "hot", "--task-source", "bogus"],
                       "unknown task source 'bogus'"),
    }
    procs = {name: start_dojo(args, common, tmp_path / f"{name}.log") for name, (args, _) in cases.items()}
    for name, proc in procs.items():
        assert proc.wait(60) == 2, name
        out = (tmp_path / f"{name}.log").read_text()
        assert cases[name][1] in out, out
        assert "Traceback" not in out, out
