"""From running states to the weights set on the chain."""

from __future__ import annotations

from dojo import scoring
from dojo.chain.base import Metagraph
from dojo.validator.scorer import ScoringParams
from dojo.validator.store.records import MinerState


def compute_weights(
    running: dict[tuple[int, str], MinerState],
    metagraph: Metagraph,
    max_weight: float,
    params: ScoringParams = ScoringParams(),
) -> dict[int, float]:
    """``{uid: weight}`` over the uids whose CURRENT hotkey has a running state (a replaced hotkey's
    state is not carried to the uid's new owner).

    Each miner's raw weight is ``max(0, mean − k·SE)^p`` of its signed running score
    (:func:`dojo.scoring.weights_from_state` with ``params``' ``lcb_k``, ``lcb_power``,
    ``var_floor``); then sum 1, clipped to ``max_weight`` where feasible, uniform if all are 0.
    """
    current = {n.uid: n.hotkey for n in metagraph.neurons}
    uids = sorted(uid for uid, hotkey in running if current.get(uid) == hotkey)
    if not uids:
        return {}
    rows = [running[(uid, current[uid])] for uid in uids]
    state = scoring.RunningState.of([r.n for r in rows], [r.s1 for r in rows], [r.s2 for r in rows])
    w = scoring.weights_from_state(
        state, max_weight, k=params.lcb_k, power=params.lcb_power, var_floor=params.var_floor
    )
    return {uid: float(x) for uid, x in zip(uids, w, strict=True)}
