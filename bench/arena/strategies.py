"""The hand-written bots: each turns one task's features into a score per answer (higher = better).

A bot sees only :class:`~arena.features.Features`, computed from the miner's view. Single-feature
bots are read in both directions at once: the table reports the signed ρ, and a bot passes only
when |ρ| is small (a miner flips a bot that is reliably wrong).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .features import Features

Score = Callable[[Features], np.ndarray]


@dataclass(frozen=True)
class Bot:
    """A named strategy and what it reads."""

    name: str
    reads: str  # "reference", "as sent", "unwrapped", "prompt", "other answers", "combined"
    score: Score


def random_bot(seed: int = 0) -> Bot:
    """Scores drawn at random, keyed by the copy's completion ids: the reference (mean ρ ≈ 0)."""

    def score(f: Features) -> np.ndarray:
        digest = hashlib.sha256(f"{seed}|{'|'.join(f.ids)}".encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "big")).random(len(f.ids))

    return Bot("random ranker", "reference", score)


def feature_bot(column: str, name: str | None = None, reads: str | None = None) -> Bot:
    """Rank by one feature, larger first."""
    return Bot(name or describe(column), reads or _reads(column), lambda f: f.column(column))


def within_task_z(x: np.ndarray) -> np.ndarray:
    """``x`` as z-scores among the task's answers (0 when they are all equal)."""
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


def typical_bot(column: str) -> Bot:
    """The answer closest to the task's mean on ``column`` ranks first (the "most typical answer")."""
    return Bot(
        f"closest to the task mean: {describe(column)} ({_reads(column)})",
        "other answers",
        lambda f: -np.abs(within_task_z(f.column(column))),
    )


def position_bot() -> Bot:
    """The answer sent first ranks first: the copy's order must be shuffled."""
    return Bot("position in the copy (first = best)", "as sent", lambda f: -np.arange(len(f.ids), dtype=float))


def id_bot() -> Bot:
    """Completion ids in sorted order: fresh random ids must say nothing."""
    return Bot("completion id order", "as sent", lambda f: -np.argsort(np.argsort(np.array(f.ids))).astype(float))


def vote_bot(name: str, columns: tuple[str, ...], reads: str = "combined") -> Bot:
    """The sum of within-task z-scores of several features (present ones only)."""

    def score(f: Features) -> np.ndarray:
        cols = [c for c in columns if c in f.names]
        return np.sum([within_task_z(f.column(c)) for c in cols], axis=0) if cols else np.zeros(len(f.ids))

    return Bot(name, reads, score)


_WHAT = {
    "chars": "length",
    "lines": "lines",
    "zlib": "zlib-compressed size",
    "bz2": "bz2-compressed size",
    "zlib_ratio": "compression ratio",
    "entropy": "character entropy",
    "idents": "identifiers",
    "distinct_idents": "distinct identifiers",
    "numbers": "number literals",
    "distinct_numbers": "distinct numbers",
    "strings": "string literals",
    "tags": "tags",
    "distinct_tags": "distinct tag names",
    "attrs": "attributes",
    "keywords": "JS keywords",
    "calls": "method calls",
    "punct": "punctuation",
    "spaces": "whitespace",
    "script_chars": "script length",
    "style_chars": "style length",
    "markup_chars": "markup length",
    "text_chars": "visible text length",
    "script_share": "script share of the document",
    "handlers": "event handlers",
    "ids": "element ids",
    "buttons": "buttons",
    "inputs": "inputs",
    "colours": "colour literals",
    "distinct_colours": "distinct colours",
    "css_rules": "CSS rules",
    "prompt_numbers": "prompt numbers found",
    "prompt_numbers_frac": "share of prompt numbers found",
    "prompt_colours": "prompt colours found",
    "prompt_words": "prompt words found",
    "prompt_words_frac": "share of prompt words found",
    "prompt_labels": "prompt labels (capitalised words) found",
    "prompt_keys": "prompt keys found as string literals",
    "dead_ids": "element ids no script mentions",
    "dead_controls": "controls no script mentions",
    "ghost_ids": "ids the scripts look up that no element has",
    "decoded_prompt_numbers": "prompt numbers in base64-decoded literals",
    "decoded_prompt_words": "prompt words in base64-decoded literals",
    "run_decoded": "strings its scripts decode at start-up (run in V8)",
    "run_chars": "length of what its scripts decode",
    "run_prompt_numbers": "prompt numbers in what its scripts decode",
    "run_prompt_words": "prompt words in what its scripts decode",
    "run_true": "true switches in the JSON its scripts decode",
    "run_false": "false switches in the JSON its scripts decode",
    "run_values": "values in the JSON its scripts decode",
    "foreign_numbers": "numbers not in the prompt",
    "foreign_colours": "colours not in the prompt",
    "tfidf_prompt": "TF-IDF cosine with the prompt",
    "tfidf_typical": "TF-IDF similarity to the other answers (medoid)",
    "ncd_typical": "compression closeness to the other answers (medoid)",
    "ncd_farthest": "compression distance to the farthest answer",
    "ncd_nearest": "compression distance to the nearest answer",
    "unique_tokens": "tokens no other answer has",
    "missing_tokens": "tokens every other answer has and this one lacks",
    "varying_asked": "tokens that differ between answers and the prompt asks for",
    "varying_unasked": "tokens that differ between answers and the prompt never names",
    "chain_end": "distance from the middle of the answers' chain",
    "chain_by_prompt": "chain position, end nearer the prompt first",
    "chain_by_numbers": "chain position, end with more prompt numbers first",
}


def describe(column: str) -> str:
    """A feature's name for the table."""
    key = column[2:] if column[:2] in ("w_", "u_") else column
    return _WHAT.get(key, key)


def _reads(column: str) -> str:
    if column.startswith("w_"):
        return "as sent"
    if column.startswith("u_"):
        return "unwrapped"
    if column.startswith("run_"):
        return "runs scripts"
    if column.startswith(("prompt_", "decoded_", "foreign_", "tfidf_prompt", "varying_asked", "chain_by")):
        return "prompt"
    return "other answers"


SIZE_COLUMNS = ("u_chars", "u_zlib", "u_bz2", "u_idents", "u_numbers", "u_strings", "u_tags", "u_script_chars")
PROMPT_COLUMNS = ("prompt_numbers", "prompt_colours", "prompt_words", "prompt_labels", "prompt_keys", "tfidf_prompt")


def default_bots(columns: tuple[str, ...], seed: int = 0) -> list[Bot]:
    """The random reference, one bot per feature column, the typicality bots and the votes."""
    bots = [random_bot(seed), position_bot(), id_bot()]
    bots += [feature_bot(c) for c in columns]
    bots += [typical_bot(c) for c in ("w_chars", "u_chars", "u_zlib", "u_idents", "u_numbers") if c in columns]
    bots.append(vote_bot("vote: the size features (within-task z)", SIZE_COLUMNS))
    bots.append(vote_bot("vote: the prompt-match features (within-task z)", PROMPT_COLUMNS, reads="prompt"))
    return bots
