"""Duplicate guard: byte-identical results over several tasks share one reward."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from dojo.scoring import duplicate_groups, duplicate_guard, result_fingerprint, score_round, update_running

C = [str(uuid.UUID(int=i)) for i in range(4)]


def answers(seed: int) -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(seed)
    return {f"0xlab{j}": {c: float(v) for c, v in zip(C, rng.integers(1, 11, 4), strict=True)} for j in range(3)}


def test_fingerprint_is_stable_order_free_and_never_zero() -> None:
    a = answers(1)
    reordered = {k: dict(reversed(list(v.items()))) for k, v in reversed(list(a.items()))}
    assert result_fingerprint(a) == result_fingerprint(reordered)
    assert result_fingerprint([{"x": 1}, {"y": 2}]) == result_fingerprint([{"y": 2}, {"x": 1.0}])
    assert result_fingerprint(a) != result_fingerprint(answers(2))
    assert 0 < result_fingerprint(a) < 2**63
    assert result_fingerprint({}) == 0 and result_fingerprint(None) == 0
    # A known value: the hash must not change between processes or releases.
    assert result_fingerprint({"a": {"b": 1}}) == result_fingerprint({"a": {"b": 1.0}})
    assert isinstance(result_fingerprint(a), int)


def test_identical_results_over_several_tasks_share_one_reward() -> None:
    tasks = 5
    # Miners 0 and 1 resell the same labellers' answers; miner 2 is independent.
    raw = [
        [answers(t) for t in range(tasks)],
        [answers(t) for t in range(tasks)],
        [answers(100 + t) for t in range(tasks)],
    ]
    fp = np.array([[result_fingerprint(r) for r in row] for row in raw], dtype=np.int64)
    truth = np.tile(np.arange(4.0), (tasks, 1))
    values = np.array([[[[r[lab][c] for c in C] for lab in sorted(r)] for r in row] for row in raw], dtype=np.float64)
    scores = score_round(values, truth, np.ones((3, tasks), dtype=bool))
    guarded = duplicate_guard(fp, scores)
    assert guarded[0] == pytest.approx(scores[0] / 2)
    assert guarded[1] == pytest.approx(scores[1] / 2)
    assert guarded[0] + guarded[1] == pytest.approx(scores[0])  # together: one miner's reward
    assert guarded[2] == pytest.approx(scores[2])
    running = update_running(np.zeros(3), guarded)
    assert running[0] == pytest.approx(running[1])
    assert running[0] + running[1] == pytest.approx(update_running(np.zeros(3), scores)[0])


def test_few_coincidences_are_not_punished() -> None:
    fp = np.array([[11, 12, 13, 14], [11, 12, 99, 98], [0, 0, 0, 0]], dtype=np.int64)
    scores = np.array([[0.8, 0.6, 0.4, 0.2], [0.8, 0.6, 0.1, 0.3], [0.0, 0.0, 0.0, np.nan]])
    out = duplicate_guard(fp, scores, min_tasks=3)
    assert np.array_equal(out, scores, equal_nan=True)
    assert len(set(duplicate_groups(fp, min_tasks=3))) == 3


def test_only_the_duplicated_tasks_are_shared_and_groups_are_transitive() -> None:
    fp = np.array(
        [
            [1, 2, 3, 4, 50],
            [1, 2, 3, 4, 60],  # copies miner 0 on four tasks, own answer on the last
            [1, 2, 3, 4, 60],  # a third hotkey of the same crew
            [9, 8, 7, 6, 5],
            [0, 0, 0, 0, 0],  # no results: never grouped
        ],
        dtype=np.int64,
    )
    scores = np.full(fp.shape, 0.9)
    scores[4] = 0.0
    out = duplicate_guard(fp, scores, min_tasks=3)
    assert out[:3, :4] == pytest.approx(np.full((3, 4), 0.3))
    assert out[0, 4] == pytest.approx(0.9)
    assert out[1:3, 4] == pytest.approx([0.45, 0.45])
    assert out[3] == pytest.approx(scores[3])
    assert out[4] == pytest.approx(scores[4])
    labels = duplicate_groups(fp)
    assert labels[0] == labels[1] == labels[2] != labels[3] != labels[4]


def test_shape_mismatch_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="same shape"):
        duplicate_guard(np.zeros((2, 3), dtype=np.int64), np.zeros((2, 4)))
