"""``dojo autoupdate`` against a local bare repository standing in for the remote.

The checkout holds a tiny package (``stub``) with a health server; "reinstalling" copies it into
the site directory the server runs from (the stand-in for ``pip install``; the checkout itself is
never run), the supervisor is a restart
script (stop the old server by its PID, start the new one), and the store that is migrated is a
real worker-API store (SQLite). A good release is taken; a release whose server does not come up
is rolled back: code, installed package, store revision and running server all return.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from dojo.localnet.processes import free_port

SERVER = textwrap.dedent(
    """
    import http.server, sys
    from stub import BROKEN, __version__

    if BROKEN:
        sys.exit("this release cannot start")

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = __version__.encode()
            self.send_response(200 if self.path == "/health" else 404)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Health).serve_forever()
    """
)

INSTALL = textwrap.dedent(
    """
    import shutil, sys
    from pathlib import Path

    target = Path(sys.argv[1]) / "stub"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(Path(__file__).parent / "stub", target)
    """
)

RESTART = textwrap.dedent(
    """
    import os, signal, subprocess, sys, time
    from pathlib import Path

    state, site, port = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    pidfile = state / "server.pid"
    if pidfile.exists():
        pid = int(pidfile.read_text())
        try:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
    log = open(state / "server.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "stub.server", port],
        env={**os.environ, "PYTHONPATH": site},
        stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    pidfile.write_text(str(proc.pid))
    """
)


def git(cwd: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def release(dev: Path, version: str, broken: bool = False, tag: bool = True) -> str:
    """Commit (and tag vX.Y.Z) a release of the stub package in the developer's clone, push it."""
    pkg = dev / "stub"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text(f'__version__ = "{version}"\nBROKEN = {broken}\n')
    (pkg / "server.py").write_text(SERVER)
    (dev / "install.py").write_text(INSTALL)
    git(dev, "add", "-A")
    git(dev, "commit", "-q", "-m", f"release {version}")
    if tag:
        git(dev, "tag", f"v{version}")
    git(dev, "push", "-q", "--tags", "origin", "main")
    return git(dev, "rev-parse", "HEAD")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for key in list(os.environ):
        if key.startswith("DOJO_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "t")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "t@example.org")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "t")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "t@example.org")
    remote, dev, checkout = tmp_path / "remote.git", tmp_path / "dev", tmp_path / "checkout"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    subprocess.run(["git", "clone", "-q", str(remote), str(dev)], check=True, capture_output=True)
    git(dev, "checkout", "-q", "-b", "main")
    first = release(dev, "0.1.0")
    subprocess.run(["git", "clone", "-q", "-b", "main", str(remote), str(checkout)], check=True)
    state, site = tmp_path / "state", tmp_path / "site"
    state.mkdir()
    (state / "restart.py").write_text(RESTART)
    port = free_port()
    env_file = tmp_path / "worker-api.env"
    env_file.write_text(f"DOJO_WORKER_DB_URL=sqlite:///{tmp_path / 'worker.db'}\n")
    w = {
        "tmp": tmp_path,
        "dev": dev,
        "checkout": checkout,
        "state": state,
        "site": site,
        "port": port,
        "env_file": env_file,
        "first": first,
    }
    install = f"{{python}} install.py {site}"
    w["args"] = [
        "--repo",
        str(checkout),
        "--install-cmd",
        install,
        "--restart-cmd",
        f"{sys.executable} {state / 'restart.py'} {state} {site} {port}",
        "--health-url",
        f"http://127.0.0.1:{port}/health",
        "--health-timeout",
        "20",
        "--migrate",
        "worker-api",
        "--env-file",
        str(env_file),
    ]
    # the operator's first install: the package, the store, the service
    subprocess.run(install.format(python=sys.executable).split(), cwd=checkout, check=True)
    store("--to", "0004", env_file=env_file)
    subprocess.run([sys.executable, str(state / "restart.py"), str(state), str(site), str(port)], check=True)
    try:
        yield w
    finally:
        pidfile = state / "server.pid"
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text()), signal.SIGTERM)
            except ProcessLookupError:
                pass


def dojo(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dojo.cli.app", "autoupdate", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def store(*args: str, env_file: Path) -> str:
    """The worker store's revision after ``autoupdate migrate ARGS`` (``--to REV`` or nothing)."""
    env = {**os.environ, "DOJO_WORKER_DB_URL": env_file.read_text().split("=", 1)[1].strip()}
    if args:
        out = subprocess.run(
            [sys.executable, "-m", "dojo.cli.app", "autoupdate", "migrate", "--role", "worker-api", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
    out = subprocess.run(
        [sys.executable, "-m", "dojo.cli.app", "autoupdate", "migrate", "--role", "worker-api", "--current"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def served(port: int) -> str:
    """The version the running server answers with (after a restart it may still be coming up)."""
    for _ in range(200):
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).text
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the stub server never answered")


def head_of(repo: Path) -> str:
    """The package's ``__version__`` at the checkout's HEAD."""
    return (repo / "stub" / "__init__.py").read_text().split('"')[1]


def test_takes_a_good_release_and_rolls_back_a_bad_one(world) -> None:  # type: ignore[no-untyped-def]
    w = world
    assert served(w["port"]) == "0.1.0"
    assert store(env_file=w["env_file"]) == "0004"

    # nothing newer: check says so, apply does nothing
    out = dojo("check", "--repo", str(w["checkout"]), "--track", "tags")
    assert out.returncode == 0 and "up to date: v0.1.0" in out.stdout, out.stdout + out.stderr

    # a good release: updated, reinstalled, migrated, restarted, healthy
    good = release(w["dev"], "0.2.0")
    out = dojo("check", "--repo", str(w["checkout"]), "--track", "tags")
    assert out.returncode == 10 and "v0.1.0 → v0.2.0" in out.stdout, out.stdout + out.stderr
    out = dojo("apply", "--track", "tags", *w["args"])
    assert out.returncode == 0, out.stdout + out.stderr
    assert git(w["checkout"], "rev-parse", "HEAD") == good and head_of(w["checkout"]) == "0.2.0"
    assert served(w["port"]) == "0.2.0"
    assert store(env_file=w["env_file"]) != "0004"  # head
    assert "healthy" in out.stderr

    # a release whose service does not come up: everything returns to 0.2.0
    store("--to", "0004", env_file=w["env_file"])
    bad = release(w["dev"], "0.3.0", broken=True)
    out = dojo("apply", "--track", "tags", *w["args"])
    assert out.returncode != 0
    assert "failed and was rolled back" in out.stderr and "not healthy" in out.stderr, out.stderr
    assert git(w["checkout"], "rev-parse", "HEAD") == good != bad
    assert served(w["port"]) == "0.2.0"  # the old code, reinstalled, runs again
    assert store(env_file=w["env_file"]) == "0004"  # the store is back at its revision

    # following the branch instead of tags: the next commit on main is seen and taken
    fixed = release(w["dev"], "0.3.1", tag=False)
    out = dojo("check", "--repo", str(w["checkout"]), "--track", "branch")
    assert out.returncode == 10, out.stdout + out.stderr
    out = dojo("apply", "--track", "branch", *w["args"])
    assert out.returncode == 0, out.stdout + out.stderr
    assert git(w["checkout"], "rev-parse", "HEAD") == fixed and served(w["port"]) == "0.3.1"


def test_refuses_a_checkout_with_local_changes(world) -> None:  # type: ignore[no-untyped-def]
    w = world
    release(w["dev"], "0.2.0")
    (w["checkout"] / "stub" / "__init__.py").write_text('__version__ = "hacked"\nBROKEN = False\n')
    out = dojo("apply", "--track", "tags", *w["args"])
    assert out.returncode != 0 and "local changes" in out.stderr, out.stdout + out.stderr
    assert served(w["port"]) == "0.1.0"


def test_restarts_through_the_supervisor_the_units_name() -> None:
    from dojo.cli.autoupdate import restart_command

    units = ["dojo-validator", "dojo-synthetic-api"]
    assert restart_command("systemd", units, None) == "systemctl restart dojo-validator dojo-synthetic-api"
    assert restart_command("pm2", units, None) == "pm2 restart dojo-validator dojo-synthetic-api --update-env"
    assert restart_command("systemd", [], None) is None and restart_command("none", units, None) is None
    assert restart_command("pm2", units, "my-restart") == "my-restart"
    # the names the deploy/ files give the services
    from deployfiles import DEPLOY

    pm2 = (DEPLOY / "pm2" / "ecosystem.config.js").read_text()
    for unit in units:
        assert (DEPLOY / "systemd" / f"{unit}.service").is_file()
        assert unit.removeprefix("dojo-") in pm2 and "name: `dojo-${role}`" in pm2
