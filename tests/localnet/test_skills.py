"""Simulated labellers: each skill gives the signal it claims, and crews rank as designed."""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pytest
from scipy.stats import spearmanr

from dojo.chain.base import Metagraph, Neuron
from dojo.localnet.crews import Crew
from dojo.localnet.network import LocalnetConfig, MinerResult, ranked_as_expected
from dojo.localnet.skills import Skill, parse_crew, score_completions, score_ranking, true_score
from dojo.protocol import RankingCriterion, ScoreCriterion
from dojo.validator.scorer import score_stored_round
from dojo.validator.store.records import LabelRow, RoundForScoring, ScoredAssignment, TaskForScoring
from dojo.validator.weights import compute_weights

RANKS = {"a": 0, "b": 1, "c": 2, "d": 3}
SCORE = ScoreCriterion(min=1, max=10)
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


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


@pytest.mark.parametrize(("lo", "hi"), [(1, 10), (0, 5), (1, 100)])
def test_true_score_is_the_criteria_normalisation_inverted(lo: int, hi: int) -> None:
    """A perfect labeller's score for a rank sits where the ranking's normalisation puts that rank."""
    scale = ScoreCriterion(min=lo, max=hi)
    for n in range(1, 9):
        for rank in range(n):
            assert scale.unit(true_score(rank, n, lo, hi), n) == pytest.approx(RankingCriterion().unit(rank, n))


def test_parse_crew_is_clear_about_bad_names() -> None:
    assert parse_crew("careful, Noisy") == [Skill.careful, Skill.noisy]
    with pytest.raises(ValueError, match="unknown labeller skill 'sloppy'"):
        parse_crew("careful,sloppy")


def _simulate(seed: int, crews: list[Crew], rounds: int, tasks: int, external: int, n: int = 4) -> list[float]:
    """The local network's labelling and the validator's scoring, in process: weights per miner.

    As in the real network each miner gets its own synthetic tasks, except the first ``external``
    tasks of the first round: external tasks, shared by every miner, scored by consensus."""
    rng = random.Random(seed)
    miners = [(i + 1, f"hk{i}") for i in range(len(crews))]
    running: Any = {}
    aid = 0
    for r in range(rounds):
        records: dict[str, TaskForScoring] = {}
        assignments = []
        for t in range(tasks):
            shared = r == 0 and t < external
            for (uid, hotkey), crew in zip(miners, crews, strict=True):
                tid = f"r{r}t{t}" if shared else f"r{r}t{t}-{hotkey}"
                if tid not in records:
                    order = list(range(n))
                    rng.shuffle(order)
                    truth = {f"{tid}-c{c}": order[c] for c in range(n)}
                    records[tid] = TaskForScoring(
                        tid, "collected", "external" if shared else "synthetic", SCORE, list(truth), truth, None
                    )
                truth = records[tid].ground_truth or {}
                aid += 1
                rows = [
                    LabelRow(f"{hotkey}-{j}", cid, float(v), NOW)
                    for j, skill in enumerate(crew.skills)
                    for cid, v in score_completions(skill, truth, rng).items()
                ]
                assignments.append(ScoredAssignment(aid, tid, uid, hotkey, "collected", None, rows))
        tasks_out = [
            dataclasses.replace(x, ground_truth=None, external_id=x.id) if x.source == "external" else x
            for x in records.values()
        ]
        running = score_stored_round(RoundForScoring(r + 1, tasks_out, assignments, running)).running
    meta = Metagraph(1, 0, tuple(Neuron(uid, hk, "c", 0.0, False) for uid, hk in miners))
    weights = compute_weights(running, meta, 1.0)
    return [weights.get(uid, 0.0) for uid, _ in miners]


def test_weights_rank_crews_over_ten_seeds() -> None:
    """Over 10 seeds the default crews (best, middling, bad) are ranked as the local network checks it at
    least 9 times, with the local network's default rounds, tasks and external task."""
    cfg = LocalnetConfig()
    crews = cfg.all_crews()
    assert crews[0].quality > crews[1].quality > crews[2].quality  # type: ignore[operator]
    correct = 0
    for seed in range(10):
        w = _simulate(seed, crews, cfg.rounds, cfg.tasks_per_round, cfg.external_tasks)
        rows = [
            MinerResult(f"miner{i}", f"hk{i}", i + 1, crew, None, None, w[i], 0.0, 0, False)
            for i, crew in enumerate(crews)
        ]
        correct += ranked_as_expected(rows)
    assert correct >= 9, f"weights ranked the crews correctly only {correct}/10 times"
