"""What the HTTP benches share: free loopback ports, waiting for a server, stopping it, scratch databases."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request

from dojo.localnet.processes import free_port

__all__ = ["PG_ADMIN", "drop_pg", "free_port", "stop", "wait_ok"]

#: The local PostgreSQL server's maintenance database (trust auth on loopback).
PG_ADMIN = os.environ.get("DOJO_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def wait_ok(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    """Wait until ``url`` answers 200; stop with a clear message when ``proc`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server at {url} did not come up within {timeout} s")


def stop(proc: subprocess.Popen[bytes], grace_s: float = 20) -> None:
    """Stop a process we started: SIGTERM, then SIGKILL after ``grace_s``."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(grace_s)


def drop_pg(name: str) -> None:
    """Drop a scratch database a bench created."""
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
