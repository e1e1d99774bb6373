"""The key shell and its plain subcommands, against a fake worker API and against the real one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from clirun import run_dojo
from fake_worker_api import build_app
from keyshell_driver import KEY, command, login_and_pick, spawn_shell, tab
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from dojo.chain.wallets import create_wallet
from dojo.cli.keys.shell import CommandCompleter, NameCompleter, resolve_name
from dojo.serving import ServerThread, start_thread
from support import free_port, start_dojo, stop, wait_http_ok


@pytest.fixture
def wallets(tmp_home: Path) -> dict[str, str]:
    """Two coldkeys in the default layout under HOME; returns hotkey ss58 by 'cold/hot'."""
    root = tmp_home / ".bittensor" / "wallets"
    out = {}
    for cold, hot in (("Alice", "miner1"), ("bob", "validator")):
        out[f"{cold}/{hot}"] = create_wallet(cold, hot, root).hotkey.ss58_address
    return out


@pytest.fixture
def fake_api(wallets: dict[str, str]) -> Iterator[ServerThread]:
    app = build_app(registered={wallets["Alice/miner1"]})
    with start_thread(app) as server:
        yield server


def complete(completer: object, text: str) -> list[str]:
    doc = Document(text, len(text))
    return [c.text for c in completer.get_completions(doc, CompleteEvent(completion_requested=True))]  # type: ignore[attr-defined]


def test_completers_match_prefixes_ignoring_case() -> None:
    names = NameCompleter(["Alice", "alfred", "bob"])
    assert complete(names, "AL") == ["Alice", "alfred"]
    assert complete(names, "b") == ["bob"] and complete(names, "x") == []
    assert resolve_name("alice", ["Alice", "bob"]) == "Alice" and resolve_name("ali", ["Alice"]) is None
    commands = CommandCompleter({"api_key": ["dk_abc", "dk_abd"], "subscription_key": []})
    assert complete(commands, "") == ["authenticate", "api_key", "subscription_key", "help", "exit"]
    assert complete(commands, "SUB") == ["subscription_key"]
    assert complete(commands, "api_key ") == ["list", "generate", "delete"]
    assert complete(commands, "api_key D") == ["delete"]
    assert complete(commands, "api_key delete dk_abc") == ["dk_abc"]


def test_shell_in_a_terminal_against_the_fake_api(
    fake_api: ServerThread, tmp_home: Path, wallets: dict[str, str]
) -> None:
    child = spawn_shell(fake_api.url, tmp_home)
    try:
        login_and_pick(child, "ali", "Alice", "MI", "miner1")
        command(child, ("auth", "authenticate"))
        child.expect_exact(f"authenticated as {wallets['Alice/miner1']}")
        child.expect_exact(">>>")
        command(child, ("api", "api_key"), (" gen", "generate"))
        child.expect_exact("shown only once")
        child.expect(KEY)
        api_key = child.match.group(1)
        child.expect_exact(">>>")
        command(child, ("sub", "subscription_key"), (" g", "generate"))
        child.expect(KEY)
        child.expect_exact(">>>")
        command(child, ("api", "api_key"), (" l", "list"))
        child.expect_exact(api_key[:10])
        child.expect_exact("active")
        child.expect_exact(">>>")
        command(child, ("api", "api_key"), (" del", "delete"), (" dk", api_key[:10]))
        child.expect_exact(f"deleted API key {api_key[:10]}")
        child.expect_exact(">>>")
        child.sendline("frobnicate")
        child.expect_exact("unknown command 'frobnicate'")
        child.expect_exact(">>>")
        child.sendline("exit")
        child.expect_exact("bye")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_shell_refused_login_is_a_message_not_a_crash(fake_api: ServerThread, tmp_home: Path) -> None:
    child = spawn_shell(fake_api.url, tmp_home)
    try:
        login_and_pick(child, "B", "bob", "v", "validator")
        child.sendline("authenticate")
        child.expect_exact("not registered on the subnet")
        child.expect_exact(">>>")
        child.sendeof()
        child.expect_exact("bye")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_subcommands_for_scripts(fake_api: ServerThread, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def dojo(*args: str):  # type: ignore[no-untyped-def]
        return run_dojo(list(args), capsys, monkeypatch)

    me = ["--wallet", "Alice", "--hotkey", "miner1", "--url", fake_api.url]
    r = dojo("keys", "authenticate", *me)
    assert r.code == 0 and "authenticated as" in r.out
    r = dojo("keys", "api-key", "generate", *me, "--name", "ci", "--quiet")
    assert r.code == 0
    key = r.out.strip()
    assert KEY.fullmatch(key)
    listed = dojo("keys", "api-key", "list", *me)
    assert listed.code == 0 and key[:10] in listed.out and "ci" in listed.out
    assert dojo("keys", "subscription-key", "generate", *me).code == 0
    assert dojo("keys", "api-key", "delete", key[:10], *me).code == 0
    assert "deleted" in dojo("keys", "api-key", "list", *me).out
    cases = [
        (["keys", "api-key", "delete", key[:10], *me], "no active key"),
        (
            ["keys", "api-key", "list", "--wallet", "bob", "--hotkey", "validator", "--url", fake_api.url],
            "not registered",
        ),  # fmt: skip
        (["keys", "api-key", "list", "--wallet", "carol", "--hotkey", "x", "--url", fake_api.url], "no wallet 'carol'"),
        (
            ["keys", "api-key", "list", "--wallet", "Alice", "--hotkey", "miner1", "--url", "ftp://x"],
            "invalid worker API URL",
        ),
        (
            [
                "keys",
                "api-key",
                "list",
                "--wallet",
                "Alice",
                "--hotkey",
                "miner1",
                "--url",
                f"http://127.0.0.1:{free_port()}",
            ],
            "cannot reach",
        ),  # fmt: skip
        (["keys", "api-key", "generate", "--hotkey", "miner1"], "--wallet"),
        (["keys", "api-key", "rotate", *me], "No such command"),
        (["keys"], "needs a terminal"),
    ]
    for args, needle in cases:
        r = dojo(*args)
        assert r.code != 0, args
        assert needle in r.err, (args, r.err)


def test_against_the_real_worker_api(tmp_home: Path, wallets: dict[str, str], capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from dojo.chain.local import LocalChain

    dojo_home = tmp_home / ".dojo"
    chain = LocalChain(dojo_home / "chain.db")
    chain.register(wallets["Alice/miner1"], wallets["Alice/miner1"])
    port = free_port()
    env = {"HOME": str(tmp_home), "DOJO_HOME": str(dojo_home), "DOJO_CHAIN_NETWORK": "local"}
    proc = start_dojo(["worker-api", "--port", str(port), "--profile", "fast"], env, tmp_home / "worker-api.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http_ok(url + "/health", timeout=60)
        me = ["--wallet", "Alice", "--hotkey", "miner1", "--url", url]
        r = run_dojo(["keys", "api-key", "generate", *me, "--quiet"], capsys, monkeypatch)
        assert r.code == 0, r.err
        key = r.out.strip()
        listed = run_dojo(["keys", "api-key", "list", *me], capsys, monkeypatch)
        assert listed.code == 0
        prefix = next(p for p in listed.out.split() if key.startswith(p) and len(p) >= 4)
        refused = run_dojo(
            ["keys", "authenticate", "--wallet", "bob", "--hotkey", "validator", "--url", url], capsys, monkeypatch
        )
        assert refused.code != 0 and "refused" in refused.err
        child = spawn_shell(url, tmp_home)
        try:
            login_and_pick(child, "a", "Alice", "m", "miner1")
            command(child, ("sub", "subscription_key"), (" gen", "generate"))
            child.expect_exact("shown only once")
            child.expect_exact(">>>")
            tab(child, "api", "api_key")
            tab(child, " del", "delete")
            child.send(" " + prefix + "\r")
            child.expect_exact(f"deleted API key {prefix}")
            child.expect_exact(">>>")
            child.sendline("exit")
            child.expect(pexpect.EOF)
        finally:
            child.close(force=True)
        assert child.exitstatus == 0
        after = run_dojo(["keys", "api-key", "list", *me], capsys, monkeypatch)
        assert "deleted" in after.out
    finally:
        stop(proc)
