"""Scoring: pure functions over NumPy arrays, vectorised over a whole round (DESIGN §7).

Per round: every answer on its criterion's "higher is better" axis (``higher_is_better``, the one
normalisation; ``ranks_to_scores`` for rankings, which ``criterion.better`` agrees with) →
``reliability`` of each miner's running state (its consensus vote) → ``near_duplicate_links`` /
``duplicate_groups`` on shared external tasks → ``score_round`` (signed Spearman ρ: hidden order on
synthetic tasks, reliability-weighted consensus on external ones) → ``duplicate_guard`` →
``update_running`` (after ``reset_changed``) → ``weights_from_state``.
``dojo.validator.scorer`` runs exactly this on a stored round.
"""

from dojo.scoring.guard import (
    DUPLICATE_MAX_RATIO,
    DUPLICATE_MIN_EVIDENCE,
    DUPLICATE_MIN_TASKS,
    duplicate_groups,
    duplicate_guard,
    group_share,
    near_duplicate_links,
    pair_evidence,
    result_fingerprint,
)
from dojo.scoring.round import (
    MIN_CONSENSUS,
    MIN_CONSENSUS_WEIGHT,
    CriterionLike,
    RoundScores,
    completion_mask,
    higher_is_better,
    labeller_grades,
    miner_vectors,
    ranks_to_scores,
    score_round,
    score_round_detail,
    vote_weights,
    weighted_consensus,
)
from dojo.scoring.running import (
    ALPHA,
    LCB_K,
    LCB_POWER,
    VAR_FLOOR,
    RunningState,
    lower_bound,
    reliability,
    reset_changed,
    round_means,
    to_weights,
    update_running,
    weights_from_state,
)
from dojo.scoring.spearman import agreement, mean_pairwise_agreement, spearman_last

__all__ = [
    "ALPHA",
    "DUPLICATE_MAX_RATIO",
    "DUPLICATE_MIN_EVIDENCE",
    "DUPLICATE_MIN_TASKS",
    "LCB_K",
    "LCB_POWER",
    "MIN_CONSENSUS",
    "MIN_CONSENSUS_WEIGHT",
    "VAR_FLOOR",
    "CriterionLike",
    "RoundScores",
    "RunningState",
    "agreement",
    "completion_mask",
    "duplicate_groups",
    "duplicate_guard",
    "group_share",
    "higher_is_better",
    "labeller_grades",
    "lower_bound",
    "mean_pairwise_agreement",
    "miner_vectors",
    "near_duplicate_links",
    "pair_evidence",
    "ranks_to_scores",
    "reliability",
    "reset_changed",
    "result_fingerprint",
    "round_means",
    "score_round",
    "score_round_detail",
    "spearman_last",
    "to_weights",
    "update_running",
    "vote_weights",
    "weighted_consensus",
    "weights_from_state",
]
