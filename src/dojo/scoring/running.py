"""Running scores across rounds and the weights set on the chain (DESIGN §7).

A miner's running state is three exponentially decayed sums over its counted tasks: ``n``
(how many), ``s1`` (Σρ) and ``s2`` (Σρ²). Every round each sum is multiplied by
``λ = 1 − alpha`` — whether or not the miner was scored — and the round's task values are
added. The running score is the signed mean ``s1 / n``; nothing is clipped before the
weights, so lucky tasks of a random labeller cancel its unlucky ones.

Weights come from a lower confidence bound on that mean, ``max(0, mean − k·SE)^p`` with
``SE = sqrt(max(var, var_floor) / n)``: zero at or below chance, higher for a miner that is
reliably good than for one that is good on average, lower for a miner with few tasks.
``var_floor`` keeps a miner with one or two lucky tasks (whose sample variance is 0) from
looking certain. All zero → uniform weights (the chain's convention for "no information").

Why these constants
-------------------
Chosen so that every strategy that costs nothing earns (almost) nothing while a noisy crew
still earns, with margin on both sides (DESIGN §7's figures). The tournament
(``bench/incentives.py``, 20 seeds, the validator's own planning and scoring) decides.

The grid (``bench/incentives.py --grid``: alpha 0.1–0.3 × k 0.5–2 × p 1–3 × var_floor
0.05–0.2, 144 settings, the same labels re-scored) passed every figure in 87 settings; every
setting among the best by margin on the figures the constants decide had ``p = 3``. Of those we
take ``k = 2`` (the largest k: the most protection against a lucky random crew; margin +0.39,
within 0.02 of the best), ``alpha = 0.1`` and ``var_floor = 0.1``. The tournament at these
constants (20 seeds, weight relative to a careful crew; mean, min, max):

    ==============================  =====  =====  =====  ============================
    strategy                        mean   min    max    figure
    ==============================  =====  =====  =====  ============================
    noisy                           0.556  0.087  2.015  ≥ 0.4 (mean); careful 1.80×
    random / lazy / adversarial     0.000  0.000  0.000  ≤ 0.05 in 20/20 seeds
    lengthbot                       0.000  0.000  0.000  ≤ 0.05 in 20/20 seeds
    colluder (best of 4 of 7)       0.001  0.000  0.024  ≤ 0.05 in 20/20 seeds
    careful+random+random           0.247  0.000  0.593
    careful+careful+random          0.908  0.446  2.433
    copier: 3 hotkeys / own crew    1.000  1.000  1.002  ≤ 1.1
    honest loss, colluders join     0.000  0.000  0.010  ≤ 0.10
    ==============================  =====  =====  =====  ============================

With ``p = 2`` every figure passed too, but the best colluder reached 0.084 of careful in one
seed (19/20) and noisy kept 0.65.

Before the tournament existed, a stand-alone simulation of the same field — crews of three
labellers on four completions scored 10/7/4/1, careful = truth + N(0, 0.4), noisy = truth +
N(0, 4), rounded to 1–10; four rounds of three own synthetic tasks per miner plus shared
external tasks; 100 seeds — gave, relative to a careful crew's weight:

    ==========================  ===========  =========  =========  ==========  ===================
    k / p / var_floor / alpha   noisy (min)  c+c+rand   c+rand+r   random      random > 5% (seeds)
    ==========================  ===========  =========  =========  ==========  ===================
    1.5 / 1.5 / 0.1 / 0.1       0.75 (0.59)  0.94       0.53       0.001       1%
    2.0 / 1.5 / 0.1 / 0.1       0.74 (0.56)  0.94       0.51       0.0002      0%
    **2.0 / 2.0 / 0.1 / 0.1**   0.67 (0.48)  0.92       0.44       0.0001      0%
    2.5 / 2.0 / 0.1 / 0.1       0.66 (0.45)  0.91       0.38       0.0000      0%
    1.0 / 1.0 / 0.1 / 0.1       0.84 (0.71)  0.96       0.67       0.010       7%
    ==========================  ===========  =========  =========  ==========  ===================

Lazy (constant) and adversarial (reversed) are exactly 0 at every setting: their running means
are 0 and −1. With four colluders among seven miners (a shared fixed order, 25% of tasks
external, each external task to three miners) at 2 / 2 / 0.1 / 0.1, no colluder reached 5% of
a careful crew in 60 seeds and the honest miners lost 0.0% of their weight on average (at most
~1%); with ``max(0, mean)`` as the consensus vote instead of the lower bound, up to 1.7% of
seeds had a colluder above 5%.

* ``LCB_K = 2``: a random labeller's mean over ``n`` tasks is ≈ N(0, 0.58/√n) (Spearman ρ over
  four completions has variance 1/3), so its bound is positive with probability ≈ P(Z > k) —
  2.3% at k = 2, 6.7% at 1.5 — and then only barely.
* ``LCB_POWER = 3``: mean ρ is 0.997 for a careful crew and 0.84 for a noisy one in this
  model; the bound alone makes that 1.2×, under the 1.25× a careful crew must earn. The cube
  gives ≈ 1.8× in the tournament while a noisy crew keeps ≈ 0.56 of careful (≥ 0.4 needed),
  and it pushes the rare lucky bound of a random crew or a colluder further down.
* ``VAR_FLOOR = 0.1``: the per-task variance of a good human crew's ρ on four completions is
  rarely below this (one swapped neighbouring pair moves ρ from 1 to 0.8); without it a crew
  with two perfect tasks would be certain. A floor leaves the mean unbiased, where a prior
  pseudo-count (shrinking toward 0 by phantom tasks) would also scale down every mean.
* ``ALPHA = 0.1``: the running state remembers ``tasks_per_round / alpha`` tasks (10 per task a
  round): enough for the bound to separate skill from luck, short enough that a careful miner
  who turns to bots drops to weight 0 within about a dozen rounds (a few hours of 15-minute
  rounds). Over the
  tournament's four rounds alpha 0.1–0.3 changed no figure by more than 0.01.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from dojo.scoring.spearman import FloatArray

#: Weight of the newest round: each round every decayed sum is multiplied by ``1 - ALPHA``.
ALPHA = 0.1
#: How many standard errors the weight's lower confidence bound stands below the mean.
LCB_K = 2.0
#: The power the lower confidence bound is raised to before normalising.
LCB_POWER = 3.0
#: The smallest per-task variance assumed when working out the standard error.
VAR_FLOOR = 0.1


@dataclass(frozen=True)
class RunningState:
    """Each miner's decayed sums ``[M]``: task count ``n``, ``s1 = Σρ`` and ``s2 = Σρ²``."""

    n: FloatArray
    s1: FloatArray
    s2: FloatArray

    def __post_init__(self) -> None:
        shapes = {np.shape(self.n), np.shape(self.s1), np.shape(self.s2)}
        if len(shapes) != 1 or len(next(iter(shapes))) != 1:
            raise ValueError(f"n, s1 and s2 must be 1-D arrays of the same length, got shapes {sorted(shapes)}")

    @classmethod
    def zeros(cls, miners: int) -> RunningState:
        """The state of ``miners`` miners that have never been scored."""
        return cls(np.zeros(miners), np.zeros(miners), np.zeros(miners))

    @classmethod
    def of(cls, n: ArrayLike, s1: ArrayLike, s2: ArrayLike) -> RunningState:
        """A state from three array-likes (NaN read as 0)."""
        return cls(*(np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0) for x in (n, s1, s2)))

    def __len__(self) -> int:
        return int(self.n.shape[0])

    @property
    def mean(self) -> FloatArray:
        """The signed running score ``s1 / n`` ``[M]``; 0 for a miner never scored."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.n > 0, self.s1 / np.where(self.n > 0, self.n, 1.0), 0.0)

    def variance(self) -> FloatArray:
        """The decayed variance of the task values ``s2/n − mean²`` ``[M]`` (≥ 0; 0 when never scored)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            second = np.where(self.n > 0, self.s2 / np.where(self.n > 0, self.n, 1.0), 0.0)
        return np.maximum(second - self.mean**2, 0.0)


def round_means(task_scores: ArrayLike) -> FloatArray:
    """Each miner's mean task score ``[M]`` over the tasks that count (non-NaN); NaN if none."""
    s = np.asarray(task_scores, dtype=np.float64)
    counted = ~np.isnan(s)
    n = counted.sum(axis=-1)
    total = np.where(counted, s, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def update_running(state: RunningState, task_scores: ArrayLike, alpha: float = ALPHA) -> RunningState:
    """Fold one round into the running state.

    ``task_scores [M, T]`` holds this round's signed task values (NaN = not counted: not
    assigned, or a task that says nothing about the miner). Every sum is multiplied by
    ``1 - alpha`` and the round's counted values are added, so a miner with no counted task
    keeps its mean while its confidence (``n``) falls.
    """
    s = np.asarray(task_scores, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] != len(state):
        raise ValueError(f"task_scores must be [miners, tasks] with {len(state)} miners, got {s.shape}")
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    lam = 1.0 - alpha
    counted = ~np.isnan(s)
    x = np.where(counted, s, 0.0)
    return RunningState(
        n=lam * state.n + counted.sum(axis=-1),
        s1=lam * state.s1 + x.sum(axis=-1),
        s2=lam * state.s2 + (x * x).sum(axis=-1),
    )


def reset_changed(
    prev: RunningState, prev_hotkeys: Sequence[str | None], hotkeys: Sequence[str | None]
) -> RunningState:
    """The state ``[len(hotkeys)]`` with every uid whose hotkey changed (or is new) at zero.

    ``prev`` row ``i`` belonged to ``prev_hotkeys[i]``; ``hotkeys`` is the metagraph now. The
    metagraph may have grown or shrunk: new uids start from zero, vanished ones are dropped.
    """
    if len(prev) != len(prev_hotkeys):
        raise ValueError(f"prev has {len(prev)} entries but prev_hotkeys {len(prev_hotkeys)}")
    keep = np.zeros(len(hotkeys), dtype=bool)
    take = min(len(hotkeys), len(prev_hotkeys))
    if take:
        old = np.asarray(list(prev_hotkeys[:take]), dtype=object)
        new = np.asarray(list(hotkeys[:take]), dtype=object)
        keep[:take] = (old == new) & (new != None)  # noqa: E711 — element-wise comparison on an object array

    def carry(a: FloatArray) -> FloatArray:
        out = np.zeros(len(hotkeys))
        out[:take] = a[:take]
        return np.where(keep, np.nan_to_num(out, nan=0.0), 0.0)

    return RunningState(carry(prev.n), carry(prev.s1), carry(prev.s2))


def lower_bound(state: RunningState, k: float = LCB_K, var_floor: float = VAR_FLOOR) -> FloatArray:
    """``max(0, mean − k·SE)`` ``[M]`` with ``SE = sqrt(max(var, var_floor) / n)``; 0 when never scored."""
    n = state.n
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(np.maximum(state.variance(), var_floor) / np.where(n > 0, n, 1.0))
    return np.where(n > 0, np.maximum(state.mean - k * se, 0.0), 0.0)


def reliability(state: RunningState, k: float = LCB_K, var_floor: float = VAR_FLOOR) -> FloatArray:
    """Each miner's vote weight in external-task consensus ``[M]``: its *proven* skill.

    The same lower bound as the weights (before the power): ``max(0, mean − k·SE)``. Plain
    ``max(0, mean)`` would give a random labeller with a lucky first few tasks a vote as large
    as its luck; the bound gives it none until its record says otherwise, and gives a careful
    newcomer a vote after a handful of tasks.
    """
    return lower_bound(state, k, var_floor)


def to_weights(scores: ArrayLike, max_weight: float) -> FloatArray:
    """Weights ``[M]`` from non-negative raw weights: sum 1, none above ``max_weight`` where feasible.

    Negative and NaN entries count as 0. All zero gives uniform weights — the chain's
    convention for "no information", so that a subnet where nobody has shown skill yet still
    has a valid weight vector (the validator sets weights only when it has scored miners).
    Entries over the cap are set to it and the excess is shared among the others in
    proportion to their raw weight (evenly among zero entries once every positive entry is
    capped), repeated until nothing exceeds the cap. If ``M · max_weight < 1`` no weighting
    can respect the cap: the weights are uniform.
    """
    w = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=0.0)
    w = np.where(w > 0, w, 0.0)
    m = w.shape[0]
    if m == 0:
        return w
    if w.sum() <= 0 or m * max_weight <= 1.0:
        return np.full(m, 1.0 / m)
    w = w / w.sum()
    capped = np.zeros(m, dtype=bool)
    for _ in range(m):  # each pass caps at least one more entry, so this ends within m passes
        over = ~capped & (w > max_weight * (1 + 1e-12))
        if not over.any():
            break
        capped |= over
        free = 1.0 - max_weight * capped.sum()
        rest = np.where(capped, 0.0, w)
        if rest.sum() > 0:
            rest = rest / rest.sum() * free
        else:
            rest = np.where(capped, 0.0, free / (~capped).sum())
        w = np.where(capped, max_weight, rest)
    return w / w.sum()


def weights_from_state(
    state: RunningState,
    max_weight: float,
    *,
    k: float = LCB_K,
    power: float = LCB_POWER,
    var_floor: float = VAR_FLOOR,
) -> FloatArray:
    """Weights ``[M]`` from running states: ``lower_bound(state, k, var_floor) ** power``, then
    :func:`to_weights` (normalised, clipped to ``max_weight``; all zero → uniform)."""
    return to_weights(lower_bound(state, k, var_floor) ** power, max_weight)
