"""The bot arena's pieces (bench/arena): a bot that can read the order does, the random one does not."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

ARENA = Path(__file__).resolve().parents[2] / "bench" / "arena"


def _load() -> ModuleType:
    # bench/ is not a package (make bench runs its files as scripts): load bench/arena by path
    name = "dojo_bench_arena"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ARENA / "__init__.py", submodule_search_locations=[str(ARENA)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


arena = _load()
PROMPT = "Write a page with a canvas of 400×300 px, 12 balls drawn in #ff0000, and a Reset button."
WORDS = ["alpha", "bravo", "delta", "gamma", "kappa", "sigma", "omega", "theta"]


def _doc(body: str, rng: random.Random) -> str:
    from dojo.obfuscation.wrap import wrap_document

    html = f'<html><body><button id="r">Reset</button><script>var n = 12;{body}</script></body></html>'
    return wrap_document(html, "<!DOCTYPE html>", rng)


def _toy_tasks(n_tasks: int, signal: bool, seed: int = 3) -> tuple[list, list[np.ndarray]]:
    """Tasks of 4 answers whose length falls with rank (``signal``) or is drawn at random; copy order shuffled."""
    rng = random.Random(seed)
    feats, ranks = [], []
    for t in range(n_tasks):
        order = list(range(4))
        rng.shuffle(order)
        responses = []
        for rank in order:
            size = (4 - rank) * 60 + rng.randint(0, 20) if signal else rng.randint(0, 260)
            body = " ".join(rng.choice(WORDS) for _ in range(size // 6))
            responses.append((f"id-{t}-{rank}", _doc(f"/* {body} */", rng)))
        feats.append(arena.task_features(arena.MinerView(PROMPT, tuple(responses))))
        ranks.append(np.array(order))
    return feats, ranks


def _summary(bot, feats, ranks):
    return arena.summarise(bot.name, arena.PerTask.of([bot.score(f) for f in feats], ranks))


def test_spearman_and_perfect_follow_the_convention() -> None:
    ranks = np.array([0, 1, 2, 3])  # 0 = best
    assert arena.spearman(np.array([9.0, 5.0, 2.0, 1.0]), ranks) == 1.0
    assert arena.spearman(np.array([1.0, 2.0, 5.0, 9.0]), ranks) == -1.0
    assert arena.spearman(np.ones(4), ranks) == 0.0
    assert arena.perfect(np.array([9.0, 5.0, 2.0, 1.0]), ranks)
    assert not arena.perfect(np.array([9.0, 5.0, 5.0, 1.0]), ranks)  # a tie orders nothing


def test_a_length_bot_reads_an_order_that_length_encodes() -> None:
    feats, ranks = _toy_tasks(60, signal=True)
    for column in ("w_chars", "u_chars", "u_zlib"):
        s = _summary(arena.feature_bot(column), feats, ranks)
        assert s.mean_rho > 0.9, (column, s)
        assert not s.passes
    # the unwrapped length is the document's own: longer by rank, exactly
    assert _summary(arena.feature_bot("u_chars"), feats, ranks).perfect_share == 1.0


def test_random_bot_and_length_bot_without_signal_sit_at_chance() -> None:
    feats, ranks = _toy_tasks(300, signal=False)
    for bot in (arena.random_bot(seed=5), arena.feature_bot("u_chars")):
        s = _summary(bot, feats, ranks)
        assert abs(s.mean_rho) < 0.1, (bot.name, s)
        assert s.low < 0 < s.high
    assert _summary(arena.random_bot(seed=5), feats, ranks).perfect_share < 0.1  # chance is 1/24


def test_learned_bot_learns_a_signal_on_half_and_scores_the_other_half() -> None:
    feats, ranks = _toy_tasks(60, signal=True)
    from threadpoolctl import threadpool_limits

    learner = arena.LEARNERS["learned: boosted trees, pointwise"]
    with threadpool_limits(limits=1):  # OpenMP threads only wait on each other on a busy machine
        scores = arena.cross_fit(learner, feats, ranks, k=2, seed=0)
    assert arena.summarise("learned", arena.PerTask.of(scores, ranks)).mean_rho > 0.8


def test_every_default_bot_scores_each_answer_of_a_copy() -> None:
    feats, _ = _toy_tasks(2, signal=True)
    bots = arena.default_bots(feats[0].names)
    assert bots[0].reads == "reference"
    for bot in bots:
        assert bot.score(feats[0]).shape == (4,)


def test_runtime_probe_reads_what_a_page_decodes_at_start_up() -> None:
    import base64
    import json

    from dojo_bench_arena.runtime import decoded_json, decoded_strings, flatten

    secret = base64.b64encode(json.dumps({"broken": {"pause": True}, "speed": 3}).encode()).decode()
    doc = (
        f'<html><body><script type="text/plain" id="cfg">{secret}</script><canvas id="c"></canvas><script>'
        '"use strict";const C=JSON.parse(new TextDecoder().decode(Uint8Array.from(atob('
        'document.getElementById("cfg").textContent),(c)=>c.charCodeAt(0))));'
        'const ctx=document.getElementById("c").getContext("2d");ctx.fillRect(0,0,C.speed,1);'
        "requestAnimationFrame(function loop(){ctx.clearRect(0,0,1,1);requestAnimationFrame(loop);});"
        "</script></body></html>"
    )
    found = decoded_json(decoded_strings(doc))
    assert found and "broken.pause=true" in flatten(found[0])
    assert decoded_strings("<html><body><script>while (true) {}</script></body></html>") == []  # stopped, not hung
