"""From running scores to the weights set on the chain."""

from __future__ import annotations

import numpy as np

from dojo import scoring
from dojo.chain.base import Metagraph


def compute_weights(running: dict[tuple[int, str], float], metagraph: Metagraph, max_weight: float) -> dict[int, float]:
    """``{uid: weight}`` over the uids whose CURRENT hotkey has a running score (a replaced hotkey's
    score is not carried to the uid's new owner). Sum 1, clipped to ``max_weight`` where feasible."""
    current = {n.uid: n.hotkey for n in metagraph.neurons}
    uids = sorted(uid for uid, hotkey in running if current.get(uid) == hotkey)
    if not uids:
        return {}
    scores = np.array([running[(uid, current[uid])] for uid in uids], dtype=float)
    w = scoring.to_weights(scores, max_weight)
    return {uid: float(x) for uid, x in zip(uids, w, strict=True)}
