"""The bot arena's pure pieces: what a miner sees, the features a bot reads off it, the bots, the statistics.

Everything here is a function of a :class:`MinerView` (the prompt and one miner's copy: completion
ids and documents) and nothing else; the hidden order only enters :mod:`arena.stats` and the
training half of :mod:`arena.learned`. ``bench/bots.py`` feeds it real copies.
"""

from .features import Features, MinerView, task_features
from .learned import LEARNERS, cross_fit
from .stats import MAX_MEAN_RHO, PerTask, Summary, perfect, spearman, summarise
from .strategies import Bot, default_bots, feature_bot, random_bot

__all__ = [
    "LEARNERS",
    "MAX_MEAN_RHO",
    "Bot",
    "Features",
    "MinerView",
    "PerTask",
    "Summary",
    "cross_fit",
    "default_bots",
    "feature_bot",
    "perfect",
    "random_bot",
    "spearman",
    "summarise",
    "task_features",
]
