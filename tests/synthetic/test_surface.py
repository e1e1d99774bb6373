"""The documents' surface carries no rank: sizes and counts of converted families' answers are within chance."""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from scipy.stats import spearmanr

from dojo.obfuscation import obfuscate_html
from dojo.synthetic.procedural import FAMILIES, generate_task
from dojo.synthetic.surface import MARKER, PRELUDE, install, seal, unseal

FAMILY_NAMES = sorted(FAMILIES)
TASKS = 200
#: Chance is 0; with 200 tasks one standard error of the mean ρ is about 0.04.
WITHIN_CHANCE = 0.1

MEASURES: dict[str, Callable[[str], float]] = {
    "length": len,
    "zlib length": lambda s: len(zlib.compress(s.encode(), 9)),
    "digits": lambda s: sum(c.isdigit() for c in s),
    "identifiers": lambda s: len(re.findall(r"[A-Za-z_$][\w$]*", s)),
    "strings": lambda s: len(re.findall(r"\"[^\"]*\"|'[^']*'", s)),
}


def _mean_rho(docs_of_tasks: list[tuple[list[int], list[str]]], measure: Callable[[str], float]) -> float:
    rhos = []
    for ranks, docs in docs_of_tasks:
        values = [measure(d) for d in docs]
        rhos.append(0.0 if len(set(values)) == 1 else float(spearmanr(ranks, values).statistic))
    return float(np.mean(rhos))


@pytest.fixture(scope="module")
def tasks() -> list[tuple[list[int], list[str]]]:
    out = []
    for seed in range(TASKS):
        task = generate_task(seed, family=FAMILY_NAMES[seed % len(FAMILY_NAMES)])
        out.append(([r.ladder_step for r in task.responses], [r.content for r in task.responses]))
    return out


@pytest.mark.parametrize("measure", sorted(MEASURES))
def test_rank_is_not_readable_from_the_documents(tasks: list[tuple[list[int], list[str]]], measure: str) -> None:
    rho = _mean_rho(tasks, MEASURES[measure])
    assert abs(rho) <= WITHIN_CHANCE, f"{measure}: mean Spearman ρ {rho:+.3f} with the hidden order"


def test_rank_is_not_readable_from_obfuscated_copies(tasks: list[tuple[list[int], list[str]]]) -> None:
    copies = [
        (ranks, [obfuscate_html(d, i * 10 + j) for j, d in enumerate(docs)]) for i, (ranks, docs) in enumerate(tasks)
    ]
    for name in ("length", "zlib length", "digits"):
        rho = _mean_rho(copies, MEASURES[name])
        assert abs(rho) <= WITHIN_CHANCE, f"obfuscated, {name}: mean Spearman ρ {rho:+.3f} with the hidden order"


def test_the_measure_would_see_a_ladder_that_removes_code() -> None:
    """Not vacuous: documents that grow shorter down the ladder are caught."""
    fake = [
        ([0, 1, 2, 3], ["x" * (400 - 50 * r + random.Random(i).randint(0, 40)) for r in range(4)]) for i in range(50)
    ]
    assert _mean_rho(fake, len) < -0.5


def test_sealed_configurations_round_trip_and_share_nothing() -> None:
    configs = [
        {"on": {"a": True, "b": False}, "broken": {"a": True}, "p": {"n": 40, "t": "Fire ✓", "x": [0.55, -3, None]}},
        {"on": {"a": False}, "p": {"n": 1}},
    ]
    elements = seal(configs, random.Random(3))
    assert [unseal(e) for e in elements] == [
        {"on": {"a": True, "b": False}, "broken": {"a": True, "b": False}, "p": configs[0]["p"]},
        {"on": {"a": False}, "broken": {"a": False}, "p": {"n": 1}},
    ]
    for e in elements:
        assert "Fire" not in e and '"on"' not in e
    with pytest.raises(TypeError):
        seal([{"p": {"square": True}}], random.Random(0))
    assert install(f"<body>{MARKER}</body>", elements[0]) == f"<body>{elements[0]}</body>"
    with pytest.raises(ValueError):
        install("no marker here", elements[0])


def test_the_page_decodes_without_the_builtins_a_tracer_hooks() -> None:
    """No atob, TextDecoder, JSON.parse or fromCharCode over the whole text: nothing decoded is ever one string."""
    for name in ("atob", "TextDecoder", "JSON", "fromCharCode.apply", "fromCharCode(...", "eval", "Function("):
        assert name not in PRELUDE, name
    assert PRELUDE.count("String.fromCharCode(") == 1 and "String.fromCharCode(w())" in PRELUDE


def test_padding_does_not_depend_on_the_configuration() -> None:
    """A short and a long configuration sealed together come out with the same length distribution."""
    rng = random.Random(5)
    short, long = [], []
    for _ in range(300):
        a, b = seal([{"p": {}}, {"p": {"k": "v" * 120}}], rng)
        short.append(len(a))
        long.append(len(b))
    assert abs(np.mean(short) - np.mean(long)) < 0.15 * np.std(short + long)
