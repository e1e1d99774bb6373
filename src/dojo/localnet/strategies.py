"""What a miner's labellers do with a task: one pure function per strategy (DESIGN §7, §11).

Every function sees only what a miner really receives — the prompt, its copy's responses
(completion id and content, as obfuscated for that miner) and the criteria. The human skills
(:mod:`dojo.localnet.skills`) also get the oracle's true ranks: a simulated person's eyes. The
cheap strategies never do; they are what a rational miner might run instead of people:

* :func:`lengthbot` ranks answers by the size of their documents (longest first).
* :func:`resell` / :func:`copier` sell another miner's labels to this miner's copies, with one
  score moved by ±1 per task. Copies differ (fresh completion ids, shuffled order, per-miner
  obfuscation, and — with per-miner instances — different tasks), so the reseller maps as a real
  one could: its task to the source's by prompt similarity, then answers by identical visible
  text, else by document size order. Never by hidden ids.
* :func:`colluder`: every colluder answers one shared pattern — the documents' size order
  permuted by a hash of the prompt, which all colluders see alike on a shared (external) task
  and which carries no truth — with values varied per colluder, so an exact-match guard misses
  them.

The local network's simulated labellers (:mod:`dojo.localnet.crews`) and the tournament
(``bench/incentives.py``) both call these.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dojo.localnet.skills import Skill, score_completions, score_ranking, true_score
from dojo.protocol import AnyCriterion, ScoreCriterion, as_criterion

#: One labeller's answer: a value per completion id (a score in the criteria's range, or a rank).
Answer = dict[str, int]

_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class TaskView:
    """A task exactly as a miner's labeller is shown it."""

    prompt: str
    responses: tuple[tuple[str, str], ...]  # (completion id, content) in the order shown
    criteria: AnyCriterion

    @classmethod
    def of(
        cls, prompt: str, responses: Iterable[Mapping[str, Any]], criteria: AnyCriterion | Mapping[str, Any]
    ) -> TaskView:
        """From wire-shaped responses (``{"completion_id", "content"}``) and criteria (model or JSON)."""
        pairs = tuple((str(r["completion_id"]), str(r["content"])) for r in responses)
        return cls(prompt, pairs, as_criterion(criteria))

    @property
    def ids(self) -> list[str]:
        return [cid for cid, _ in self.responses]

    @property
    def ranking(self) -> bool:
        return self.criteria.is_ranking

    @property
    def bounds(self) -> tuple[int, int]:
        """The score range ``(min, max)``; a ranking has none (the default 1–10, never used for it)."""
        scale = self.criteria if isinstance(self.criteria, ScoreCriterion) else ScoreCriterion(min=1, max=10)
        return scale.min, scale.max


def from_order(view: TaskView, order: Sequence[str]) -> Answer:
    """The answer that puts ``order`` (completion ids, best first) first to last, evenly spread."""
    n = len(order)
    if view.ranking:
        return {cid: i for i, cid in enumerate(order)}
    lo, hi = view.bounds
    return {cid: int(round(true_score(i, n, lo, hi))) for i, cid in enumerate(order)}


# -- human skills ------------------------------------------------------------------------------


def human(skill: Skill, view: TaskView, ranks: Mapping[str, int], rng: random.Random) -> Answer:
    """A simulated person of ``skill`` who sees each completion's true rank (``ranks``, 0 = best)."""
    truth = {cid: int(ranks[cid]) for cid in view.ids}
    if view.ranking:
        return score_ranking(skill, truth, rng)
    lo, hi = view.bounds
    return score_completions(skill, truth, rng, lo, hi)


# -- what a bot can read off a document ----------------------------------------------------------


def document_text(content: str) -> str:
    """The document a response really is: the obfuscation wrapper undone when there is one.

    The wrapper's format is public (it is in this repository), so a bot can always do this.
    """
    if "<script>" not in content or "})([" not in content:
        return content
    from dojo.obfuscation.wrap import unwrap_document

    try:
        return unwrap_document(content)
    except (ValueError, IndexError, UnicodeDecodeError):
        return content


def document_size(content: str) -> int:
    """The size of a response's document in characters, unwrapped."""
    return len(document_text(content))


def visible_text(content: str) -> str:
    """What the page says (tags, scripts and styles dropped, whitespace collapsed).

    Obfuscation rewrites code, never text, so every copy of one document shows the same text.
    """
    body = _SCRIPT_OR_STYLE.sub(" ", document_text(content))
    return _SPACE.sub(" ", _TAG.sub(" ", body)).strip()


def _size_order(view: TaskView) -> list[str]:
    """Completion ids, longest document first (ties in the order shown)."""
    sizes = {cid: document_size(content) for cid, content in view.responses}
    return sorted(view.ids, key=lambda c: -sizes[c])


# -- the bots ------------------------------------------------------------------------------------


def lengthbot(view: TaskView) -> Answer:
    """Scores each answer by the size of its document: longest best. Reads nothing else."""
    return from_order(view, _size_order(view))


def shared_order(view: TaskView) -> list[str]:
    """The colluders' common order: the documents' size order, permuted by a hash of the prompt.

    Every colluder shown the same task sees the same prompt and, whatever its copy's ids, order or
    obfuscation, the same size order of the unwrapped documents (renaming identifiers moves sizes
    by a little, alike for all); the hash makes the resulting order unrelated to quality.
    """
    by_size = _size_order(view)
    seed = hashlib.sha256(f"colluders|{view.prompt}".encode()).digest()
    slots = list(range(len(by_size)))
    random.Random(int.from_bytes(seed[:8], "big")).shuffle(slots)
    return [by_size[i] for i in slots]


def colluder(view: TaskView, member: int) -> Answer:
    """Colluder ``member``'s answer: :func:`shared_order`, each score moved by −1, 0 or +1.

    The moves are drawn per colluder and task, so colluders rarely give byte-identical answers
    while their orders (hence any rank correlation between them) stay the same where the score
    range leaves room (gaps of 3 on 1–10 with four answers). Rankings cannot vary.
    """
    answer = from_order(view, shared_order(view))
    if view.ranking:
        return answer
    lo, hi = view.bounds
    seed = hashlib.sha256(f"colluder|{member}|{view.prompt}".encode()).digest()
    rng = random.Random(int.from_bytes(seed[:8], "big"))
    return {cid: min(hi, max(lo, v + rng.choice((-1, 0, 1)))) for cid, v in answer.items()}


# -- resale --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SoldTask:
    """One task of the resold miner as its crew answered it (in that miner's completion ids)."""

    view: TaskView
    answers: tuple[Answer, ...]


def prompt_similarity(a: str, b: str) -> float:
    """How alike two prompts are, 0..1 (1 = the same text): the overlap of their words, counted with repeats."""
    if a == b:
        return 1.0
    wa, wb = Counter(_WORD.findall(a.lower())), Counter(_WORD.findall(b.lower()))
    union = sum((wa | wb).values())
    return sum((wa & wb).values()) / union if union else 0.0


def match_task(view: TaskView, pool: Sequence[SoldTask]) -> SoldTask | None:
    """The source task most like ``view``, by prompt (the latest of equals); None if the pool is empty."""
    best: SoldTask | None = None
    best_sim = -1.0
    for sold in pool:
        sim = prompt_similarity(view.prompt, sold.view.prompt)
        if sim >= best_sim:
            best, best_sim = sold, sim
    return best


def match_responses(view: TaskView, source: TaskView) -> dict[str, str]:
    """``{my completion id: source completion id}`` from what both copies show.

    Identical visible text (unique on both sides) pairs a document with itself; the rest are paired
    by document size order, and any left over (different counts) by position.
    """
    mine_text = {cid: visible_text(content) for cid, content in view.responses}
    theirs_text = {cid: visible_text(content) for cid, content in source.responses}
    out: dict[str, str] = {}
    theirs_by_text: dict[str, list[str]] = {}
    for cid, text in theirs_text.items():
        theirs_by_text.setdefault(text, []).append(cid)
    mine_counts: dict[str, int] = {}
    for text in mine_text.values():
        mine_counts[text] = mine_counts.get(text, 0) + 1
    for cid, text in mine_text.items():
        hits = theirs_by_text.get(text, [])
        if len(hits) == 1 and mine_counts[text] == 1:
            out[cid] = hits[0]
    taken = set(out.values())
    mine_rest = [c for c in _size_order(view) if c not in out]
    theirs_rest = [c for c in _size_order(source) if c not in taken]
    for a, b in zip(mine_rest, theirs_rest, strict=False):
        out[a] = b
    theirs_all = source.ids
    for i, cid in enumerate(c for c in view.ids if c not in out):
        out[cid] = theirs_all[i % len(theirs_all)]
    return out


def perturb(view: TaskView, answer: Answer, rng: random.Random) -> Answer:
    """``answer`` with one value changed a little: a score ±1 (kept in range), or two adjacent ranks swapped."""
    out = dict(answer)
    if not out:
        return out
    if view.ranking:
        r = rng.randrange(max(len(out) - 1, 1))
        by_rank = {v: k for k, v in out.items()}
        if r in by_rank and r + 1 in by_rank:
            out[by_rank[r]], out[by_rank[r + 1]] = r + 1, r
        return out
    lo, hi = view.bounds
    cid = rng.choice(sorted(out))
    step = rng.choice((-1, 1))
    if not lo <= out[cid] + step <= hi:
        step = -step
    out[cid] = min(hi, max(lo, out[cid] + step))
    return out


def resell(view: TaskView, sold: SoldTask, rng: random.Random) -> list[Answer]:
    """The source crew's answers on ``sold``, carried over to ``view``'s completions and perturbed."""
    mapping = match_responses(view, sold.view)
    answers = []
    for answer in sold.answers:
        carried = {mine: answer[theirs] for mine, theirs in mapping.items() if theirs in answer}
        if len(carried) == len(view.responses):
            answers.append(perturb(view, carried, rng))
    return answers


def copier(view: TaskView, pool: Sequence[SoldTask], rng: random.Random) -> list[Answer]:
    """A reseller's answers for ``view``: the best-matching source task's answers, resold; [] without one."""
    sold = match_task(view, pool)
    return resell(view, sold, rng) if sold is not None else []
