"""The simulated labellers' "eyes": the true rank of each completion a miner's copy shows.

A real person judges the responses by looking at them. A simulated one asks this oracle,
which reads the validator's store (opened read-only, through :class:`ValidatorStore`'s
:meth:`~dojo.validator.store.views.StoreViews.copies_since`) to map a miner's completion ids
back to the original ones and their ground truth. For external tasks, whose truth the validator does not
know, the local network registers the order it generated them with.
"""

from __future__ import annotations

import hashlib
import threading

from dojo.validator.store.repo import ValidatorStore


class TruthOracle:
    """Looks up true ranks by the completion ids a labeller sees."""

    def __init__(self, store_url: str) -> None:
        self.store_url = store_url  # the validator's store: sqlite:///FILE or postgresql+psycopg://…
        self._store: ValidatorStore | None = None
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
        if self._store is None:
            self._store = ValidatorStore.open_read_only(self.store_url)
            if self._store is None:
                return  # the validator has not created its store yet
        for copy in self._store.copies_since(self._last_assignment):
            for miner_cid, orig in copy.completion_map.items():
                self._copies[miner_cid] = (copy.task_id, orig)
            self._truth[copy.task_id] = copy.ground_truth
            self._last_assignment = max(self._last_assignment, copy.assignment_id)

    def close(self) -> None:
        """Let go of the validator's store."""
        with self._lock:
            if self._store is not None:
                self._store.dispose()
                self._store = None

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
                    return None if truth else _stand_in(completion_ids, self._copies)
                out[cid] = int(rank)
            return out


def _stand_in(completion_ids: list[str], copies: dict[str, tuple[str, str]]) -> dict[str, int]:
    """A consumer's own external task (``dojo external submit``): nobody knows its order, so the simulated
    people all "see" one stable order of its original answers, and their labels agree as people's would."""
    order = sorted(completion_ids, key=lambda c: hashlib.sha256(copies[c][1].encode()).hexdigest())
    return {cid: rank for rank, cid in enumerate(order)}
