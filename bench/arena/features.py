"""Cheap features of a miner's copy: what a bot can compute without judging the program.

All from the prompt and the copy alone, in four kinds:

* surface counts of each document as sent (``w_*``) and as a bot reads it after undoing the
  wrapper (``u_*``, :func:`dojo.obfuscation.unwrap_document`): length, compressed length,
  identifiers, numbers, strings, tags, … (:mod:`arena.document`);
* the prompt against each document: prompt numbers, colours, words and key names found in it,
  TF-IDF similarity to the prompt;
* what the document's own scripts decode when it loads (``run_*``, :mod:`arena.runtime`);
* each document against the task's other answers: typicality (TF-IDF, normalised compression
  distance), tokens only some answers have and whether the prompt asks for them, position on
  the "chain" the answers form when each rung adds damage to the previous one.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .document import (
    PromptAsks,
    prompt_hits,
    runtime_hits,
    split_camel,
    structure,
    surface,
    tokens,
    unwrap,
    wiring,
)

# --- the task's answers together --------------------------------------------------------------


def _zlen(b: bytes) -> int:
    return len(zlib.compress(b, 9))


def ncd_matrix(docs: Sequence[str]) -> np.ndarray:
    """Normalised compression distance between every two documents (0 = same, ~1 = unrelated)."""
    raw = [d.encode("utf-8", "surrogatepass") for d in docs]
    c = [_zlen(b) for b in raw]
    n = len(raw)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            cij = min(_zlen(raw[i] + raw[j]), _zlen(raw[j] + raw[i]))
            out[i, j] = out[j, i] = (cij - min(c[i], c[j])) / max(1, max(c[i], c[j]))
    return out


def tfidf(prompt: str, docs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(cosine of each document with the prompt, cosine between documents), TF-IDF fitted on this task."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [" ".join(sorted(tokens(prompt)))] + [" ".join(split_camel(d).lower().split()) for d in docs]
    vec = TfidfVectorizer(token_pattern=r"[a-z]{3,}|\d+(?:\.\d+)?|#[0-9a-f]{3,6}", sublinear_tf=True)
    m = vec.fit_transform(texts)
    sim = (m @ m.T).toarray()  # rows are L2-normalised
    return sim[0, 1:], sim[1:, 1:]


def chain_position(dist: np.ndarray) -> np.ndarray:
    """Where each answer sits between the two answers farthest apart (-1 at one end, +1 at the other).

    If every rung adds damage to the previous one, the answers lie on a path from the faithful one
    to the worst; this recovers the path up to its direction.
    """
    n = len(dist)
    if n < 2 or not dist.any():
        return np.zeros(n)
    a, b = np.unravel_index(int(np.argmax(dist)), dist.shape)
    pos = dist[:, a] - dist[:, b]
    span = np.abs(pos).max()
    return pos / span if span > 0 else pos


def _agrees(a: np.ndarray, b: np.ndarray) -> float:
    """+1 when ``a`` and ``b`` rise together (or either is flat), else -1."""
    if a.std() == 0 or b.std() == 0:
        return 1.0
    return 1.0 if float(np.corrcoef(a, b)[0, 1]) >= 0 else -1.0


def cross_answer(prompt: str, asks: PromptAsks, unwrapped: Sequence[str], ncd: np.ndarray) -> dict[str, np.ndarray]:
    """Features of each answer relative to the task's others (one array per feature, in copy order)."""
    n = len(unwrapped)
    to_prompt, sim = tfidf(prompt, unwrapped)
    others = max(1, n - 1)
    tok = [tokens(d) for d in unwrapped]
    union = set().union(*tok)
    common = set.intersection(*tok) if tok else set()
    varying = union - common
    ask_all = asks.words | asks.numbers | asks.colours
    # answers that share a token with fewer others: "unique" tokens are what one answer alone has
    seen = Counter(t for ts in tok for t in ts)
    pos = chain_position(ncd)
    # orient the chain: the end more like the prompt counts as "first" (a bot's guess at the faithful end)
    hits = np.array([len(t & asks.numbers) for t in tok], dtype=float)
    return {
        "tfidf_prompt": to_prompt,
        "tfidf_typical": (sim.sum(axis=1) - 1.0) / others,
        "ncd_typical": -ncd.sum(axis=1) / others,
        "ncd_farthest": ncd.max(axis=1),
        "ncd_nearest": np.array([np.delete(ncd[i], i).min() if n > 1 else 0.0 for i in range(n)]),
        "unique_tokens": np.array([sum(1 for x in t if seen[x] == 1) for t in tok], dtype=float),
        "missing_tokens": np.array(
            [sum(1 for x in union if x not in t and seen[x] == n - 1) for t in tok], dtype=float
        ),
        "varying_asked": np.array([len(t & varying & ask_all) for t in tok], dtype=float),
        "varying_unasked": np.array([len((t & varying) - ask_all) for t in tok], dtype=float),
        "chain_end": np.abs(pos),
        "chain_by_prompt": _agrees(pos, to_prompt) * pos,
        "chain_by_numbers": _agrees(pos, hits) * pos,
    }


# --- all of it --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MinerView:
    """Exactly what a miner receives: the prompt and its copy's answers (completion id, document)."""

    prompt: str
    responses: tuple[tuple[str, str], ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(cid for cid, _ in self.responses)

    @property
    def docs(self) -> tuple[str, ...]:
        return tuple(doc for _, doc in self.responses)


@dataclass(frozen=True)
class Features:
    """One task's feature table: a row per answer (copy order), a column per feature name."""

    ids: tuple[str, ...]
    names: tuple[str, ...]
    values: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)  # distance matrix, bag of tokens, the prompt's shape

    def column(self, name: str) -> np.ndarray:
        """One feature over the task's answers."""
        return self.values[:, self.names.index(name)]


def task_features(view: MinerView) -> Features:
    """Every feature of every answer of ``view`` (uses nothing but the view)."""
    from .runtime import decoded_json, decoded_strings, flatten

    asks = PromptAsks.of(view.prompt)
    unwrapped = [unwrap(d) for d in view.docs]
    decoded = [decoded_strings(d) for d in unwrapped]
    rows: list[dict[str, float]] = []
    for doc, plain, strings in zip(view.docs, unwrapped, decoded, strict=True):
        row = {f"w_{k}": v for k, v in surface(doc).items()}
        row |= {f"u_{k}": v for k, v in surface(plain).items()}
        row |= {f"u_{k}": v for k, v in structure(plain).items()}
        row |= {f"u_{k}": v for k, v in wiring(plain).items()}
        row |= prompt_hits(plain, asks)
        row |= runtime_hits(strings, asks)
        rows.append(row)
    ncd = ncd_matrix(unwrapped)
    cross = cross_answer(view.prompt, asks, unwrapped, ncd)
    names = tuple(rows[0]) + tuple(cross)
    values = np.array(
        [[r[k] for k in rows[0]] + [float(cross[k][i]) for k in cross] for i, r in enumerate(rows)], dtype=float
    )
    values[~np.isfinite(values)] = 0.0
    shape = np.array([len(view.prompt), view.prompt.count("\n- "), len(asks.numbers), len(asks.words)], dtype=float)
    flat = [[t for value in decoded_json(strings) for t in flatten(value)] for strings in decoded]
    extra = {"ncd": ncd, "bag": bag_of_tokens(unwrapped), "decoded_bag": bag_of_values(flat), "prompt": shape}
    return Features(ids=view.ids, names=names, values=values, extra=extra)


def bag_of_tokens(docs: Sequence[str]) -> Any:
    """Which words, numbers and colours each document holds (hashed, binary; a sparse row per document).

    Mangling renames code identifiers to one or two letters, so what is left is what survives it:
    strings, property names, numbers, CSS and markup words — what a token-memorising bot learns.
    """
    from sklearn.feature_extraction.text import HashingVectorizer

    vec = HashingVectorizer(analyzer=tokens, n_features=2**18, binary=True, norm=None, alternate_sign=False)
    return vec.transform(docs)


def bag_of_values(flat: Sequence[Sequence[str]]) -> Any:
    """Which ``path=value`` pairs each answer's decoded data holds (hashed, binary; a sparse row per answer)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    vec = HashingVectorizer(analyzer=list, n_features=2**16, binary=True, norm=None, alternate_sign=False)
    return vec.transform(flat)
