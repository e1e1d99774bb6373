"""Simulated crews on shared external tasks, to measure the duplicate guard's error rates.

Labellers as in the local network (``dojo.localnet``): a perfect labeller gives the best of four
completions 10, then 7, 4, 1; a careful one adds N(0, 0.4), a noisy one N(0, 4), both rounded
and clipped to 1–10; a random one draws uniformly. Honest crews label independently; a copy
takes another miner's answers and perturbs them the way a reseller would.

    python tests/scoring/guard_sim.py        # prints the rates at the defaults
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from dojo.scoring import near_duplicate_links

TRUE = np.array([10.0, 7.0, 4.0, 1.0])  # by true rank, best first
NOISE = {"careful": 0.4, "noisy": 4.0}
CREWS: dict[str, tuple[str, ...]] = {
    "careful": ("careful",) * 3,
    "noisy": ("noisy",) * 3,
    "careful+careful+random": ("careful", "careful", "random"),
    "careful+random+random": ("careful", "random", "random"),
    "noisy+careful+random": ("noisy", "careful", "random"),
}
#: The honest field every trial: independent crews, several of each kind, labelling the same tasks.
FIELD = ["careful"] * 4 + ["noisy"] * 2 + ["careful+careful+random", "careful+random+random", "noisy+careful+random"]
PERTURBATIONS = ("cell", "two_cells", "shuffle", "rescale", "drop", "all")


def crew_answers(rng: np.random.Generator, crew: tuple[str, ...], ranks: np.ndarray) -> np.ndarray:
    """``[E, L, C]`` one crew's integer scores on tasks whose true ranks are ``ranks [E, C]``."""
    e, c = ranks.shape
    out = np.empty((e, len(crew), c))
    for li, skill in enumerate(crew):
        if skill == "random":
            out[:, li] = rng.uniform(1, 10, size=(e, c))
        else:
            out[:, li] = TRUE[ranks] + rng.normal(0.0, NOISE[skill], size=(e, c))
    return np.clip(np.round(out), 1, 10)


def perturb(rng: np.random.Generator, answers: np.ndarray, kind: str) -> np.ndarray:
    """A reseller's copy of ``answers [E, L, C]``.

    ``cell`` / ``two_cells``: that many cells per task moved by ±1 (kept in 1–10); ``shuffle``:
    labeller order changed per task; ``rescale``: 1–10 mapped to 10–100; ``drop``: one labeller
    left out per task; ``all``: shuffle, drop, rescale and one cell ±1 per task together.
    """
    out = answers.copy()
    e, lab, c = out.shape
    tasks = np.arange(e)
    cells = {"cell": 1, "two_cells": 2, "all": 1}.get(kind, 0)
    for _ in range(cells):
        li, ci = rng.integers(0, lab, e), rng.integers(0, c, e)
        out[tasks, li, ci] = np.clip(out[tasks, li, ci] + rng.choice([-1.0, 1.0], e), 1, 10)
    if kind in ("shuffle", "all"):
        out = np.take_along_axis(out, np.argsort(rng.random((e, lab)), axis=1)[..., None], axis=1)
    if kind in ("drop", "all"):
        out[tasks, rng.integers(0, lab, e)] = np.nan
    if kind in ("rescale", "all"):
        out = out * 10.0
    return out


def _round(rng: np.random.Generator, tasks: int, copies: list[tuple[str, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Values ``[M, E, 3, 4]`` of the honest field plus ``copies`` (kind, source index), and the truth."""
    ranks = np.array([rng.permutation(4) for _ in range(tasks)])
    honest = [crew_answers(rng, CREWS[name], ranks) for name in FIELD]
    copied = [perturb(rng, honest[src], kind) for kind, src in copies]
    return np.stack(honest + copied), np.full((tasks, 4), np.nan)


def honest_false_positive_rate(trials: int = 200, tasks: int = 3, seed: int = 0, **guard: Any) -> float:
    """The share of honest, independent pairs of miners the guard links, over ``trials`` rounds of
    ``tasks`` shared external tasks (``guard``: keyword arguments of ``near_duplicate_links``)."""
    rng = np.random.default_rng(seed)
    linked = total = 0
    pairs = list(combinations(range(len(FIELD)), 2))
    for _ in range(trials):
        values, gt = _round(rng, tasks, [])
        links = near_duplicate_links(values, gt, np.ones(values.shape[:2], dtype=bool), **guard)
        linked += sum(bool(links[i, j]) for i, j in pairs)
        total += len(pairs)
    return linked / total


def copy_catch_rate(
    kind: str,
    sources: tuple[str, ...] = ("noisy", "careful+careful+random", "careful+random+random", "noisy+careful+random"),
    trials: int = 200,
    tasks: int = 3,
    seed: int = 0,
    **guard: Any,
) -> float:
    """The share of perturbed copies (``kind``, see :func:`perturb`) of a crew in ``sources`` that the
    guard links to their source, over ``trials`` rounds of ``tasks`` shared external tasks."""
    rng = np.random.default_rng(seed)
    candidates = [i for i, name in enumerate(FIELD) if name in sources]
    caught = 0
    for _ in range(trials):
        src = int(rng.choice(candidates))
        values, gt = _round(rng, tasks, [(kind, src)])
        links = near_duplicate_links(values, gt, np.ones(values.shape[:2], dtype=bool), **guard)
        caught += bool(links[src, len(FIELD)])
    return caught / trials


if __name__ == "__main__":
    for e in (1, 2, 3, 5):
        fp = honest_false_positive_rate(tasks=e)
        caught = {k: copy_catch_rate(k, tasks=e) for k in PERTURBATIONS}
        careful = {k: copy_catch_rate(k, sources=("careful",), tasks=e) for k in PERTURBATIONS}
        print(f"{e} shared tasks: honest pairs linked {fp:.2%}")
        print("  copies of crews with any noise caught: " + ", ".join(f"{k} {v:.0%}" for k, v in caught.items()))
        print("  copies of 3×careful caught:            " + ", ".join(f"{k} {v:.0%}" for k, v in careful.items()))
