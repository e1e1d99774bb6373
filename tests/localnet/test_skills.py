"""Simulated labellers: each skill gives the signal it claims, and crews rank as designed."""

from __future__ import annotations

import random

import numpy as np
import pytest
from scipy.stats import spearmanr

from dojo import scoring
from dojo.localnet.network import LocalnetConfig, crew_quality
from dojo.localnet.skills import Skill, parse_crew, score_completions, score_ranking

RANKS = {"a": 0, "b": 1, "c": 2, "d": 3}


def _rho(skill: Skill, n: int = 200) -> float:
    rng = random.Random(1)
    rhos = []
    for _ in range(n):
        s = score_completions(skill, RANKS, rng)
        vec = [s[c] for c in RANKS]
        if len(set(vec)) > 1:
            rhos.append(spearmanr(vec, [-r for r in RANKS.values()]).statistic)
        else:
            rhos.append(0.0)
    return float(np.mean(rhos))


def test_skills_carry_the_signal_they_claim() -> None:
    assert _rho(Skill.careful) > 0.9
    assert 0.2 < _rho(Skill.noisy) < 0.9
    assert abs(_rho(Skill.random)) < 0.2
    assert _rho(Skill.adversarial) == pytest.approx(-1.0)
    assert _rho(Skill.lazy) == 0.0


def test_scores_stay_in_range_and_rankings_are_permutations() -> None:
    rng = random.Random(3)
    for skill in Skill:
        for _ in range(50):
            s = score_completions(skill, RANKS, rng, 1, 10)
            assert set(s) == set(RANKS) and all(1 <= v <= 10 and isinstance(v, int) for v in s.values())
            r = score_ranking(skill, RANKS, rng)
            assert sorted(r.values()) == [0, 1, 2, 3]


def test_parse_crew_is_clear_about_bad_names() -> None:
    assert parse_crew("careful, Noisy") == [Skill.careful, Skill.noisy]
    with pytest.raises(ValueError, match="unknown labeller skill 'sloppy'"):
        parse_crew("careful,sloppy")


def _simulate(seed: int, crews: list[list[Skill]], rounds: int, tasks: int, external: int, n: int = 4) -> np.ndarray:
    """The local network's labelling and scoring, in process: crews label, the engine scores, weights out.

    Like the real network, the first ``external`` tasks of the first round have no ground truth
    and are scored by consensus alone."""
    rng = random.Random(seed)
    m = len(crews)
    running = np.zeros(m)
    for r in range(rounds):
        values = np.full((m, tasks, 3, n), np.nan)
        gt = np.zeros((tasks, n))
        for t in range(tasks):
            order = list(range(n))
            rng.shuffle(order)
            ranks = {str(c): order[c] for c in range(n)}
            gt[t] = order if (r > 0 or t >= external) else np.nan
            for i, crew in enumerate(crews):
                for j, skill in enumerate(crew):
                    s = score_completions(skill, ranks, rng)
                    values[i, t, j] = [s[str(c)] for c in range(n)]
        ts = scoring.score_round(values, gt, np.ones((m, tasks), dtype=bool))
        running = scoring.update_running(running, ts)
    return scoring.to_weights(running, 1.0)


def test_weights_rank_crews_over_ten_seeds() -> None:
    """Over 10 seeds the default crews (best, middling, bad) get weights in that order at least 9 times,
    with the local network's default rounds, tasks and external task."""
    cfg = LocalnetConfig()
    crews = [cfg.crew(i) for i in range(cfg.miners)]
    assert crew_quality(crews[0]) > crew_quality(crews[1]) > crew_quality(crews[2])
    correct = 0
    for seed in range(10):
        w = _simulate(seed, crews, cfg.rounds, cfg.tasks_per_round, cfg.external_tasks)
        correct += int(w[0] > w[1] > w[2])
    assert correct >= 9, f"weights ranked the crews correctly only {correct}/10 times"
