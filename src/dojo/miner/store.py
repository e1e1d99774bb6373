"""The miner's only state: which worker task holds each validator's task (SQLite, ``<home>/miner.db``).

Keyed by (validator hotkey, task id): a validator can read results and send feedback only for
tasks it created itself, and one validator can't hijack another's task id. Every write is
committed before the reply leaves, so a restart loses nothing.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS task_map (
    validator_hotkey TEXT NOT NULL,
    task_id          TEXT NOT NULL,
    worker_task_id   TEXT NOT NULL,
    expire_at        TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    feedback_at      TEXT,
    PRIMARY KEY (validator_hotkey, task_id)
)
"""


@dataclass(frozen=True)
class TaskLink:
    """One validator task and the worker task that holds it."""

    validator_hotkey: str
    task_id: str
    worker_task_id: str
    expire_at: str
    created_at: str
    feedback_at: str | None = None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class TaskMap:
    """A small SQLite table, used from async code through worker threads (one connection, one lock)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    # -- synchronous core (run in a thread by the async wrappers) --------------------------------
    def get_sync(self, validator_hotkey: str, task_id: str) -> TaskLink | None:
        with self._lock:
            row = self._db.execute(
                "SELECT validator_hotkey, task_id, worker_task_id, expire_at, created_at, feedback_at "
                "FROM task_map WHERE validator_hotkey = ? AND task_id = ?",
                (validator_hotkey, task_id),
            ).fetchone()
        return TaskLink(*row) if row else None

    def put_sync(self, validator_hotkey: str, task_id: str, worker_task_id: str, expire_at: str) -> TaskLink:
        """Insert the link; if one already exists (a retried request) keep and return the first."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO task_map (validator_hotkey, task_id, worker_task_id, expire_at, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (validator_hotkey, task_id, worker_task_id, expire_at, _now()),
            )
        link = self.get_sync(validator_hotkey, task_id)
        assert link is not None
        return link

    def mark_feedback_sync(self, validator_hotkey: str, task_id: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE task_map SET feedback_at = ? WHERE validator_hotkey = ? AND task_id = ?",
                (_now(), validator_hotkey, task_id),
            )

    def prune_sync(self, expired_before: datetime) -> int:
        """Forget links of tasks that expired before ``expired_before`` (UTC); returns how many."""
        cutoff = expired_before.astimezone(timezone.utc).isoformat()
        with self._lock:
            return int(self._db.execute("DELETE FROM task_map WHERE expire_at < ?", (cutoff,)).rowcount)

    def count_sync(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM task_map").fetchone()[0])

    # -- async wrappers ---------------------------------------------------------------------------
    async def get(self, validator_hotkey: str, task_id: str) -> TaskLink | None:
        """The link for a validator's task, or None."""
        return await asyncio.to_thread(self.get_sync, validator_hotkey, task_id)

    async def put(self, validator_hotkey: str, task_id: str, worker_task_id: str, expire_at: str) -> TaskLink:
        """Record a link (first writer wins)."""
        return await asyncio.to_thread(self.put_sync, validator_hotkey, task_id, worker_task_id, expire_at)

    async def mark_feedback(self, validator_hotkey: str, task_id: str) -> None:
        """Note that feedback for the task reached the worker API."""
        await asyncio.to_thread(self.mark_feedback_sync, validator_hotkey, task_id)
