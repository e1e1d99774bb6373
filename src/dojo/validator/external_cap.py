"""How many external tasks each miner may get, and which miners get each one (DESIGN §7, §9).

External tasks have no hidden order: they are scored by consensus, which a group of miners
answering one fixed pattern could capture. So they are a bounded part of any miner's work:

* **The cap.** Over a rolling window of rounds (this one included), at most ``max_share`` of a
  miner's tasks are external. A miner's room in a new round is what keeps that true after the
  round: ``⌊share · (tasks in window + tasks this round)⌋ − external in window``. The window is
  the miner's last ``window`` rounds, so a miner with no history (a fresh hotkey) has no room
  until it has done synthetic work; an old miner cannot save room up for longer than the window.
* **Spread within a round.** A miner gets at most ``max(1, ⌊share · tasks_per_round⌋)``
  external tasks in one round, so whenever ``tasks_per_round ≥ 1 / share`` the cap also holds
  round by round; with fewer tasks per round it holds over the window.
* **Consensus needs company.** Each external task goes to ``replicas`` miners (default 3; all
  of them when there are fewer) or waits in the queue for a later round: it is never sent to
  fewer. The miners chosen are those with the lowest external share lately, ties broken at
  random, so external tasks rotate over the miners.

Pure functions over counts: the store gives the window's counts, the planner the randomness.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

_EPS = 1e-9  # 0.2 · 5 is 1.0000000000000002 or 0.9999999999999999 depending on the path: floor it safely


@dataclass(frozen=True)
class Load:
    """A miner's tasks in the window so far: all of them, and how many were external."""

    tasks: int = 0
    external: int = 0


def per_round_limit(tasks_per_round: int, max_share: float) -> int:
    """The most external tasks one miner gets in one round."""
    if max_share <= 0 or tasks_per_round <= 0:
        return 0
    return min(tasks_per_round, max(1, math.floor(max_share * tasks_per_round + _EPS)))


def room(load: Load, tasks_per_round: int, max_share: float) -> int:
    """How many external tasks this miner may get in the round being planned."""
    if max_share <= 0:
        return 0
    within_window = math.floor(max_share * (load.tasks + tasks_per_round) + _EPS) - load.external
    return max(0, min(within_window, per_round_limit(tasks_per_round, max_share)))


def capacity(rooms: dict[str, int], replicas: int) -> int:
    """An upper bound on the external tasks a round can place (how many to take from the queue)."""
    k = min(replicas, len(rooms))
    if k <= 0:
        return 0
    return sum(rooms.values()) // k


def place(
    n_tasks: int,
    rooms: dict[str, int],
    replicas: int,
    rng: random.Random,
    loads: dict[str, Load] | None = None,
    tasks_per_round: int = 1,
) -> list[list[str]]:
    """Miners (hotkeys) for each of up to ``n_tasks`` external tasks; fewer lists when room runs out.

    Every list has ``min(replicas, number of miners)`` distinct hotkeys, all with room left. Each
    task goes to the miners whose external share (over the window, this round's placements
    included) is lowest, ties in random order: external work rotates over the miners.
    """
    k = min(replicas, len(rooms))
    left = dict(rooms)
    got = dict.fromkeys(rooms, 0)
    loads = loads or {}

    def share(hk: str) -> float:
        load = loads.get(hk, Load())
        return (load.external + got[hk]) / max(load.tasks + tasks_per_round, 1)

    placed: list[list[str]] = []
    if k <= 0:
        return placed
    for _ in range(n_tasks):
        eligible = [hk for hk in sorted(left) if left[hk] > 0]
        if len(eligible) < k:
            break
        rng.shuffle(eligible)
        eligible.sort(key=share)  # stable: lowest share first, ties in random order
        chosen = eligible[:k]
        for hk in chosen:
            left[hk] -= 1
            got[hk] += 1
        placed.append(chosen)
    return placed
