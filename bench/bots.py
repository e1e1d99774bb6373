"""Bot arena: can a cheap automated strategy read the hidden order off a miner's copy? (DESIGN §8)

1. starts a real ``dojo synthetic-api`` (procedural generator, seeded, free 127.0.0.1 port) and
   pops tasks from ``GET /api/v1/tasks/next``;
2. turns each into what one miner gets, with the validator's own code: its own instance of the
   task (``SourceTask.instance``, a miner hotkey per task) built into a copy by ``plan_copies``
   with the real obfuscator; the bots get only the prompt and the copy's answers (completion ids
   + documents), the copy → original id map and the ground truth are kept aside for scoring;
3. runs the bots of ``bench/arena`` (random reference, surface features as sent and unwrapped,
   prompt matches, comparisons with the other answers, what the page's own scripts decode when
   run in V8 against a stub DOM, votes) and learned models fitted on half the tasks with their
   revealed order and scored on the other half (2-fold cross-fitting: every task is scored by a
   model that never saw it);
4. prints each bot's mean Spearman ρ with the hidden order (chance 0), its 95% interval, the
   share of tasks it orders perfectly and PASS/FAIL against |mean ρ| ≤ 0.10.

A FAIL is a measurement, not an error: the exit code is 0 unless something broke, or 1 on any
FAIL with ``--strict``.

    python bench/bots.py [--tasks 300] [--seed 11] [--folds 2] [--families a,b] [--all] [--strict]

Defaults take about a minute of CPU (300 tasks); ``--tasks 1000`` narrows the noise near the figure.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

from arena import (
    LEARNERS,
    MAX_MEAN_RHO,
    Features,
    MinerView,
    PerTask,
    Summary,
    cross_fit,
    default_bots,
    summarise,
    task_features,
)
from dojo.errors import InstanceError
from dojo.localnet.processes import Service, free_port
from dojo.validator.copies import default_obfuscator, plan_copies
from dojo.validator.slots import instance_seed
from dojo.validator.sources import source_task
from dojo.validator.store.records import MinerTarget, NewTask


@dataclass(frozen=True)
class Scored:
    """One task as the arena holds it: the miner's view, and aside, what only scoring may read."""

    family: str
    view: MinerView
    ranks: np.ndarray  # true rank (0 = best) of each answer, in the copy's order


def family_of(raw: dict[str, Any]) -> str:
    """The program family a popped task says it is of (for the per-family table and ``--families``)."""
    return str(raw.get("metadata", {}).get("family", "?"))


def pop_tasks(
    n: int, seed: int, timeout: float, workdir: Path, families: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """``n`` tasks (of ``families`` only, when given) popped from a real synthetic API process, stopped by PID after."""
    port = free_port()
    service = Service(
        "synthetic-api",
        [
            "synthetic-api",
            "--port",
            str(port),
            "--generator",
            "procedural",
            "--seed",
            str(seed),
            "--buffer-size",
            str(min(n, 64)),
            "--home",
            str(workdir / "home"),
        ],
        {"DOJO_HOME": str(workdir / "home")},
        workdir / "synthetic-api.log",
        health_url=f"http://127.0.0.1:{port}/health",
    )
    service.start()
    try:
        service.wait_healthy(60.0)
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10.0) as client:
            while len(out) < n:
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"only {len(out)} of {n} tasks within {timeout:.0f}s; synthetic-api log:\n{service.tail()}"
                    )
                if service.exit_code() is not None:
                    raise SystemExit(f"synthetic-api exited ({service.exit_code()}):\n{service.tail()}")
                resp = client.get("/api/v1/tasks/next")
                if resp.status_code == 204:  # buffer empty: generation is behind, ask again shortly
                    time.sleep(0.05)
                    continue
                resp.raise_for_status()
                task = resp.json()
                if not families or family_of(task) in families:
                    out.append(task)
        return out
    finally:
        service.stop()


def miner_copies(raws: list[dict[str, Any]], seed: int, expire_at: datetime, workers: int) -> list[Scored]:
    """What a miner gets of each popped task, made by the validator's own code, and the hidden order aside.

    As in a round (``dojo.validator.slots`` / ``planner``): the popped task only names a family
    and difficulty; each miner (here one per task) gets its own instance of it, which
    ``plan_copies`` shuffles, re-ids and obfuscates with the real obfuscator.
    """
    pairs: list[tuple[NewTask, MinerTarget]] = []
    families: list[str] = []
    for index, raw in enumerate(raws):
        miner = MinerTarget(uid=index, hotkey=f"arena-miner-{index:05d}", address="http://127.0.0.1:9")
        src = source_task(raw)
        try:
            task = src.instance(instance_seed(seed, 0, index, miner.hotkey))
        except InstanceError:  # the validator's fallback: the task as the source gave it
            task = src.task
        pairs.append((task, miner))
        families.append(family_of(raw))
    # on threads (``--threads``), not the process pool: the phases' CPU is this process's
    assignments = plan_copies(pairs, seed, expire_at, default_obfuscator(), workers=workers, processes=0)
    out = []
    for (task, _), a, family in zip(pairs, assignments, families, strict=True):
        truth = task.ground_truth or {}
        responses = a.payload["responses"]
        ranks = np.array([truth[a.completion_map[r["completion_id"]]] for r in responses])
        view = MinerView(a.payload["prompt"], tuple((r["completion_id"], r["content"]) for r in responses))
        out.append(Scored(family=family, view=view, ranks=ranks))
    return out


class Clock:
    """Wall and CPU seconds per phase (the machine is shared: CPU time says more than wall time)."""

    def __init__(self) -> None:
        self.phases: list[tuple[str, float, float]] = []
        self.start = (time.perf_counter(), time.process_time())

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        self.phases.append((name, time.perf_counter() - wall, time.process_time() - cpu))

    def report(self) -> str:
        parts = [f"{name} {wall:.1f}s ({cpu:.1f} CPU-s)" for name, wall, cpu in self.phases]
        total_wall, total_cpu = time.perf_counter() - self.start[0], time.process_time() - self.start[1]
        return "time: " + ", ".join(parts) + f"; total {total_wall:.1f}s wall, {total_cpu:.1f} CPU-s in this process"


@dataclass
class Results:
    """Every bot's summary over all tasks, and per family."""

    overall: list[tuple[str, Summary]] = field(default_factory=list)  # (reads, summary); the reference first
    per_family: dict[str, list[tuple[str, Summary]]] = field(default_factory=lambda: defaultdict(list))


def run_bots(tasks: list[Scored], feats: list[Features], seed: int, folds: int, clock: Clock, threads: int) -> Results:
    """Score every hand-written bot and every learned bot (cross-fitted) against the hidden orders."""
    from threadpoolctl import threadpool_limits

    ranks = [s.ranks for s in tasks]
    by_family: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(tasks):
        by_family[s.family].append(i)
    out = Results()

    def record(name: str, reads: str, scores: list[np.ndarray]) -> None:
        result = PerTask.of(scores, ranks)
        out.overall.append((reads, summarise(name, result, seed=seed)))
        for fam, idx in sorted(by_family.items()):
            out.per_family[fam].append((reads, summarise(name, result.subset(idx), resamples=0)))

    with clock.phase("hand-written bots"):
        for bot in default_bots(feats[0].names, seed=seed):
            record(bot.name, bot.reads, [bot.score(f) for f in feats])
    with clock.phase("learned bots"), threadpool_limits(limits=threads):
        for name, learner in LEARNERS.items():
            record(name, "learned", cross_fit(learner, feats, ranks, k=folds, seed=seed))
    return out


def _cells(s: Summary, reference: bool = False) -> list[str]:
    verdict = "reference" if reference else ("[green]PASS[/]" if s.passes else "[red]FAIL[/]")
    return [f"{s.mean_rho:+.3f}", f"[{s.low:+.2f}, {s.high:+.2f}]", f"{100 * s.perfect_share:.0f}%", verdict]


def print_report(console: Console, tasks: list[Scored], res: Results, show_all: bool, folds: int) -> int:
    """The tables; returns the number of bots that fail the figure."""
    reference = res.overall[0][1]
    others = res.overall[1:]
    fails = [x for x in others if not x[1].passes]
    shown = others if show_all else sorted(others, key=lambda x: -abs(x[1].mean_rho))[: max(12, len(fails))]
    counts = Counter(s.family for s in tasks)
    title = f"Bot arena: {len(tasks)} tasks, {len(counts)} families; a bot passes when |mean ρ| ≤ {MAX_MEAN_RHO:.2f}"
    if not show_all:
        title += f" (showing {len(shown)} of {len(others)} bots, strongest first; --all for every one)"
    table = Table(title=title)
    for col, just in (("bot", "left"), ("reads", "left"), ("mean ρ", "right"), ("95% CI", "right")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    table.add_column("perfect", justify="right")
    table.add_column("verdict")
    table.add_row(reference.name, "reference", *_cells(reference, reference=True), end_section=True)
    for reads, s in shown:
        table.add_row(s.name, reads, *_cells(s))
    console.print(table)

    fam_table = Table(title="Per family: the strongest hand-written and learned bot (few tasks each: noisy)")
    for col in ("family", "tasks", "strongest hand-written bot", "mean ρ", "strongest learned bot", "mean ρ "):
        fam_table.add_column(col)
    for fam, rows in sorted(res.per_family.items()):
        hand = max((r for r in rows[1:] if r[0] != "learned"), key=lambda x: abs(x[1].mean_rho))[1]
        learned = max((r for r in rows if r[0] == "learned"), key=lambda x: abs(x[1].mean_rho))[1]
        fam_table.add_row(
            fam, str(counts[fam]), hand.name, f"{hand.mean_rho:+.2f}", learned.name, f"{learned.mean_rho:+.2f}"
        )
    console.print(fam_table)

    worst = max(abs(s.mean_rho) for _, s in others)
    console.print(
        f"tasks {len(tasks)}, families {len(counts)} ({', '.join(f'{f} {n}' for f, n in sorted(counts.items()))}); "
        f"learned bots: {folds}-fold cross-fitting, each fitted on ~{len(tasks) - len(tasks) // folds} tasks' revealed "
        f"orders and scoring only tasks it never saw"
    )
    console.print(
        f"bots {len(others)}, failing {len(fails)}; random reference ρ {reference.mean_rho:+.3f}; "
        f"largest |mean ρ| {worst:.3f} = {worst / MAX_MEAN_RHO:.1f}× the figure"
    )
    se = (reference.high - reference.low) / 3.92  # the reference's 95% interval is about ±1.96 standard errors
    console.print(
        f"noise: a mean ρ here has a standard error of about {se:.3f}; by chance alone the largest |ρ| of "
        f"{len(others)} independent bots would be about {se * math.sqrt(2 * math.log(max(2, len(others)))):.2f} "
        f"(near the figure, measure with more --tasks)"
    )
    return len(fails)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=300, help="tasks to pop and score (default 300)")
    ap.add_argument("--seed", type=int, default=11, help="generator, copy and model seed (default 11)")
    ap.add_argument("--folds", type=int, default=2, help="cross-fitting folds of the learned bots (default 2: halves)")
    ap.add_argument("--pop-timeout", type=float, default=300.0, help="seconds allowed to pop the tasks (default 300)")
    ap.add_argument("--threads", type=int, default=1, help="threads for copies and models (default 1: shared machine)")
    ap.add_argument("--families", default="", help="comma-separated families to keep (default: every family)")
    ap.add_argument(
        "--all", action="store_true", help="print every bot (default: every FAIL, at least the 12 strongest)"
    )
    ap.add_argument("--strict", action="store_true", help="exit 1 when any bot fails the figure")
    args = ap.parse_args()
    if args.folds < 2 or args.tasks < 2 * args.folds:
        ap.error("need --folds >= 2 and at least two tasks per fold")

    console = Console(width=max(150, Console().width))  # the table is wide; logs are not terminals
    clock = Clock()
    with clock.phase("pop from synthetic-api"), tempfile.TemporaryDirectory(prefix="dojo-arena-") as tmp:
        keep = frozenset(f.strip() for f in args.families.split(",") if f.strip())
        raw = pop_tasks(args.tasks, args.seed, args.pop_timeout, Path(tmp), keep)
    with clock.phase("build miner copies"):
        expire_at = datetime.now(timezone.utc) + timedelta(hours=1)
        tasks = miner_copies(raw, args.seed, expire_at, workers=args.threads)
    with clock.phase("features"):
        feats = [task_features(s.view) for s in tasks]
    results = run_bots(tasks, feats, args.seed, args.folds, clock, args.threads)
    failing = print_report(console, tasks, results, args.all, args.folds)
    console.print(clock.report())
    return 1 if args.strict and failing else 0


if __name__ == "__main__":
    sys.exit(main())
