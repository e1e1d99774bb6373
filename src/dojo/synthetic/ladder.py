"""The degradation ladder: how each answer of a task is made worse than the faithful one, in code.

Rank 0 is the faithful answer. Every further rung keeps the previous rung's damage and adds more,
so the order is strict by construction. Damage *replaces*, never removes: every answer is the
same program with another configuration (see :mod:`dojo.synthetic.surface`), so a worse answer is
neither shorter nor simpler than a better one.

* rung 1 — a requested feature swapped for an unrequested one of similar weight (a user action
  for a user action, a display feature for a display feature);
* rung 2 — as rung 1, plus a requested parameter (a colour, count, key, speed or size) set to a
  clearly wrong value;
* rung 3 — as rung 2, plus a requested user action broken (its control is there and looks
  normal, but using it does nothing);
* rung 4 — as rung 3, plus a second requested feature swapped (only when 5 answers are asked).

:func:`plan` picks, once per task, what each rung damages; generators build each answer's
configuration from its :class:`Degradation`. It picks the first swap before anything else,
uniformly among the requested features (and the feature swapped in uniformly among the
unrequested ones of the same weight), so that which features are on is spread alike over every
rung: without the prompt, a feature being on says nothing of the rung.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dojo.errors import LadderError


@dataclass(frozen=True)
class Step:
    """One rung: its rank and what it means for a person reading the ground truth."""

    rank: int
    meaning: str


LADDER: tuple[Step, ...] = (
    Step(0, "faithful: every requested feature, parameter and user action is as asked"),
    Step(1, "a requested feature swapped for an unrequested one of similar weight"),
    Step(2, "as rung 1, plus a requested parameter (colour, count, key, speed or size) set to a clearly wrong value"),
    Step(3, "as rung 2, plus a requested user action broken (its control is there but does nothing)"),
    Step(4, "as rung 3, plus a second requested feature swapped for an unrequested one"),
)
MAX_STEPS = len(LADDER)


@dataclass(frozen=True)
class Item:
    """A feature the ladder may touch: its key, whether it is a user action, what it needs to work."""

    key: str
    is_action: bool
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Drifted:
    """A parameter set to a wrong value: its name, the value the prompt asked for, the value given."""

    param: str
    requested: Any
    given: Any


@dataclass(frozen=True)
class Degradation:
    """The damage of one answer.

    ``swapped``: (requested feature turned off, unrequested feature turned on) pairs; ``drifted``:
    parameters with a wrong value; ``broken``: user actions whose handler does nothing.
    ``removed``/``added`` are the features off/on against the faithful answer (for the legacy
    ladder, the features whose code was left out or put in).
    """

    step: int
    swapped: tuple[tuple[str, str], ...] = ()
    drifted: tuple[Drifted, ...] = ()
    broken: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list, compare=False, hash=False)

    @property
    def is_faithful(self) -> bool:
        return not (self.swapped or self.drifted or self.broken or self.removed or self.added)

    def record(self) -> dict[str, Any]:
        """The JSON form kept in a task's ``metadata["ladder"]`` (completion id added by the caller)."""
        meaning = LADDER[self.step].meaning
        return {
            "step": self.step,
            "meaning": meaning,
            "swapped": [list(pair) for pair in self.swapped],
            "drifted": [{"param": d.param, "requested": d.requested, "given": d.given} for d in self.drifted],
            "broken": list(self.broken),
            "removed": list(self.removed),
            "added": list(self.added),
        }


def _swap(
    requested: Sequence[Item],
    unrequested: Sequence[Item],
    needed: set[str],
    asked: set[str],
    keep: set[str],
    pairs: list[tuple[str, str]],
    rng: random.Random,
) -> tuple[str, str] | None:
    """A (requested, unrequested) pair to swap, of the same weight whenever one exists, or None.

    Never swaps out a feature in ``keep``, one another requested feature requires, one already
    swapped, or one a feature already swapped in requires; swaps in only features whose
    requirements stay on.
    """
    out_keys = {a for a, _ in pairs}
    used = {b for _, b in pairs}
    outs = [
        i
        for i in requested
        if i.key not in keep
        and i.key not in needed
        and i.key not in out_keys
        and not any(i.key in u.requires for u in unrequested if u.key in used)
    ]
    rng.shuffle(outs)
    options = []  # (out, same-weight fits, any fits)
    for out in outs:
        still_on = asked - out_keys - {out.key}
        fits = [i for i in unrequested if i.key not in used and set(i.requires) <= still_on]
        if fits:
            options.append((out, [i for i in fits if i.is_action == out.is_action], fits))
    if not options:
        return None
    out, same, fits = next((o for o in options if o[1]), options[0])
    return out.key, rng.choice(same or fits).key


def plan(
    requested: Sequence[Item],
    unrequested: Sequence[Item],
    drifts: Sequence[tuple[str, str | None]],
    n: int,
    rng: random.Random,
    wrong: Callable[[str], tuple[Any, Any]],
) -> list[Degradation]:
    """The degradations of an ``n``-answer task.

    ``drifts``: ``(param, feature)`` pairs a rung may set wrong (``feature`` None when the
    parameter belongs to the prompt's opening sentence); ``wrong(param)`` gives the (requested,
    wrong) values of the one picked. Deterministic for a given ``rng`` state. Raises
    :class:`LadderError` when the features cannot carry ``n`` rungs.
    """
    if not 2 <= n <= MAX_STEPS:
        raise ValueError(f"n_responses must be between 2 and {MAX_STEPS}, got {n}")
    asked = {i.key for i in requested}
    needed = {r for i in requested for r in i.requires}
    if not any(i.is_action for i in requested):
        raise LadderError("the ladder needs a requested user action to break")
    # The first swap is picked first, uniformly among the requested features (of either weight), so
    # that which features are on says nothing of the rung: any feature is as likely to be swapped
    # out as to be swapped in. The action to break and the parameter to drift come from what stays.
    first = _swap(requested, unrequested, needed, asked, set(), [], rng)
    if first is None:
        raise LadderError("the ladder needs requested features it can swap for unrequested ones")
    pairs = [first]
    actions = [i.key for i in requested if i.is_action and i.key != first[0]]
    if not actions:
        raise LadderError("the ladder needs a requested user action to break")
    to_break = rng.choice(actions)
    drift_pool = [param for param, feat in drifts if feat is None or (feat in asked - {first[0]} and feat != to_break)]
    if not drift_pool:
        raise LadderError("the ladder needs a requested parameter it can set wrong")
    param = rng.choice(drift_pool)
    drift_feature = dict(drifts)[param]
    if n > 4:
        second = _swap(requested, unrequested, needed, asked, {to_break, drift_feature or ""}, pairs, rng)
        if second is None:
            raise LadderError("the ladder needs a second requested feature it can swap")
        pairs.append(second)
    requested_value, given = wrong(param)
    drift = Drifted(param, requested_value, given)

    def step(
        rank: int, swaps: list[tuple[str, str]], drifted: tuple[Drifted, ...], broken: tuple[str, ...]
    ) -> Degradation:
        return Degradation(
            rank,
            swapped=tuple(swaps),
            drifted=drifted,
            broken=broken,
            removed=tuple(a for a, _ in swaps),
            added=tuple(b for _, b in swaps),
        )

    steps = [
        Degradation(0),
        step(1, pairs[:1], (), ()),
        step(2, pairs[:1], (drift,), ()),
        step(3, pairs[:1], (drift,), (to_break,)),
        step(4, pairs[:2], (drift,), (to_break,)),
    ]
    return steps[:n]
