"""The simulated labellers' "eyes": the true rank of each completion a miner's copy shows.

A real person judges the responses by looking at them. A simulated one asks this oracle,
which reads the validator's store (read-only) to map a miner's completion ids back to the
original ones and their ground truth. For external tasks, whose truth the validator does not
know, the local network registers the order it generated them with.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path


class TruthOracle:
    """Looks up true ranks by the completion ids a labeller sees."""

    def __init__(self, validator_db: Path) -> None:
        self.path = validator_db
        self._lock = threading.Lock()
        self._copies: dict[str, tuple[str, str]] = {}  # miner completion id -> (task id, original id)
        self._truth: dict[str, dict[str, int] | None] = {}  # task id -> ground truth
        self._external: dict[str, int] = {}  # original completion id -> rank, for external tasks
        self._last_assignment = 0

    def register_external(self, ranks: dict[str, int]) -> None:
        """The true order of an external task the local network submitted."""
        with self._lock:
            self._external.update(ranks)

    def _refresh(self) -> None:
        if not self.path.exists():
            return
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5)
        try:
            rows = db.execute(
                "SELECT a.id, a.task_id, a.completion_map, t.ground_truth FROM assignments a "
                "JOIN tasks t ON t.id = a.task_id WHERE a.id > ? ORDER BY a.id",
                (self._last_assignment,),
            ).fetchall()
        except sqlite3.OperationalError:
            return  # the validator has not created its tables yet
        finally:
            db.close()
        for aid, task_id, cmap, gt in rows:
            for miner_cid, orig in json.loads(cmap).items():
                self._copies[miner_cid] = (task_id, orig)
            self._truth[task_id] = json.loads(gt) if gt else None
            self._last_assignment = max(self._last_assignment, aid)

    def __call__(self, completion_ids: list[str]) -> dict[str, int] | None:
        """``{completion id: rank}`` for a copy, or None while any id is unknown."""
        with self._lock:
            if any(c not in self._copies for c in completion_ids):
                self._refresh()
            out: dict[str, int] = {}
            for cid in completion_ids:
                if cid not in self._copies:
                    return None
                task_id, orig = self._copies[cid]
                truth = self._truth.get(task_id)
                rank = truth.get(orig) if truth else self._external.get(orig)
                if rank is None:
                    return None
                out[cid] = int(rank)
            return out
