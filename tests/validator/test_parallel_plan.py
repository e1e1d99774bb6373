"""A round planned on the process pool is the round planned in one process: same instances, same copies."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from dojo.validator import procpool
from dojo.validator.copies import default_obfuscator, plan_copies
from dojo.validator.planner import PlanRules, plan_new_round
from dojo.validator.slots import fill_slots
from dojo.validator.sources import ProceduralSource
from dojo.validator.store.records import MinerTarget
from dojo.validator.store.repo import ValidatorStore

MINERS = [
    MinerTarget(uid=i + 1, hotkey=f"5ParallelMiner{i:02d}", address=f"http://127.0.0.1:{9000 + i}") for i in range(6)
]
EXPIRE = datetime(2030, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(autouse=True, scope="module")
def stop_pool() -> Iterator[None]:
    yield
    procpool.shutdown()  # no worker processes outlive these tests


@pytest.fixture(autouse=True)
def small_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(procpool, "MIN_ITEMS", 2)  # a small round goes to the pool too


def _plan(tmp: Path, processes: int, seed: int | None = 11) -> tuple[list, list]:
    import asyncio

    store = ValidatorStore(f"sqlite:///{tmp / f'v{processes}.db'}")
    try:
        rules = PlanRules(2, seed, 0.0, 3, 20, processes)
        plan = asyncio.run(
            plan_new_round(store, ProceduralSource(seed=5), None, MINERS, 3, rules, EXPIRE, default_obfuscator())
        )
    finally:
        store.dispose()
    return plan.tasks, plan.assignments


def test_pool_plans_the_same_round_as_one_process(tmp_path: Path) -> None:
    tasks_1, copies_1 = _plan(tmp_path, processes=0)
    tasks_2, copies_2 = _plan(tmp_path, processes=2)
    assert len(copies_1) == len(MINERS) * 2 and len({t.id for t in tasks_1}) == len(MINERS) * 2
    assert [(t.id, t.prompt, t.responses, t.ground_truth) for t in tasks_2] == [
        (t.id, t.prompt, t.responses, t.ground_truth) for t in tasks_1
    ]
    assert copies_2 == copies_1  # ids, order, obfuscated documents, mapping back: all equal
    # the copies really were obfuscated (not passed through) and differ between miners
    contents = [r["content"] for a in copies_2 for r in a.payload["responses"]]
    assert len(set(contents)) == len(contents)
    assert all(r["content"] not in contents for t in tasks_2 for r in t.responses)


async def test_instances_on_the_pool_match_a_loop() -> None:
    wants = [(m, 3) for m in MINERS]
    serial = await fill_slots(ProceduralSource(seed=2), 4, wants, seed=9, processes=0)
    pooled = await fill_slots(ProceduralSource(seed=2), 4, wants, seed=9, processes=2)
    assert serial.instances == pooled.instances == len(MINERS) * 3
    assert {hk: [t.id for t in ts] for hk, ts in pooled.by_miner.items()} == {
        hk: [t.id for t in ts] for hk, ts in serial.by_miner.items()
    }
    assert pooled.by_miner == serial.by_miner


def test_copies_without_a_seed_are_still_distinct_on_the_pool() -> None:
    import asyncio

    slots = asyncio.run(fill_slots(ProceduralSource(seed=1), 1, [(m, 1) for m in MINERS], seed=None, processes=2))
    pairs = [(t, m) for m in MINERS for t in slots.by_miner[m.hotkey]]
    built = plan_copies(pairs, None, EXPIRE, default_obfuscator(), processes=2)
    assert [(a.task_id, a.miner) for a in built] == [(t.id, m) for t, m in pairs]
    assert len({a.miner_task_id for a in built}) == len(built)
    for a, (task, _) in zip(built, pairs, strict=True):
        assert sorted(a.completion_map.values()) == sorted(r["completion_id"] for r in task.responses)


def _die(x: int) -> int:
    if x == 3:
        os._exit(1)  # a worker killed half-way (as by the OOM killer)
    return x


class Unpicklable(Exception):
    def __init__(self, what: str, why: str) -> None:  # two arguments: it cannot be rebuilt from its args
        super().__init__(f"{what}: {why}")


def _bad(x: int) -> int:
    raise Unpicklable("copy", f"malformed {x}")


def test_a_broken_pool_is_dropped_and_the_next_call_starts_a_new_one() -> None:
    assert procpool.map_ordered(_die, list(range(8)), 2) is None  # the caller does the work itself
    assert procpool.map_ordered(abs, [-1, -2, 3], 2) == [1, 2, 3]


def test_an_error_in_a_worker_is_raised_in_the_caller() -> None:
    with pytest.raises(procpool.WorkerError, match="Unpicklable: copy: malformed"):
        procpool.map_ordered(_bad, [1, 2, 3], 2)
    assert procpool.map_ordered(abs, [-4], 2) == [4]  # the pool survived it


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return not any(line.startswith("State:") and "Z" in line for line in f)
    except FileNotFoundError:
        return False


def test_workers_exit_when_the_validator_is_killed(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    script = (
        "import os, signal, sys\n"
        "from dojo.validator import procpool\n"
        "if __name__ == '__main__':\n"
        "    procpool.warm(2)\n"
        "    procpool.map_ordered(abs, [1, 2], 2)\n"
        "    kids = [c for t in os.listdir('/proc/self/task')\n"
        "            for c in open(f'/proc/self/task/{t}/children').read().split()]\n"
        "    open(sys.argv[1], 'w').write(' '.join(kids))\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    path, pids = tmp_path / "killed_validator.py", tmp_path / "workers"
    path.write_text(script)
    proc = subprocess.run([sys.executable, str(path), str(pids)], stdout=subprocess.DEVNULL, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    workers = [int(p) for p in pids.read_text().split()]  # the pool's processes (and its resource tracker)
    assert len(workers) >= 2
    try:
        deadline = time.monotonic() + 20
        while any(_running(p) for p in workers):
            assert time.monotonic() < deadline, f"pool workers {workers} outlived their parent"
            time.sleep(0.1)
    finally:
        for p in workers:  # they are ours: never leave one behind, even when the test fails
            if _running(p):
                os.kill(p, signal.SIGKILL)
