"""Bench: what planning a round costs with per-miner synthetic instances (DESIGN §7, no resale).

Two plans of the same round shape (M miners × T tasks, 4 responses, real obfuscation), each in a
fresh process so its peak memory is its own:

* ``shared`` — the old plan, the peer: T tasks from the source, every miner an obfuscated,
  shuffled copy of the SAME tasks (one crew's labels could be resold to many hotkeys);
* ``instances`` — the plan the validator runs now (:func:`dojo.validator.planner.plan_new_round`):
  T source tasks, every miner its own instance of each (``instantiate``), then its copy.

Per plan it prints wall time and CPU-seconds (this process, every thread: V8's included) for the
planning (generation + copies) and for storing the round (one ``create_round`` into a fresh
SQLite file), the peak RSS and the store's size; then, in another fresh process, what scoring
one collected round of that shape costs (``score_stored_round``, 3 labellers per copy, random
values) — with instances a round holds M·T tasks instead of T. Each with the ratio
instances / shared.

    python bench/rounds.py [--miners 32] [--tasks 4] [--workers N]
    python bench/rounds.py --miners 256 --tasks 4        # the issue's figure
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

PLANS = ("shared", "instances")


def _targets(n: int) -> list[Any]:
    from dojo.validator.store.records import MinerTarget

    return [MinerTarget(uid=i + 1, hotkey=f"5Miner{i:04d}", address=f"http://127.0.0.1:{10000 + i}") for i in range(n)]


async def _plan(kind: str, miners: int, tasks: int, workers: int, db: Path) -> dict[str, float]:
    from dojo.synthetic.procedural import generate_task
    from dojo.validator import copies
    from dojo.validator.planner import PlanRules, plan_new_round
    from dojo.validator.slots import fill_slots
    from dojo.validator.sources import ProceduralSource
    from dojo.validator.store.repo import ValidatorStore

    obfuscate = copies.default_obfuscator()
    together = threading.Barrier(workers)

    def warm(_: int) -> None:  # every copy thread loads its V8 context before the clock starts
        obfuscate("<script>var a=1</script>", 1)
        together.wait(timeout=60)

    list(copies._pool(workers).map(warm, range(workers)))
    generate_task(0)  # imports and first-use costs of the generator, outside the figures
    store = ValidatorStore(f"sqlite:///{db}")
    targets = _targets(miners)
    source = ProceduralSource(seed=None)
    expire_at = datetime.now(timezone.utc) + timedelta(hours=1)
    # generation alone, once more on the side (the plan below does it again, as the validator does)
    cpu = time.process_time()
    if kind == "shared":
        await source.take(2, tasks)
    else:
        await fill_slots(source, 2, [(m, tasks) for m in targets], None, processes=0)
    gen_cpu = time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    if kind == "shared":
        shared = [st.task for st in await source.take(1, tasks)]
        pairs = [(t, m) for t in shared for m in targets]
        # threads, not the process pool: this bench counts CPU with process_time (its own threads only);
        # the pool is measured by bench/scale.py --part b
        assignments = await asyncio.to_thread(copies.plan_copies, pairs, None, expire_at, obfuscate, workers, 0)
        round_tasks = shared
    else:
        rules = PlanRules(tasks, None, 0.0, 3, 20, processes=0)
        plan = await plan_new_round(store, source, None, targets, 1, rules, expire_at, obfuscate)
        assignments, round_tasks = plan.assignments, plan.tasks
    plan_wall, plan_cpu = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    store.create_round(1, round_tasks, assignments)
    store_wall, store_cpu = time.perf_counter() - wall, time.process_time() - cpu
    store.dispose()
    assert len(assignments) == miners * tasks
    return {
        "plan_wall": plan_wall,
        "plan_cpu": plan_cpu,
        "gen_cpu": gen_cpu,
        "store_wall": store_wall,
        "store_cpu": store_cpu,
        "tasks": len(round_tasks),
        "copies": len(assignments),
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "db_mb": sum(p.stat().st_size for p in db.parent.glob(db.name + "*")) / 1e6,
    }


def _score(kind: str, miners: int, tasks: int) -> dict[str, float]:
    """Score one collected round of this shape (3 labellers per copy, random values) as the validator does."""
    import uuid

    import numpy as np

    from dojo.validator.scorer import score_stored_round
    from dojo.validator.store.records import LabelRow, RoundForScoring, ScoredAssignment, TaskForScoring

    rng = np.random.default_rng(0)
    now = datetime.now(timezone.utc)
    n_tasks = tasks if kind == "shared" else miners * tasks
    views = []
    for _ in range(n_tasks):
        cids = [str(uuid.uuid4()) for _ in range(4)]
        truth = {c: k for k, c in enumerate(cids)}
        crit = {"type": "score", "min": 1, "max": 10}
        views.append(TaskForScoring(str(uuid.uuid4()), "collected", "synthetic", crit, cids, truth, None))
    assigned = []
    for m in range(miners):
        for ti in range(tasks) if kind == "shared" else range(m * tasks, (m + 1) * tasks):
            t = views[ti]
            rows = [LabelRow(f"l{k}", c, float(rng.integers(1, 11)), now) for k in range(3) for c in t.completion_ids]
            assigned.append(ScoredAssignment(len(assigned) + 1, t.id, m + 1, f"5Miner{m:04d}", "collected", None, rows))
    rnd = RoundForScoring(round_id=1, tasks=views, assignments=assigned, running={})
    wall, cpu = time.perf_counter(), time.process_time()
    score_stored_round(rnd)
    return {
        "score_wall": time.perf_counter() - wall,
        "score_cpu": time.process_time() - cpu,
        "score_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _run_child(kind: str, args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, __file__, "--child", kind, "--miners", str(args.miners), "--tasks", str(args.tasks)]
        cmd += ["--workers", str(args.workers), "--db", str(Path(tmp) / "validator.db")]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--miners", type=int, default=32)
    ap.add_argument("--tasks", type=int, default=4)
    ap.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1), help="copy-building threads")
    ap.add_argument("--child", choices=PLANS + tuple(f"score-{k}" for k in PLANS), help=argparse.SUPPRESS)
    ap.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child in PLANS:
        print(json.dumps(asyncio.run(_plan(args.child, args.miners, args.tasks, args.workers, args.db))))
        return
    if args.child:
        print(json.dumps(_score(args.child.removeprefix("score-"), args.miners, args.tasks)))
        return

    print(f"round: {args.miners} miners x {args.tasks} tasks, 4 responses, real obfuscation, {args.workers} threads")
    got = {kind: {**_run_child(kind, args), **_run_child(f"score-{kind}", args)} for kind in PLANS}
    rows = [
        ("tasks stored", "tasks", "{:.0f}"),
        ("copies built", "copies", "{:.0f}"),
        ("plan wall s (generate + copies)", "plan_wall", "{:.2f}"),
        ("plan CPU-s", "plan_cpu", "{:.2f}"),
        ("  of which generation CPU-s", "gen_cpu", "{:.2f}"),
        ("store wall s (create_round)", "store_wall", "{:.2f}"),
        ("store CPU-s", "store_cpu", "{:.2f}"),
        ("peak RSS MB (plan + store)", "rss_mb", "{:.0f}"),
        ("store size MB", "db_mb", "{:.1f}"),
        ("score wall s (score_stored_round)", "score_wall", "{:.2f}"),
        ("score CPU-s", "score_cpu", "{:.2f}"),
        ("peak RSS MB (score)", "score_rss_mb", "{:.0f}"),
    ]
    print(f"{'measure':34} {'shared':>10} {'instances':>10} {'ratio':>8}")
    for name, key, fmt in rows:
        a, b = got["shared"][key], got["instances"][key]
        ratio = b / a if a else float("nan")
        print(f"{name:34} {fmt.format(a):>10} {fmt.format(b):>10} {ratio:8.2f}")
    per_copy = got["instances"]["plan_cpu"] / got["instances"]["copies"] * 1000
    total = got["instances"]["plan_wall"] + got["instances"]["store_wall"]
    print(f"instances: {per_copy:.1f} CPU-ms per miner task; a whole round planned and stored in {total:.1f} s wall")


if __name__ == "__main__":
    main()
