"""Running states (decayed sums), hotkey resets, the lower-confidence-bound weights."""

from __future__ import annotations

import numpy as np
import pytest

from dojo.scoring import (
    LCB_K,
    VAR_FLOOR,
    RunningState,
    lower_bound,
    reliability,
    reset_changed,
    round_means,
    score_round,
    to_weights,
    update_running,
    weights_from_state,
)

NAN = np.nan


def test_sums_decay_every_round_and_add_the_rounds_tasks() -> None:
    prev = RunningState.of([2.0, 2.0, 0.0], [1.0, -1.0, 0.0], [0.6, 0.6, 0.0])
    tasks = np.array([[1.0, 0.5, NAN], [NAN, NAN, NAN], [-0.5, NAN, NAN]])
    out = update_running(prev, tasks, alpha=0.25)
    assert out.n == pytest.approx([0.75 * 2 + 2, 0.75 * 2, 1.0])
    assert out.s1 == pytest.approx([0.75 * 1 + 1.5, 0.75 * -1, -0.5])
    assert out.s2 == pytest.approx([0.75 * 0.6 + 1.25, 0.75 * 0.6, 0.25])


def test_an_idle_miner_keeps_its_mean_and_loses_confidence() -> None:
    state = update_running(RunningState.zeros(1), np.array([[0.9, 0.7, 0.8]]))
    idle = update_running(state, np.full((1, 2), NAN))
    assert idle.mean == pytest.approx(state.mean)
    assert idle.n < state.n
    assert lower_bound(idle)[0] < lower_bound(state)[0]


def test_running_mean_is_signed_and_never_clipped() -> None:
    state = update_running(RunningState.zeros(2), np.array([[-1.0, -0.6, NAN], [0.4, -0.4, 0.0]]))
    assert state.mean == pytest.approx([-0.8, 0.0])
    assert lower_bound(state).tolist() == [0.0, 0.0]


def test_reversed_labelling_earns_nothing() -> None:
    values = np.array([[[[1.0, 2.0, 3.0, 4.0]], [[1.0, 2.0, 3.0, 4.0]]], [[[4.0, 3.0, 2.0, 1.0]]] * 2])
    truth = np.array([[0.0, 1.0, 2.0, 3.0]] * 2)
    state = update_running(RunningState.zeros(2), score_round(values, truth, np.ones((2, 2), dtype=bool)))
    assert state.mean == pytest.approx([-1.0, 1.0])
    assert weights_from_state(state, 1.0).tolist() == pytest.approx([0.0, 1.0])


def test_lower_bound_is_zero_at_or_below_chance() -> None:
    n = np.array([10.0, 10.0, 10.0, 0.0])
    mean = np.array([0.0, -0.3, 0.05, 0.0])
    state = RunningState.of(n, mean * n, (mean**2 + 0.1) * n)
    assert lower_bound(state).tolist() == [0.0, 0.0, 0.0, 0.0]  # 0.05 is within noise of chance


def test_lower_bound_rises_with_the_mean_and_with_the_number_of_tasks() -> None:
    means = np.linspace(0.3, 1.0, 8)
    n = np.full(8, 20.0)
    lb = lower_bound(RunningState.of(n, means * n, means**2 * n + 0.05 * n))
    assert (np.diff(lb) > 0).all()
    counts = np.array([1.0, 3.0, 10.0, 30.0, 100.0])
    by_n = lower_bound(RunningState.of(counts, 0.8 * counts, 0.7 * counts))
    assert (np.diff(by_n) > 0).all()
    assert by_n[-1] == pytest.approx(0.8 - LCB_K * np.sqrt(max(0.7 - 0.64, VAR_FLOOR) / 100))


def test_var_floor_stops_a_lucky_streak_from_looking_certain() -> None:
    lucky = RunningState.of([2.0], [2.0], [2.0])  # two perfect tasks, variance 0
    assert lower_bound(lucky, k=2.0, var_floor=0.1)[0] == pytest.approx(1 - 2 * np.sqrt(0.1 / 2))
    assert lower_bound(lucky, k=2.0, var_floor=0.0)[0] == pytest.approx(1.0)
    steady = RunningState.of([20.0], [19.0], [18.1])  # twenty tasks, mean 0.95
    assert lower_bound(steady, k=2.0, var_floor=0.1)[0] > lower_bound(lucky, k=2.0, var_floor=0.1)[0]


def test_reliable_miners_outearn_erratic_ones_with_the_same_mean() -> None:
    steady = RunningState.of([20.0], [12.0], [20 * (0.36 + 0.01)])  # mean 0.6, sd 0.1
    erratic = RunningState.of([20.0], [12.0], [20 * (0.36 + 0.3)])  # mean 0.6, sd 0.55
    both = RunningState.of(np.r_[steady.n, erratic.n], np.r_[steady.s1, erratic.s1], np.r_[steady.s2, erratic.s2])
    w = weights_from_state(both, 1.0)
    assert w[0] > w[1] > 0


def test_reliability_is_the_lower_bound() -> None:
    state = RunningState.of([10.0, 10.0, 1.0], [9.0, -2.0, 0.5], [8.2, 4.0, 0.25])
    assert reliability(state) == pytest.approx(lower_bound(state))
    assert reliability(state)[1] == 0.0 and reliability(state)[2] == 0.0  # negative; one lucky task


def test_weights_power_sharpens_and_all_zero_is_uniform() -> None:
    state = RunningState.of([20.0, 20.0, 20.0], [19.0, 14.0, 0.0], [18.2, 10.0, 6.0])
    lb = lower_bound(state, k=2.0, var_floor=0.1)
    w1 = weights_from_state(state, 1.0, k=2.0, power=1.0, var_floor=0.1)
    w2 = weights_from_state(state, 1.0, k=2.0, power=2.0, var_floor=0.1)
    assert w1 == pytest.approx(lb / lb.sum())
    assert w2[0] / w2[1] == pytest.approx((w1[0] / w1[1]) ** 2)
    assert w1[2] == w2[2] == 0.0
    nobody = RunningState.of([5.0, 5.0], [0.0, -1.0], [1.0, 1.0])
    assert weights_from_state(nobody, 1.0).tolist() == [0.5, 0.5]  # the chain's convention


def test_round_means_ignore_nan() -> None:
    means = round_means(np.array([[1.0, NAN, 0.0], [NAN, NAN, NAN]]))
    assert means[0] == pytest.approx(0.5)
    assert np.isnan(means[1])


def test_shape_and_alpha_mismatches_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="miners"):
        update_running(RunningState.zeros(3), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="alpha"):
        update_running(RunningState.zeros(2), np.zeros((2, 4)), alpha=0.0)
    with pytest.raises(ValueError, match="same length"):
        RunningState(np.zeros(2), np.zeros(3), np.zeros(2))


def test_uid_whose_hotkey_changes_starts_from_zero() -> None:
    prev = RunningState.of([5.0, 5.0, 5.0], [4.5, 4.0, 3.5], [4.1, 3.3, 2.5])
    out = reset_changed(prev, ["hk-a", "hk-b", "hk-c"], ["hk-a", "hk-NEW", "hk-c", "hk-d"])
    assert out.n.tolist() == [5.0, 0.0, 5.0, 0.0]
    assert out.mean == pytest.approx([0.9, 0.0, 0.7, 0.0])
    # After the reset, the newcomer's record is only its own tasks.
    after = update_running(out, np.array([[1.0], [-1.0], [1.0], [NAN]]))
    assert after.mean[1] == pytest.approx(-1.0)
    assert len(reset_changed(prev, ["a", "b", "c"], ["a"])) == 1
    with pytest.raises(ValueError, match="prev_hotkeys"):
        reset_changed(prev, ["a"], ["a"])


def test_weights_sum_to_one_and_respect_the_clip() -> None:
    running = np.array([0.9, 0.5, 0.1, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    w = to_weights(running, max_weight=0.4)
    assert w.sum() == pytest.approx(1.0)
    assert (w <= 0.4 + 1e-12).all() and (w >= 0).all()
    assert w[:4] == pytest.approx([0.4, 0.4, 0.2 * 2 / 3, 0.2 / 3])  # excess shared by score, twice
    assert (w[4:] == 0).all()
    tight = to_weights(running, max_weight=0.25)
    assert tight[:4] == pytest.approx([0.25] * 4) and tight.sum() == pytest.approx(1.0)
    assert to_weights(np.array([1.0, 3.0]), 0.9) == pytest.approx([0.25, 0.75])


def test_weights_edge_cases() -> None:
    assert to_weights(np.zeros(4), 0.5) == pytest.approx([0.25] * 4)
    assert to_weights(np.array([NAN, -1.0, 2.0, 2.0]), 1.0) == pytest.approx([0, 0, 0.5, 0.5])
    w = to_weights(np.array([1.0, 0.0, 0.0, 0.0]), 0.4)
    assert w == pytest.approx([0.4, 0.2, 0.2, 0.2])
    assert to_weights(np.array([1.0, 0.0, 0.0, 0.0]), 0.2) == pytest.approx([0.25] * 4)
    assert to_weights(np.array([]), 0.5).shape == (0,)
