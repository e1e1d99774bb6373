"""``dojo worker-api`` as a real process: SQLite by default (WAL), PostgreSQL by URL, clear errors."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest
from tests.support import free_port, start_dojo, stop, wait_http_ok


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {"DOJO_HOME": str(home), "DOJO_PROFILE": "fast", **extra}


@pytest.mark.e2e
def test_service_on_sqlite_by_default(tmp_home: Path, tmp_path: Path) -> None:
    home = tmp_home / ".dojo"
    port = free_port()
    proc = start_dojo(["worker-api", "--port", str(port)], _env(home), tmp_path / "wa.log")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http_ok(base + "/health")
        spec = httpx.get(base + "/openapi.json").json()
        assert "/api/v1/worker/login" in spec["paths"]
        nonce = httpx.get(base + "/api/v1/auth/nonce", params={"address": "0x" + "ab" * 20}).json()
        assert nonce["success"] is True and len(nonce["body"]["nonce"]) >= 8
        with sqlite3.connect(home / "worker.db") as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {
            "miners",
            "api_keys",
            "subscription_keys",
            "labellers",
            "partnerships",
            "tasks",
            "results",
            "labeller_grades",
            "alembic_version",
        } <= tables
        assert (home / "worker_jwt_secret").stat().st_mode & 0o777 == 0o600
    finally:
        code = stop(proc)
    log = (tmp_path / "wa.log").read_text()
    assert code in (0, -15) and "worker_api.stopped" in log and "Traceback" not in log, log


@pytest.mark.e2e
@pytest.mark.postgres
def test_service_on_postgres(tmp_home: Path, tmp_path: Path, pg_url: str) -> None:
    port = free_port()
    proc = start_dojo(
        ["worker-api", "--port", str(port)], _env(tmp_home / ".dojo", DOJO_WORKER_DB_URL=pg_url), tmp_path / "wa.log"
    )
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/health")
    finally:
        stop(proc)
    with psycopg.connect(pg_url.replace("postgresql+psycopg", "postgresql")) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (_head(),)
        assert conn.execute("SELECT count(*) FROM tasks").fetchone() == (0,)


def _head() -> str:
    from alembic.script import ScriptDirectory

    from dojo.worker_api.store.db import MIGRATIONS

    return str(ScriptDirectory(str(MIGRATIONS)).get_current_head())


def test_bad_database_url_is_one_clear_line(tmp_home: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "dojo.cli.app", "worker-api", "--db-url", "mysql://x/y"],
        capture_output=True,
        text=True,
        timeout=60,
        env=None,
    )
    assert out.returncode == 2
    assert "unsupported worker database URL" in out.stderr and "Traceback" not in out.stderr
