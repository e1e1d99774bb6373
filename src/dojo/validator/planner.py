"""A new round's plan (DESIGN §3 steps 1–2): the round's tasks, and every miner's copy of each.

Every miner gets ``tasks_per_round`` tasks:

1. **External tasks first**, within the per-miner cap and each to at least three miners
   (:mod:`dojo.validator.external_cap`); they are the only tasks miners share.
2. **Its own synthetic instances** in its remaining slots (:mod:`dojo.validator.slots`): no two
   miners ever hold the same synthetic task (checked again here, by id and by prompt).
3. **A random order per miner**, so where an external task sits among a miner's copies says
   nothing, then each ``(task, miner)`` pair is built into its copy (:mod:`dojo.validator.copies`):
   shuffled, fresh ids, obfuscated — the same for both kinds of task.

Nothing here writes: the engine stores the plan in one transaction, so a crash before that
leaves nothing, and with a validator seed the same round is planned again on restart.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dojo.logs import log
from dojo.validator.copies import Obfuscator, keyed_rng, plan_copies
from dojo.validator.external_cap import Load, capacity, place, room
from dojo.validator.slots import fill_slots
from dojo.validator.sources import TaskSource
from dojo.validator.store.records import MinerTarget, NewAssignment, NewTask
from dojo.validator.store.repo import ValidatorStore

logger = logging.getLogger(__name__)


class ExternalTasks(Protocol):
    """The external-task queue as the planner sees it (:class:`dojo.validator.external.ExternalQueue`)."""

    def take(self, n: int) -> list[NewTask]:
        """Up to ``n`` queued external tasks, oldest first (they stay queued until a round holding them is stored)."""
        ...


@dataclass(frozen=True)
class PlanRules:
    """The round's shape: tasks per miner, the validator seed, and the external-task cap."""

    tasks_per_round: int
    seed: int | None
    external_max_share: float
    external_replicas: int
    external_window_rounds: int
    #: processes that build instances and copies (None: one per CPU, 0: none; :mod:`dojo.validator.procpool`)
    processes: int | None = None


@dataclass(frozen=True)
class RoundPlan:
    """The tasks a new round holds and every planned copy, ready for ``create_round``."""

    tasks: list[NewTask]
    assignments: list[NewAssignment]
    external: int  # external tasks placed
    instances: int  # per-miner synthetic instances
    fallbacks: int  # synthetic tasks sent as the source gave them (no template)


async def plan_new_round(
    store: ValidatorStore,
    source: TaskSource,
    external: ExternalTasks | None,
    miners: list[MinerTarget],
    round_id: int,
    rules: PlanRules,
    expire_at: datetime,
    obfuscate: Obfuscator | None,
) -> RoundPlan:
    """Choose and build everything round ``round_id`` sends (network and CPU work, no writes)."""
    ext_pairs = await _external_pairs(store, external, miners, round_id, rules)
    n_ext: dict[str, int] = {}
    for _, m in ext_pairs:
        n_ext[m.hotkey] = n_ext.get(m.hotkey, 0) + 1
    wants = [(m, rules.tasks_per_round - n_ext.get(m.hotkey, 0)) for m in miners]
    slots = await fill_slots(source, round_id, wants, rules.seed, rules.processes)
    own = await asyncio.to_thread(_distinct, store, slots.by_miner)
    by_miner: dict[str, list[NewTask]] = {m.hotkey: [] for m in miners}
    for task, m in ext_pairs:
        by_miner[m.hotkey].append(task)
    for hk, tasks in own.items():
        by_miner[hk].extend(tasks)
    pairs = _interleave(miners, by_miner, rules.seed, round_id)
    tasks = list({t.id: t for t, _ in pairs}.values())
    assignments = await asyncio.to_thread(
        plan_copies, pairs, rules.seed, expire_at, obfuscate, processes=rules.processes
    )
    return RoundPlan(
        tasks=tasks,
        assignments=assignments,
        external=len({t.id for t, _ in ext_pairs}),
        instances=slots.instances,
        fallbacks=slots.fallbacks,
    )


async def _external_pairs(
    store: ValidatorStore, external: ExternalTasks | None, miners: list[MinerTarget], round_id: int, rules: PlanRules
) -> list[tuple[NewTask, MinerTarget]]:
    """Queued external tasks this round can place within the cap, each with the miners it goes to."""
    if external is None or rules.external_max_share <= 0 or not miners:
        return []
    first = round_id - max(rules.external_window_rounds, 1) + 1
    counts = await asyncio.to_thread(store.external_load, first)
    loads = {m.hotkey: Load(*counts.get(m.hotkey, (0, 0))) for m in miners}
    rooms = {hk: room(load, rules.tasks_per_round, rules.external_max_share) for hk, load in loads.items()}
    most = capacity(rooms, rules.external_replicas)
    if most <= 0:
        return []
    queued: list[NewTask] = await asyncio.to_thread(external.take, most)
    rng = keyed_rng(rules.seed, "dojo-external", round_id)
    placed = place(len(queued), rooms, rules.external_replicas, rng, loads, rules.tasks_per_round)
    by_hotkey = {m.hotkey: m for m in miners}
    return [(task, by_hotkey[hk]) for task, hotkeys in zip(queued, placed, strict=False) for hk in hotkeys]


def _distinct(store: ValidatorStore, by_miner: dict[str, list[NewTask]]) -> dict[str, list[NewTask]]:
    """Each miner's synthetic tasks minus any another miner also holds (same id or prompt) or the store knows."""
    known = store.known_tasks([t.id for ts in by_miner.values() for t in ts])
    seen_ids, seen_prompts = set(known), set()
    out: dict[str, list[NewTask]] = {}
    dropped = 0
    for hk, tasks in by_miner.items():
        keep = []
        for t in tasks:
            digest = hashlib.sha256(t.prompt.encode()).digest()
            if t.id in seen_ids or digest in seen_prompts:
                dropped += 1
                continue
            seen_ids.add(t.id)
            seen_prompts.add(digest)
            keep.append(t)
        out[hk] = keep
    if dropped:
        log(logger, "round.repeated_tasks", level=logging.WARNING, dropped=dropped, known=len(known))
    return out


def _interleave(
    miners: list[MinerTarget], by_miner: dict[str, list[NewTask]], seed: int | None, round_id: int
) -> list[tuple[NewTask, MinerTarget]]:
    """Every miner's tasks in its own random order, miners interleaved (the order copies are stored and sent)."""
    queues = []
    for m in miners:
        tasks = list(by_miner[m.hotkey])
        keyed_rng(seed, "dojo-order", round_id, m.hotkey).shuffle(tasks)
        queues.append((m, tasks))
    longest = max((len(ts) for _, ts in queues), default=0)
    return [(ts[i], m) for i in range(longest) for m, ts in queues if i < len(ts)]
