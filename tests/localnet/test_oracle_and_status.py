"""The local network reads the validator's store only through ValidatorStore, opened read-only.

The simulated labellers' oracle maps a miner's completion ids back to the truth; the live view
counts tasks, rounds and scores. Both must wait quietly while the validator has no store yet.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from dojo.localnet.network import LocalnetConfig, LocalNetwork
from dojo.localnet.oracle import TruthOracle
from dojo.protocol import as_criterion
from dojo.validator.store.records import MinerState, MinerTarget, NewAssignment, NewTask, RoundScores
from dojo.validator.store.repo import ValidatorStore

MINER = MinerTarget(uid=1, hotkey="hk-1", address="http://127.0.0.1:9")
SCORE = {"type": "score", "min": 1, "max": 10}


def _round(store: ValidatorStore, round_id: int, truth: dict[str, int] | None, cmap: dict[str, str]) -> str:
    """A round of one task, copied once to MINER with the miner's ids ``cmap`` (miner id -> original)."""
    task_id = f"task-{round_id}"
    task = NewTask(
        id=task_id,
        prompt="p",
        criteria=as_criterion(SCORE),
        responses=[{"completion_id": c, "content": "<p>x</p>", "model": "m"} for c in cmap.values()],
        ground_truth=truth,
        source="synthetic" if truth else "external",
    )
    expire = datetime.now(timezone.utc) + timedelta(minutes=1)
    store.create_round(round_id, [task], [NewAssignment(task_id, MINER, f"m-{round_id}", cmap, {}, expire)])
    return task_id


def test_the_oracle_waits_for_the_store_then_maps_ids_to_the_truth(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'validator.db'}"
    oracle = TruthOracle(url)
    try:
        assert oracle(["m1"]) is None  # no store yet
        assert not (tmp_path / "validator.db").exists()  # and looking did not create one
        store = ValidatorStore(url)
        _round(store, 1, {"o1": 0, "o2": 1}, {"m1": "o1", "m2": "o2"})
        assert oracle(["m2", "m1"]) == {"m2": 1, "m1": 0}
        assert oracle(["m1", "unknown"]) is None
        _round(store, 2, None, {"e1": "x1", "e2": "x2"})  # an external task: no truth in the store
        stand_in = oracle(["e1", "e2"])  # nobody knows its order: one stable order all simulated people see
        assert stand_in is not None and sorted(stand_in.values()) == [0, 1] and oracle(["e1", "e2"]) == stand_in
        oracle.register_external({"x1": 1, "x2": 0})  # the order the local network generated it with
        assert oracle(["e1", "e2"]) == {"e1": 1, "e2": 0}
        _round(store, 3, {"o3": 0}, {"m3": "o3"})  # copies made later are found on the next miss
        assert oracle(["m3"]) == {"m3": 0}
        store.dispose()
    finally:
        oracle.close()


def test_the_live_view_reads_progress_and_external_results_from_the_store(tmp_path: Path) -> None:
    net = LocalNetwork(LocalnetConfig(miners=1, home=tmp_path))
    empty = net.status()
    assert (empty["tasks"], empty["rounds"], empty["scores"], empty["means"]) == ({}, 0, {}, {})
    assert net.external_from_store() == []
    store = ValidatorStore(net.store_url)
    try:
        task_id = _round(store, 1, {"o1": 0, "o2": 1}, {"m1": "o1", "m2": "o2"})
        assert net.status()["tasks"] == {"created": 1}
        scores = RoundScores(
            round_id=1,
            task_scores=[(task_id, MINER.uid, MINER.hotkey, 0.5)],
            labeller_grades={},
            running={(MINER.uid, MINER.hotkey): MinerState(1.0, 0.25, 0.0625)},
            dropped=[],
            external_results={},
        )
        assert store.record_scores(scores)
        st = net.status()
        assert st["rounds"] == 1 and st["scores"] == {"hk-1": pytest.approx(0.25)}
        assert st["means"] == {"hk-1": pytest.approx(0.5)} and st["counts"] == {"hk-1": 1}
        net.external_ids = ["no-such-request"]
        assert net.external_from_store() == [{"id": "no-such-request", "state": "missing", "result": None}]
    finally:
        store.dispose()
        assert net.stop_all() == []
