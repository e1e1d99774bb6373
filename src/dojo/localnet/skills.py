"""How simulated labellers of different skill turn the true order into scores.

A simulated labeller has no eyes: the local network lends it an oracle that knows each
completion's true rank (0 = best). Its skill decides how much of that truth reaches the score.
"""

from __future__ import annotations

import random
from enum import Enum


class Skill(str, Enum):
    """The kinds of simulated people a miner's crew is made of."""

    careful = "careful"  # the true order, a little noise
    noisy = "noisy"  # the true order, a lot of noise
    random = "random"  # uniform scores, no signal
    adversarial = "adversarial"  # the reverse of the true order
    lazy = "lazy"  # the same score for everything


NOISE = {Skill.careful: 0.4, Skill.noisy: 4.0}


def true_score(rank: int, n: int, lo: int = 1, hi: int = 10) -> float:
    """The score a perfect labeller gives rank ``rank`` of ``n``: best → ``hi``, worst → ``lo``, evenly spread.

    The inverse of the criteria's normalisation: ``ScoreCriterion(min=lo, max=hi).unit`` of it is
    ``RankingCriterion().unit(rank, n)``. The strategies' answers use it too.
    """
    if n <= 1:
        return float(hi)
    return hi - rank * (hi - lo) / (n - 1)


def score_completions(
    skill: Skill, ranks: dict[str, int], rng: random.Random, lo: int = 1, hi: int = 10
) -> dict[str, int]:
    """One labeller's integer scores in ``[lo, hi]`` for completions whose true ranks are ``ranks``."""
    n = len(ranks)
    out: dict[str, int] = {}
    for cid, rank in ranks.items():
        if skill is Skill.random:
            value = rng.uniform(lo, hi)
        elif skill is Skill.lazy:
            value = (lo + hi) / 2
        elif skill is Skill.adversarial:
            value = true_score(n - 1 - rank, n, lo, hi)
        else:
            value = true_score(rank, n, lo, hi) + rng.gauss(0.0, NOISE[skill])
        out[cid] = int(min(hi, max(lo, round(value))))
    return out


def score_ranking(skill: Skill, ranks: dict[str, int], rng: random.Random) -> dict[str, int]:
    """One labeller's ranking (0 = best) under the ranking criterion, derived from its scores."""
    scores = score_completions(skill, ranks, rng, 1, 100)
    # ties are broken at random, so a lazy labeller gives a random order
    order = sorted(scores, key=lambda c: (-scores[c], rng.random()))
    return {cid: i for i, cid in enumerate(order)}


def parse_crew(text: str) -> list[Skill]:
    """``"careful,noisy,random"`` → skills; a clear ValueError on an unknown name."""
    skills = []
    for part in text.split(","):
        name = part.strip().lower()
        try:
            skills.append(Skill(name))
        except ValueError:
            known = ", ".join(s.value for s in Skill)
            raise ValueError(f"unknown labeller skill {name!r}; expected one of: {known}") from None
    if not skills:
        raise ValueError("a crew needs at least one labeller")
    return skills
