"""A round's synthetic slots: every miner its own instance of each slot's task (DESIGN §7, no resale).

A round has ``tasks_per_round`` slots. For each slot the validator takes ONE task from its
source and makes, for every miner the slot is for, that miner's own instance of it
(:meth:`SourceTask.instance`: the same program family and difficulty, its own parameters, ids,
documents and ground truth). One crew's labels are then worth nothing on another hotkey's copy:
no two miners ever hold the same synthetic task.

The source task itself is sent to nobody: it only names the family and difficulty. Every miner's
task then comes out of the same function, so none is special (an LLM's original program, with
the values the model chose itself, could differ in kind from re-drawn ones), and a task that
was on its way through the synthetic API's buffer is never what a miner labels. It costs one
generation per slot, not per miner.

Seeds: with a validator seed (tests, local networks) each instance's seed is derived from
``(seed, round, slot, hotkey)``, so a round planned again after a crash is the same round;
without one they come from the OS CSPRNG.

When a slot's task cannot be instantiated (``InstanceError``: e.g. an LLM task whose generator
left no template), the slot falls back to distinct tasks popped from the source, one per
miner — the slot's own task goes to one of them — and says so in the log. A miner the source
cannot serve gets fewer tasks this round; it never shares one.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import secrets
from dataclasses import dataclass, field

from dojo.errors import InstanceError
from dojo.logs import log
from dojo.validator import procpool
from dojo.validator.sources import SourceTask, TaskSource
from dojo.validator.store.records import MinerTarget, NewTask

logger = logging.getLogger(__name__)


def instance_seed(seed: int | None, round_id: int, slot: int, hotkey: str) -> int:
    """The generator seed of ``hotkey``'s instance in ``slot`` of round ``round_id``."""
    if seed is None:
        return secrets.randbits(62)
    digest = hashlib.sha256(f"dojo-instance|{seed}|{round_id}|{slot}|{hotkey}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 2


@dataclass
class SlotTasks:
    """What the slots gave: each miner's synthetic tasks, and how they were made."""

    by_miner: dict[str, list[NewTask]] = field(default_factory=dict)  # hotkey -> its tasks
    instances: int = 0
    fallbacks: int = 0  # tasks sent as the source gave them (their slot could not be instantiated)
    short: int = 0  # miners' slots left empty: the source had no task for them


def _instance_of(item: tuple[int, int], slot_tasks: list[SourceTask]) -> NewTask | str:
    """Slot ``j``'s instance for one seed, or why it cannot be made (runs in a pool's process too)."""
    j, seed = item
    try:
        return slot_tasks[j].instance(seed)
    except InstanceError as exc:
        return str(exc)


def _instantiate(
    slot_tasks: list[SourceTask],
    wants: list[tuple[MinerTarget, int]],
    seed: int | None,
    round_id: int,
    out: SlotTasks,
    processes: int | None = None,
) -> dict[int, list[MinerTarget]]:
    """Fill ``out`` with instances (CPU work: run in a thread); returns ``{slot: miners left without one}``.

    A slot is tried for its first miner here; when that works, its other miners' instances are made
    at once, on the process pool when there are many (:mod:`dojo.validator.procpool`). Each has its
    own seed, so the outcome is the one a loop over slots and miners gives.
    """
    seeds = {
        (j, m.hotkey): instance_seed(seed, round_id, j, m.hotkey)
        for j in range(len(slot_tasks))
        for m, n in wants
        if n > j
    }
    made: dict[tuple[int, str], NewTask | str] = {}
    rest: list[tuple[int, str]] = []
    for j in range(len(slot_tasks)):
        hotkeys = [m.hotkey for m, n in wants if n > j]
        if not hotkeys:
            continue
        made[(j, hotkeys[0])] = first = _instance_of((j, seeds[(j, hotkeys[0])]), slot_tasks)
        if not isinstance(first, str):  # a slot without a template fails at once: no use trying every miner
            rest += [(j, hk) for hk in hotkeys[1:]]
    make = functools.partial(_instance_of, slot_tasks=slot_tasks)
    items = [(j, seeds[(j, hk)]) for j, hk in rest]
    n_proc = procpool.use_processes(processes, len(items), make)
    built = procpool.map_ordered(make, items, n_proc) if n_proc else None
    made.update(zip(rest, built if built is not None else map(make, items), strict=True))

    missing: dict[int, list[MinerTarget]] = {}
    for j, st in enumerate(slot_tasks):
        for miner, n in wants:
            if n <= j:
                continue
            if j in missing:  # this slot's task has no template: its other miners fall back
                missing[j].append(miner)
                continue
            task = made[(j, miner.hotkey)]
            if isinstance(task, str):
                missing[j] = [miner]
                log(logger, "round.instance_fallback", level=logging.WARNING, slot=j, task_id=st.task.id, reason=task)
                continue
            out.by_miner[miner.hotkey].append(task)
            out.instances += 1
    return missing


async def fill_slots(
    source: TaskSource,
    round_id: int,
    wants: list[tuple[MinerTarget, int]],
    seed: int | None,
    processes: int | None = None,
) -> SlotTasks:
    """Each miner's synthetic tasks for round ``round_id``: ``wants`` says how many each miner gets
    (``processes``: the pool size for making instances, default one per CPU, 0 for none)."""
    out = SlotTasks(by_miner={m.hotkey: [] for m, _ in wants})
    n_slots = max((n for _, n in wants), default=0)
    if n_slots <= 0:
        return out
    slot_tasks = await source.take(round_id, n_slots)
    if len(slot_tasks) < n_slots:
        log(logger, "source.short", level=logging.WARNING, round=round_id, wanted=n_slots, got=len(slot_tasks))
    missing = await asyncio.to_thread(_instantiate, slot_tasks, wants, seed, round_id, out, processes)
    out.short = sum(max(0, n - len(slot_tasks)) for _, n in wants)
    if missing:
        await _fall_back(source, round_id, slot_tasks, missing, out)
    return out


async def _fall_back(
    source: TaskSource,
    round_id: int,
    slot_tasks: list[SourceTask],
    missing: dict[int, list[MinerTarget]],
    out: SlotTasks,
) -> None:
    """Distinct tasks, as the source gave them, for the miners whose slot could not be instantiated."""
    need = sum(len(ms) for ms in missing.values())
    own = [slot_tasks[j].task for j in sorted(missing)]  # a slot's own task is still fresh: one miner gets it
    popped = await source.take(round_id, need - len(own)) if need > len(own) else []
    seen = {t.id for tasks in out.by_miner.values() for t in tasks}
    pool: list[NewTask] = []
    for t in own + [p.task for p in popped]:
        if t.id not in seen:  # the source served it twice: it still goes to one miner only
            seen.add(t.id)
            pool.append(t)
    given = 0
    for j in sorted(missing):
        for miner in missing[j]:
            if given < len(pool):
                out.by_miner[miner.hotkey].append(pool[given])
                given += 1
            else:
                out.short += 1
    out.fallbacks += given
    log(
        logger,
        "round.fallback_tasks",
        level=logging.WARNING,
        round=round_id,
        slots=len(missing),
        needed=need,
        sent=given,
        short=need - given,
    )
