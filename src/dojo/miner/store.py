"""The miner's only state: which worker task holds each validator's copy (SQLite, ``<home>/miner.db``).

Keyed by (validator hotkey, ``miner_task_id``): a validator can read results and send feedback only
for tasks it created itself, and one validator can't hijack another's task id. Every write is
committed before the reply leaves, so a restart loses nothing. (The ids are named in
:mod:`dojo.protocol`'s docstring.)
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS task_map (
    validator_hotkey TEXT NOT NULL,
    miner_task_id    TEXT NOT NULL,
    worker_task_id   TEXT NOT NULL,
    expire_at        TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    feedback_at      TEXT,
    PRIMARY KEY (validator_hotkey, miner_task_id)
)
"""
# columns added after the first release: (name, SQL type); added in place to an older file
_ADDED_COLUMNS = (("results", "INTEGER"), ("score", "REAL"))
# columns renamed after the first release: (old name, new name); renamed in place in an older file, one way
# (a miner of an older release can no longer read the file: upgrade every miner that shares it together)
_RENAMED_COLUMNS = (("task_id", "miner_task_id"),)
#: How long opening the store may wait for other processes opening it at the same moment.
OPEN_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class TaskSummary:
    """What the store says about the miner's work (``dojo status``)."""

    received: int  # tasks validators sent and the miner holds (expired ones are pruned after a while)
    open: int  # not yet expired
    labelled: int  # results served to the validator with at least one labeller's answer
    fed_back: int  # the validator's score and ground truth came back
    validators: int
    last_received_at: str | None
    last_score: float | None
    last_score_at: str | None


@dataclass(frozen=True)
class TaskLink:
    """One validator's copy of a task (``miner_task_id``) and the worker task that holds it."""

    validator_hotkey: str
    miner_task_id: str
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
        # Several miners of one machine may share this file and start together. Switching to WAL
        # needs the file to itself, and SQLite answers "locked" at once (no busy wait) when another
        # process switches at the same moment: that one step is tried again until it goes through.
        deadline = time.monotonic() + OPEN_TIMEOUT_S
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._db.execute("PRAGMA synchronous=NORMAL")
        # The schema check and its upgrade run under SQLite's write lock (a busy wait), so only one
        # of the miners renames an old column or adds a missing one.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute(_SCHEMA)
            have = {row[1] for row in self._db.execute("PRAGMA table_info(task_map)")}
            for old, new in _RENAMED_COLUMNS:
                if old in have and new not in have:
                    self._db.execute(f"ALTER TABLE task_map RENAME COLUMN {old} TO {new}")
            for name, kind in _ADDED_COLUMNS:
                if name not in have:
                    self._db.execute(f"ALTER TABLE task_map ADD COLUMN {name} {kind}")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    # -- synchronous core (run in a thread by the async wrappers) --------------------------------
    def get_sync(self, validator_hotkey: str, miner_task_id: str) -> TaskLink | None:
        with self._lock:
            row = self._db.execute(
                "SELECT validator_hotkey, miner_task_id, worker_task_id, expire_at, created_at, feedback_at "
                "FROM task_map WHERE validator_hotkey = ? AND miner_task_id = ?",
                (validator_hotkey, miner_task_id),
            ).fetchone()
        return TaskLink(*row) if row else None

    def put_sync(self, validator_hotkey: str, miner_task_id: str, worker_task_id: str, expire_at: str) -> TaskLink:
        """Insert the link; if one already exists (a retried request) keep and return the first."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO task_map (validator_hotkey, miner_task_id, worker_task_id, expire_at, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (validator_hotkey, miner_task_id, worker_task_id, expire_at, _now()),
            )
        link = self.get_sync(validator_hotkey, miner_task_id)
        assert link is not None
        return link

    def mark_feedback_sync(self, validator_hotkey: str, miner_task_id: str, score: float | None = None) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE task_map SET feedback_at = ?, score = ? WHERE validator_hotkey = ? AND miner_task_id = ?",
                (_now(), score, validator_hotkey, miner_task_id),
            )

    def mark_results_sync(self, validator_hotkey: str, miner_task_id: str, results: int) -> None:
        """Note how many labellers' results were last served for the task."""
        with self._lock:
            self._db.execute(
                "UPDATE task_map SET results = ? WHERE validator_hotkey = ? AND miner_task_id = ?",
                (results, validator_hotkey, miner_task_id),
            )

    def summary_sync(self, now: datetime | None = None) -> TaskSummary:
        """Counts of the tasks held, and the last score a validator sent back."""
        cutoff = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat()
        with self._lock:
            counts = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(expire_at >= ?), 0), COALESCE(SUM(results > 0), 0), "
                "COUNT(feedback_at), COUNT(DISTINCT validator_hotkey), MAX(created_at) FROM task_map",
                (cutoff,),
            ).fetchone()
            last = self._db.execute(
                "SELECT score, feedback_at FROM task_map WHERE feedback_at IS NOT NULL "
                "ORDER BY feedback_at DESC LIMIT 1"
            ).fetchone()
        received, open_, labelled, fed_back, validators, last_received = counts
        return TaskSummary(
            int(received),
            int(open_),
            int(labelled),
            int(fed_back),
            int(validators),
            last_received,
            None if last is None or last[0] is None else float(last[0]),
            None if last is None else str(last[1]),
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
    async def get(self, validator_hotkey: str, miner_task_id: str) -> TaskLink | None:
        """The link for a validator's task, or None."""
        return await asyncio.to_thread(self.get_sync, validator_hotkey, miner_task_id)

    async def put(self, validator_hotkey: str, miner_task_id: str, worker_task_id: str, expire_at: str) -> TaskLink:
        """Record a link (first writer wins)."""
        return await asyncio.to_thread(self.put_sync, validator_hotkey, miner_task_id, worker_task_id, expire_at)

    async def mark_feedback(self, validator_hotkey: str, miner_task_id: str, score: float | None = None) -> None:
        """Note that feedback for the task (the validator's ``score``) reached the worker API."""
        await asyncio.to_thread(self.mark_feedback_sync, validator_hotkey, miner_task_id, score)

    async def mark_results(self, validator_hotkey: str, miner_task_id: str, results: int) -> None:
        """Note how many labellers' results were served for the task."""
        await asyncio.to_thread(self.mark_results_sync, validator_hotkey, miner_task_id, results)
