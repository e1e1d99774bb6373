"""Scoring: pure functions over NumPy arrays, vectorised over a whole round (DESIGN §7).

``score_round`` → ``duplicate_guard`` → ``update_running`` (after ``reset_changed``) → ``to_weights``.
"""

from dojo.scoring.guard import duplicate_groups, duplicate_guard, result_fingerprint
from dojo.scoring.round import (
    GT_WEIGHT,
    MIN_CONSENSUS,
    RoundScores,
    completion_mask,
    labeller_grades,
    miner_vectors,
    ranks_to_scores,
    score_round,
    score_round_detail,
)
from dojo.scoring.running import ALPHA, DECAY, reset_changed, round_means, to_weights, update_running
from dojo.scoring.spearman import agreement, mean_pairwise_agreement, spearman_last

__all__ = [
    "ALPHA",
    "DECAY",
    "GT_WEIGHT",
    "MIN_CONSENSUS",
    "RoundScores",
    "agreement",
    "completion_mask",
    "duplicate_groups",
    "duplicate_guard",
    "labeller_grades",
    "mean_pairwise_agreement",
    "miner_vectors",
    "ranks_to_scores",
    "reset_changed",
    "result_fingerprint",
    "round_means",
    "score_round",
    "score_round_detail",
    "spearman_last",
    "to_weights",
    "update_running",
]
