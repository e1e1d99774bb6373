"""``dojo wallet`` and ``dojo chain``: the happy path and bad input to every command (clear line, exit ≠ 0)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from clirun import run_dojo

from dojo.chain.local import LocalChain


@pytest.fixture
def dojo(tmp_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("DOJO_WALLET_PASSWORD", raising=False)
    monkeypatch.delenv("DOJO_WALLET_PATH", raising=False)
    return lambda *args: run_dojo(list(args), capsys, monkeypatch)


def test_wallet_create_and_list(dojo, tmp_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    r = dojo("wallet", "create", "--name", "alice", "--hotkey", "miner1", "--no-password")
    assert r.code == 0, r.err
    assert (tmp_home / ".bittensor/wallets/alice/hotkeys/miner1").is_file(), "standard layout under ~/.bittensor"
    from bittensor.keyfiles import Keypair

    words = r.out.split("hotkey mnemonic (write it down: it restores the key): ")[1].splitlines()[0].split()
    assert len(words) == 12
    hot = r.out.split("hotkey  ")[1].split()[0]
    assert Keypair.create_from_mnemonic(" ".join(words)).ss58_address == hot, "the printed mnemonic restores the hotkey"
    r2 = dojo("wallet", "create", "--name", "alice", "--hotkey", "miner2", "--no-password", "--quiet")
    assert "mnemonic" not in r2.out
    cold = re.search(r"coldkey (5\w{47})", r.out).group(1)  # type: ignore[union-attr]
    assert r2.code == 0 and cold in r2.out, "a second hotkey reuses the coldkey"
    monkeypatch.setenv("DOJO_WALLET_PASSWORD", "s3cret")
    assert dojo("wallet", "create", "--name", "bob", "--hotkey", "v", "--path", "w").code == 0
    listed = dojo("wallet", "list")
    assert listed.code == 0
    assert "alice" in listed.out and "miner1" in listed.out and "miner2" in listed.out and cold in listed.out
    other = dojo("wallet", "list", "--path", "w")
    assert "bob" in other.out and "yes" in other.out, "the password-protected coldkey shows as encrypted"
    import bittensor as bt

    w = bt.Wallet(name="bob", hotkey="v", path=str(tmp_home.parent / "w"))
    assert w.coldkey_file.is_encrypted() and not w.hotkey_file.is_encrypted()


def test_wallet_bad_input(dojo, tmp_home: Path) -> None:  # type: ignore[no-untyped-def]
    assert dojo("wallet", "create", "--name", "a", "--hotkey", "h", "--no-password").code == 0
    cases = [
        (["wallet", "create", "--name", "a", "--hotkey", "h", "--no-password"], "--overwrite"),
        (["wallet", "create", "--name", "b", "--hotkey", "h"], "DOJO_WALLET_PASSWORD"),
        (["wallet", "create", "--name", "../x", "--hotkey", "h", "--no-password"], "invalid wallet name"),
        (["wallet", "create", "--name", "c", "--hotkey", "", "--no-password"], "invalid hotkey name"),
        (["wallet", "create", "--name", "c", "--hotkey", "h", "--no-password", "--path", "afile"], "not a directory"),
        (["wallet", "list", "--path", "afile"], "not a directory"),
        (["wallet", "create", "--hotkey", "h"], "--name"),
    ]
    (tmp_home.parent / "afile").write_text("x")
    for args, needle in cases:
        r = dojo(*args)
        assert r.code != 0, args
        assert needle in r.err, (args, r.err)
    assert dojo("wallet", "create", "--name", "a", "--hotkey", "h", "--no-password", "--overwrite").code == 0


def test_chain_commands(dojo, tmp_home: Path) -> None:  # type: ignore[no-untyped-def]
    assert dojo("wallet", "create", "--name", "v", "--hotkey", "h", "--no-password").code == 0
    r = dojo("chain", "register", "--wallet", "v", "--hotkey", "h")
    assert r.code == 2 and "dojo chain init" in r.err
    r = dojo("chain", "init", "--profile", "fast", "--epoch-blocks", "7")
    assert r.code == 0 and "epoch_blocks" in r.out
    assert LocalChain(tmp_home / ".dojo" / "chain.db").params.epoch_blocks == 7
    r = dojo("chain", "register", "--wallet", "v", "--hotkey", "h")
    assert r.code == 0 and "uid 0" in r.out
    from bittensor.keyfiles import Keypair

    raw = Keypair.create_from_uri("//raw").ss58_address
    r = dojo("chain", "register", "--hotkey-ss58", raw)
    assert r.code == 0 and "uid 1" in r.out
    r = dojo("chain", "stake", "--wallet", "v", "--hotkey", "h", "--amount", "12.5")
    assert r.code == 0 and "12.5" in r.out
    mg = dojo("chain", "metagraph")
    assert mg.code == 0 and raw in mg.out and "12.5" in mg.out and "yes" in mg.out
    bal = dojo("chain", "balances")
    assert bal.code == 0 and raw in bal.out and "0.000000" in bal.out
    r = dojo("chain", "init", "--reset")
    assert r.code == 0
    assert "uid 0" in dojo("chain", "register", "--hotkey-ss58", raw).out, "reset starts a new chain"


def test_chain_bad_input(dojo, tmp_home: Path) -> None:  # type: ignore[no-untyped-def]
    assert dojo("chain", "init").code == 0
    from bittensor.keyfiles import Keypair

    raw = Keypair.create_from_uri("//raw").ss58_address
    (tmp_home.parent / "afile").write_text("x")
    cases = [
        (["chain", "init"], "--reset"),
        (["chain", "init", "--profile", "slow"], "profile"),
        (["chain", "init", "--reset", "--block-time", "0"], "block time"),
        (["chain", "init", "--home", str(tmp_home.parent / "afile")], "cannot create"),
        (["chain", "register"], "--wallet"),
        (["chain", "register", "--wallet", "nobody", "--hotkey", "h"], "no wallet 'nobody'"),
        (["chain", "register", "--wallet", "w", "--hotkey-ss58", raw], "not both"),
        (["chain", "register", "--hotkey-ss58", "5abc"], "invalid hotkey address"),
        (["chain", "register", "--hotkey-ss58", raw, "--coldkey-ss58", "zz"], "invalid coldkey address"),
        (["chain", "stake", "--hotkey-ss58", raw, "--amount", "1"], "not registered"),
        (["chain", "stake", "--hotkey-ss58", raw, "--amount", "abc"], "amount"),
        (["chain", "stake", "--hotkey-ss58", raw, "--amount", "-5"], "stake amount"),
        (["chain", "metagraph", "--home", str(tmp_home / "nowhere")], "dojo chain init"),
        (["chain", "balances", "--home", str(tmp_home / "nowhere")], "dojo chain init"),
        (["chain", "frobnicate"], "No such command"),
    ]
    for args, needle in cases:
        r = dojo(*args)
        assert r.code != 0, args
        assert needle in r.err, (args, r.err)


def test_real_process_prints_one_line_not_a_traceback(tmp_home: Path) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    p = subprocess.run(
        [sys.executable, "-m", "dojo.cli.app", "chain", "register", "--hotkey-ss58", "nonsense"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert p.returncode == 2
    assert "error:" in p.stderr and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
