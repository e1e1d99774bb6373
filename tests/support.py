"""Helpers shared by the tests: free ports, waiting on conditions, starting processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from dojo import serving
from dojo.localnet.processes import free_port

__all__ = ["free_port", "start_dojo", "stop", "wait_http_ok", "wait_until"]


def wait_until(cond: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05, what: str = "condition") -> Any:
    """Poll ``cond`` until it returns a truthy value; fail the test with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = cond()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - keep polling, report the last failure
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last_exc!r})" if last_exc else "")
    )


def wait_http_ok(url: str, timeout: float = 30.0) -> None:
    """Wait until ``GET url`` answers 200."""
    wait_until(lambda: httpx.get(url, timeout=1.0).status_code == 200, timeout=timeout, what=f"GET {url}")


def start_dojo(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start ``dojo ARGS`` as a real process, its output going to ``log_path``."""
    full_env = {**os.environ, **env}
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process by the caller's stop()
    return subprocess.Popen(
        [sys.executable, "-m", "dojo.cli.app", *args], env=full_env, stdout=log, stderr=subprocess.STDOUT
    )


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> int:
    """Stop a process we started (by its PID), politely first."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    return int(proc.returncode)


@contextmanager
def serving_at(app: Any, **options: Any) -> Iterator[str]:
    """``with serving_at(app) as url:`` — ``app`` served from a thread on a free loopback port until the block ends
    (:func:`dojo.serving.start_thread`; ``options`` are uvicorn's, and ``sock=`` a socket bound first)."""
    with serving.start_thread(app, **options) as server:
        yield server.url
