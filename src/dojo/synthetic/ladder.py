"""The degradation ladder: how each answer of a task is made worse than the faithful one, in code.

Rank 0 is the faithful answer. Every further step keeps the previous step's damage and adds more,
so the order is strict by construction:

* step 1 — one requested feature missing;
* step 2 — two requested features missing;
* step 3 — as step 2, plus a requested user action broken (its control is there but does nothing)
  or, when no action is left to break, another requested feature replaced by an unrequested one;
* step 4 — as step 3, plus a third requested feature missing (only when more than 4 answers are asked).

Generators (procedural and LLM) take a :class:`Degradation` per step from :func:`plan` and build
the document from it; neither edits a finished document by string surgery.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Step:
    """One rung: its rank and what it means for a person reading the ground truth."""

    rank: int
    meaning: str


LADDER: tuple[Step, ...] = (
    Step(0, "faithful: every requested feature and user action works"),
    Step(1, "one requested feature missing"),
    Step(2, "two requested features missing"),
    Step(
        3,
        "two requested features missing and a requested user action broken "
        "(or a requested feature replaced by an unrequested one)",
    ),
    Step(4, "as step 3 and a third requested feature missing"),
)
MAX_STEPS = len(LADDER)


@dataclass(frozen=True)
class Degradation:
    """What one answer lacks: features removed, user actions broken, unrequested features added."""

    step: int
    removed: tuple[str, ...] = ()
    broken: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list, compare=False, hash=False)

    @property
    def is_faithful(self) -> bool:
        return not (self.removed or self.broken or self.added)


def plan(
    requested: Sequence[str], actions: Sequence[str], extras: Sequence[str], n: int, rng: random.Random
) -> list[Degradation]:
    """The degradations of an ``n``-answer task over ``requested`` features (``actions`` ⊆ requested).

    Needs at least 3 requested features with at least one user action among them, and one
    unrequested extra for the fallback at step 3. Deterministic for a given ``rng`` state.
    """
    if not 2 <= n <= MAX_STEPS:
        raise ValueError(f"n_responses must be between 2 and {MAX_STEPS}, got {n}")
    action_set = set(actions)
    if len(requested) < 4 or not action_set & set(requested):
        raise ValueError("the ladder needs at least 4 requested features, one of them a user action")
    # Pick the action to break first, so the removals at steps 1–2 never take the last one.
    to_break = rng.choice(sorted(action_set & set(requested)))
    others = [k for k in requested if k != to_break]
    rng.shuffle(others)
    removed = others[:3]
    steps = [Degradation(0)]
    if n > 1:
        steps.append(Degradation(1, removed=(removed[0],)))
    if n > 2:
        steps.append(Degradation(2, removed=tuple(removed[:2])))
    if n > 3:
        if extras and rng.random() < 0.35:
            steps.append(Degradation(3, removed=(removed[0], removed[1], to_break), added=(rng.choice(list(extras)),)))
        else:
            steps.append(Degradation(3, removed=tuple(removed[:2]), broken=(to_break,)))
    if n > 4:
        prev = steps[3]
        steps.append(Degradation(4, removed=(*prev.removed, removed[2]), broken=prev.broken, added=prev.added))
    return steps
