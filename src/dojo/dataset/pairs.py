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
from itertools import islice
from typing import Literal

import numpy as np
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


def _messages(role: str, text: pa.Array) -> pa.Array:
    """Each text as a one-message list ``[{role, content}]`` (TRL's conversational format)."""
    n = len(text)
    roles = pa.array([role] * n, pa.string())
    one = pa.StructArray.from_arrays([roles, text], fields=list(_MESSAGES.value_type))
    return pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32)), one).cast(_MESSAGES)


def build_pairs(batch: Labelled, opts: PairOptions, counts: PairCounts) -> pa.RecordBatch:
    """The batch's preference pairs under ``opts``, by task and then as :func:`itertools.combinations` orders
    the completions; what is left out is added to ``counts``."""
    if opts.min_margin is None:
        counts.thresholds.update(round(float(t), 6) for t in np.unique(batch.step))
    elif len(batch):
        counts.thresholds.add(round(opts.min_margin, 6))
    rows: list[np.ndarray] = []
    pair_no: list[np.ndarray] = []
    winners: list[np.ndarray] = []
    losers: list[np.ndarray] = []
    margins: list[np.ndarray] = []
    for group in batch.groups:
        n_c = group.mean.shape[1]
        i, j = np.triu_indices(n_c, k=1)  # the order of combinations(range(n_c), 2)
        margin = group.mean[:, i] - group.mean[:, j]  # [T, P]
        threshold = batch.step[group.rows][:, None] if opts.min_margin is None else opts.min_margin
        small = np.abs(margin) < threshold - 1e-12
        counts.below_margin += int((small & (margin != 0)).sum())
        t, p = np.nonzero(~((margin == 0) | small))  # people saw no (or too small a) difference: no preference
        m = margin[t, p]
        rows.append(group.rows[t])
        pair_no.append(p)
        winners.append(np.where(m > 0, i[p], j[p]))
        losers.append(np.where(m > 0, j[p], i[p]))
        margins.append(np.abs(m))
    row, p, win, lose, margin = (
        np.concatenate(x) if x else np.empty(0, np.int64) for x in (rows, pair_no, winners, losers, margins)
    )
    order = np.lexsort((p, row))
    row, win, lose, margin = row[order], win[order], lose[order], margin[order].astype(np.float64)
    win, lose = batch.offsets[row] + win, batch.offsets[row] + lose  # into the batch's flat completions
    same: np.ndarray | None = None
    if opts.max_tokens is not None:
        same = _same_when_truncated(batch, row, win, lose, opts.max_tokens)
        counts.same_when_truncated += int(same.sum())
        if opts.truncation == "drop":
            counts.dropped_truncated += int(same.sum())
            keep = ~same
            row, win, lose, margin, same = row[keep], win[keep], lose[keep], margin[keep], same[keep]
    task = pa.array(row)
    prompt = batch.table.column("prompt").take(task)
    chosen, rejected = batch.contents.take(pa.array(win)), batch.contents.take(pa.array(lose))
    if opts.fmt != "standard":
        prompt, chosen, rejected = (
            _messages("user", prompt),
            _messages("assistant", chosen),
            _messages("assistant", rejected),
        )
    columns = [
        prompt,
        chosen,
        rejected,
        pa.array(margin, pa.float64()),
        batch.table.column("task_id").take(task),
        batch.ids.take(pa.array(win)),
        batch.ids.take(pa.array(lose)),
        pa.nulls(len(row), pa.bool_()) if same is None else pa.array(same, pa.bool_()),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=pair_schema(opts.fmt))


def _same_when_truncated(
    batch: Labelled, row: np.ndarray, win: np.ndarray, lose: np.ndarray, budget: int
) -> np.ndarray:
    """Per pair: whether both answers are the same once prompt + answer is cut to ``budget`` tokens."""
    prompts = batch.table.column("prompt").to_pylist()
    contents = batch.contents.to_pylist()
    prompt_len: dict[int, int] = {}
    out = np.zeros(len(row), dtype=bool)
    for k, (r, w, lo) in enumerate(zip(row.tolist(), win.tolist(), lose.tolist(), strict=True)):
        if r not in prompt_len:
            prompt_len[r] = len(tokens(prompts[r], budget))
        out[k] = same_when_truncated(prompt_len[r], contents[w], contents[lo], budget)
    return out
