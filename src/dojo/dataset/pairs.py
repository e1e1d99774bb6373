"""Preference pairs for DPO trainers, in TRL's ``standard`` or ``conversational`` format.

Two filters keep pairs that carry no preference out of a trainer's way:

* **margin** — a pair is kept when the crew's mean scores differ by at least ``min_margin`` on the
  normalised [0, 1] axis. The default (``auto``) is one point of the task's own scale
  (``1/(max−min)``, 1/9 on the default 1–10 scale; ``1/(n−1)`` for a ranking): a smaller mean
  difference is what one labeller moving one point produces, not a preference of the crew.
* **truncation** — TRL cuts prompt + answer to ``max_length`` tokens keeping the start; two HTML
  answers that differ only late become the same text, and a pair of identical texts teaches
  nothing (or noise). With ``max_tokens`` set, such pairs are flagged (``same_when_truncated``)
  or dropped. Tokens are counted with a simple regex (words and single punctuation marks), not
  the model's tokenizer; a BPE tokenizer usually makes more tokens of HTML/JS, so set
  ``max_tokens`` at or a little below the trainer's ``max_length``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import combinations, islice
from typing import Any, Literal

import pyarrow as pa

from dojo.dataset.rows import Labelled

PairsFormat = Literal["standard", "conversational"]
PAIRS_FORMATS: tuple[str, ...] = ("standard", "conversational")
TRUNCATION_MODES: tuple[str, ...] = ("drop", "flag")

_MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
_TOKEN = re.compile(r"\w+|[^\w\s]")

_EXTRA = [
    ("margin", pa.float64()),  # difference of the normalised mean scores, > 0
    ("task_id", pa.string()),
    ("chosen_id", pa.string()),
    ("rejected_id", pa.string()),
    ("same_when_truncated", pa.bool_()),  # null unless a --max-tokens budget was given
]


def pair_schema(fmt: str = "standard") -> pa.Schema:
    """The pairs table: TRL's ``prompt, chosen, rejected`` (strings or message lists) plus provenance."""
    text = pa.string() if fmt == "standard" else _MESSAGES
    return pa.schema([("prompt", text), ("chosen", text), ("rejected", text), *_EXTRA])


PAIR_SCHEMA = pair_schema("standard")


@dataclass
class PairOptions:
    """How pairs are chosen and shaped."""

    min_margin: float | None = None  # None = auto: one point of the task's own scale
    fmt: str = "standard"
    max_tokens: int | None = None
    truncation: str = "drop"  # drop | flag pairs identical under max_tokens


@dataclass
class PairCounts:
    """Pairs written and pairs left out, over a whole export."""

    below_margin: int = 0
    same_when_truncated: int = 0
    dropped_truncated: int = 0
    thresholds: set[float] = field(default_factory=set)


def tokens(text: str, limit: int) -> list[str]:
    """The first ``limit`` regex tokens of ``text`` (words and single punctuation marks)."""
    return [m.group() for m in islice(_TOKEN.finditer(text), max(limit, 0))]


def same_when_truncated(prompt_tokens: int, chosen: str, rejected: str, max_tokens: int) -> bool:
    """Whether prompt + answer cut to ``max_tokens`` tokens (keeping the start) leaves two equal answers."""
    budget = max_tokens - prompt_tokens
    if budget <= 0:
        return True
    return tokens(chosen, budget) == tokens(rejected, budget)


def _text(role: str, text: str, fmt: str) -> Any:
    return text if fmt == "standard" else [{"role": role, "content": text}]


def build_pairs(item: Labelled, opts: PairOptions, counts: PairCounts) -> list[dict[str, Any]]:
    """The task's preference pairs under ``opts``; what is left out is added to ``counts``."""
    threshold = item.step if opts.min_margin is None else opts.min_margin
    counts.thresholds.add(round(threshold, 6))
    prompt = item.row["prompt"]
    prompt_len = len(tokens(prompt, opts.max_tokens)) if opts.max_tokens is not None else 0
    out: list[dict[str, Any]] = []
    mean = item.mean
    for i, j in combinations(range(len(item.ids)), 2):
        margin = float(mean[i] - mean[j])
        if margin == 0 or abs(margin) < threshold - 1e-12:
            if margin != 0:
                counts.below_margin += 1
            continue  # people saw no (or too small a) difference: no preference to learn from
        win, lose = (i, j) if margin > 0 else (j, i)
        same: bool | None = None
        if opts.max_tokens is not None:
            same = same_when_truncated(prompt_len, item.contents[win], item.contents[lose], opts.max_tokens)
            if same:
                counts.same_when_truncated += 1
                if opts.truncation == "drop":
                    counts.dropped_truncated += 1
                    continue
        out.append(
            {
                "prompt": _text("user", prompt, opts.fmt),
                "chosen": _text("assistant", item.contents[win], opts.fmt),
                "rejected": _text("assistant", item.contents[lose], opts.fmt),
                "margin": abs(margin),
                "task_id": item.row["task_id"],
                "chosen_id": item.ids[win],
                "rejected_id": item.ids[lose],
                "same_when_truncated": same,
            }
        )
    return out
