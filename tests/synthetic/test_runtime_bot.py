"""A bot that runs a page's scripts learns nothing of the rung from what they decode or what the page holds.

The bot arena's runtime bot (``bench/arena/runtime.py``, loaded by path) runs a document's inline
scripts in V8 against a stub DOM and records every string the page decodes with ``atob``,
``TextDecoder``, ``JSON.parse`` or ``String.fromCharCode``. With the configuration carried as JSON
it read every flag (the count of ``true`` values alone gave ρ = −0.78). Now:

* the page decodes with none of those builtins, so the bot records nothing (and a bot that did
  record it would find no ``true``/``false``);
* what the page holds in memory (``C``, read here by a bot that knows its name and asks the stub
  run for it) carries flags only as opaque slots: counts of "true-like" values and a model
  learnt on its ``path=value`` pairs are within chance without the prompt;
* any feature of a family may be requested, so even a bot that knows the format and reads which
  features are on learns nothing without the prompt.

What is *not* within chance, by design, is comparing the prompt's values with the values the page
uses: a drifted answer really uses a wrong value (that is its defect, and what a labeller checks).
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from scipy.stats import spearmanr

from dojo.obfuscation import obfuscate_html, unwrap_document
from dojo.synthetic import surface
from dojo.synthetic.procedural import FAMILIES, generate_task

RUNTIME = Path(__file__).resolve().parents[2] / "bench" / "arena" / "runtime.py"
FAMILY_NAMES = sorted(FAMILIES)
TASKS = 160  # 20 per family
OBFUSCATED = 40
#: Chance is 0; with 160 tasks one standard error of the mean ρ is about 0.045.
WITHIN_CHANCE = 0.1


def _load_runtime() -> ModuleType:
    # bench/ is not a package: load the arena's runtime bot by path (it imports nothing of bench)
    name = "dojo_bench_arena_runtime"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, RUNTIME)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


rt = _load_runtime()
# The bot stops a page after 300 ms; on a loaded machine (a browser test in the same process) a page can
# need longer, and a cut-off run would make these tests vacuous or flaky: no time limit that matters here.
rt._RUN_MS = 60_000


class Task:
    def __init__(self, prompt: str, ranks: list[int], docs: list[str], family: str) -> None:
        self.prompt, self.ranks, self.docs, self.family = prompt, ranks, docs, family


@pytest.fixture(scope="module")
def tasks() -> list[Task]:
    out = []
    for seed in range(TASKS):
        task = generate_task(90_000 + seed, family=FAMILY_NAMES[seed % len(FAMILY_NAMES)])
        out.append(
            Task(
                task.prompt,
                [r.ladder_step for r in task.responses],
                [r.content for r in task.responses],
                task.metadata["family"],
            )
        )
    return out


def _mean_rho(ranks: Sequence[Sequence[int]], scores: Sequence[Sequence[float]]) -> float:
    rhos = []
    for r, s in zip(ranks, scores, strict=True):
        rhos.append(0.0 if len(set(s)) == 1 else float(spearmanr(r, s).statistic))
    return float(np.mean(rhos))


def _numbers(text: str) -> set[str]:
    import re

    return {m.rstrip(".") for m in re.findall(r"\d+(?:\.\d+)?", text)}


def _cross_fit(tokens: list[list[set[str]]], ranks: list[list[int]], folds: int = 2) -> list[list[float]]:
    """A learned bot: each token's mean goodness over the tasks it was fitted on; an answer scores its tokens' sum.

    Fitted on all but one fold of tasks (with their true order), scoring only the held-out fold.
    """
    n = len(tokens)
    rng = random.Random(n)
    fold_of = [rng.randrange(folds) for _ in range(n)]  # not i % folds: the families come in a fixed cycle
    scores: list[list[float]] = [[] for _ in range(n)]
    for fold in range(folds):
        total: dict[str, float] = defaultdict(float)
        seen: dict[str, int] = defaultdict(int)
        for i in range(n):
            if fold_of[i] == fold:
                continue
            k = len(ranks[i])
            for toks, r in zip(tokens[i], ranks[i], strict=True):
                good = 1.0 - r / (k - 1) - 0.5
                for t in toks:
                    total[t] += good
                    seen[t] += 1
        weight = {t: total[t] / (seen[t] + 2.0) for t in total if seen[t] >= 2}  # shrunk towards 0
        for i in range(n):
            if fold_of[i] == fold:
                scores[i] = [sum(weight.get(t, 0.0) for t in toks) for toks in tokens[i]]
    return scores


def _flat(value: Any) -> list[str]:
    return list(rt.flatten(value))


# -- what the runtime bot records --------------------------------------------------------------------


def _bot_features(prompt: str, strings: list[str]) -> dict[str, float]:
    flat = [t for value in rt.decoded_json(strings) for t in _flat(value)]
    text = "\n".join(s.split("\x00", 1)[0] for s in strings)
    return {
        "decoded strings": float(len(strings)),
        "true values": float(sum(t.endswith("=true") for t in flat)),
        "false values": float(sum(t.endswith("=false") for t in flat)),
        "prompt numbers found": float(len(_numbers(prompt) & _numbers(text))),
    }


def _assert_nothing_readable(strings: list[str], where: str) -> None:
    for s in strings:
        low = s.lower()
        assert "true" not in low and "false" not in low, f"{where}: a decoded string holds a truth value: {s[:120]!r}"
    assert rt.decoded_json(strings) == [], f"{where}: the page decoded JSON: {strings[0][:120]!r}"


def test_the_runtime_bot_reads_nothing_of_the_rung(tasks: list[Task]) -> None:
    """Over tasks of every family, plain and as obfuscated copies: no decoded truth values, features within chance."""
    views: list[tuple[Task, list[str]]] = [(t, t.docs) for t in tasks]
    views += [
        (t, [unwrap_document(obfuscate_html(d, i * 10 + j)) for j, d in enumerate(t.docs)])
        for i, t in enumerate(tasks[:OBFUSCATED])
    ]
    table: dict[str, list[list[float]]] = defaultdict(list)
    ranks = []
    for i, (t, docs) in enumerate(views):
        rows = []
        for j, doc in enumerate(docs):
            strings = rt.decoded_strings(doc)
            _assert_nothing_readable(strings, f"{t.family} task {i} answer {j}")
            rows.append(_bot_features(t.prompt, strings))
        for name in rows[0]:
            table[name].append([r[name] for r in rows])
        ranks.append(t.ranks)
    assert {t.family for t, _ in views} == set(FAMILIES)
    for name, scores in table.items():
        rho = _mean_rho(ranks, scores)
        assert abs(rho) <= WITHIN_CHANCE, f"runtime bot, {name}: mean ρ {rho:+.3f} with the hidden order"


def _legacy_document(doc: str) -> str:
    """The same page carrying its logical configuration as base64 JSON read with atob + JSON.parse (the old way)."""
    import base64

    plain = json.dumps(surface.unseal(doc), separators=(",", ":"))
    start = doc.index(f'<script type="text/plain" id="{surface.CARRIER_ID}">')
    end = doc.index("</script>", start) + len("</script>")
    carrier = (
        f'<script type="text/plain" id="{surface.CARRIER_ID}">{base64.b64encode(plain.encode()).decode()}</script>'
    )
    legacy_decode = f'JSON.parse(atob(document.getElementById("{surface.CARRIER_ID}").textContent))'
    return (doc[:start] + carrier + doc[end:]).replace(surface.DECODE, legacy_decode, 1)


def test_the_measure_would_catch_a_page_that_decodes_with_builtins(tasks: list[Task]) -> None:
    """Not vacuous: the same harness on pages that decode their (logical) configuration with atob + JSON.parse."""
    scores, ranks = [], []
    for t in tasks[::4]:
        feats = [_bot_features(t.prompt, rt.decoded_strings(_legacy_document(d))) for d in t.docs]
        assert all(f["decoded strings"] > 0 for f in feats)
        scores.append([f["true values"] for f in feats])
        ranks.append(t.ranks)
    assert _mean_rho(ranks, scores) > 0.3  # rung 3 adds a broken=true: more true values, worse answer


# -- what the page holds -------------------------------------------------------------------------


def _held_by_stub_run(doc: str) -> Any:
    """``C`` as the page's own decoder builds it in the runtime bot's stub DOM (a bot that knows the name ``C``)."""
    probe = doc.replace(surface.PRELUDE, surface.PRELUDE + "JSON.parse(JSON.stringify(C));\n", 1)
    found = rt.decoded_json(rt.decoded_strings(probe))
    assert len(found) == 1, "the stub run did not reach the configuration"
    return found[0]


def _walk(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _walk(v)]
    if isinstance(value, list):
        return [x for v in value for x in _walk(v)]
    return [value]


TRUE_LIKE: dict[str, Callable[[int], bool]] = {
    "odd slots": lambda v: v % 2 == 1,
    "slots with an odd bit count": lambda v: bin(v).count("1") % 2 == 1,
    "slots above half their range": lambda v: v >= 2**30,
}


def test_what_the_page_holds_says_nothing_without_the_prompt(tasks: list[Task]) -> None:
    held = [[_held_by_stub_run(d) for d in t.docs] for t in tasks]
    ranks = [t.ranks for t in tasks]
    for t, cs in zip(tasks[:16], held, strict=False):
        assert cs == [surface.held(d) for d in t.docs], "the page's decoder and surface.held disagree"
    for cs in held:
        for c in cs:
            assert set(c) == {"f", "s", "p"}
            assert not any(isinstance(x, bool) for x in _walk(c)), "a truth value in the configuration"
            assert "true" not in json.dumps(c) and "false" not in json.dumps(c)
    for name, test in TRUE_LIKE.items():
        scores = [[float(sum(test(v) for v in c["f"].values())) for c in cs] for cs in held]
        rho = _mean_rho(ranks, scores)
        assert abs(rho) <= WITHIN_CHANCE, f"count of {name}: mean ρ {rho:+.3f} with the hidden order"
    tokens = [[set(_flat(c)) for c in cs] for cs in held]
    rho = _mean_rho(ranks, _cross_fit(tokens, ranks))
    assert abs(rho) <= WITHIN_CHANCE, f"a model of the held path=value pairs: mean ρ {rho:+.3f}"


def test_which_features_are_on_says_nothing_without_the_prompt(tasks: list[Task]) -> None:
    """Even knowing the format: a model of which features are on learns nothing without the prompt."""
    ranks = [t.ranks for t in tasks]
    tokens = [[{f"{t.family}.{k}" for k, v in surface.unseal(d)["on"].items() if v} for d in t.docs] for t in tasks]
    rho = _mean_rho(ranks, _cross_fit(tokens, ranks))
    assert abs(rho) <= WITHIN_CHANCE, f"a model of the features on: mean ρ {rho:+.3f}"


def test_slots_look_the_same_whatever_their_flags() -> None:
    """Each bit of a slot (and of the salt) is a fair coin, on or off, broken or not."""
    rng = random.Random(8)
    by_flags: dict[tuple[bool, bool], list[int]] = defaultdict(list)
    for _ in range(800):
        on, broken = rng.random() < 0.5, rng.random() < 0.5
        held = surface.opaque({"on": {"x": on}, "broken": {"x": broken}, "p": {}}, rng)
        by_flags[(on, broken)].append(held["f"]["x"])
        assert surface.flags(held["f"]["x"], held["s"]) == (on, broken)
    for values in by_flags.values():
        bits = np.array([[(v >> b) & 1 for b in range(31)] for v in values])
        assert np.all(np.abs(bits.mean(axis=0) - 0.5) < 0.15)
