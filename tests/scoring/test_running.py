"""Running scores, hotkey resets and weights."""

from __future__ import annotations

import numpy as np
import pytest

from dojo.scoring import reset_changed, round_means, to_weights, update_running

NAN = np.nan


def test_ema_folds_the_round_mean_with_alpha() -> None:
    prev = np.array([0.5, 0.5, 0.5])
    tasks = np.array([[1.0, 0.0, NAN], [0.2, NAN, NAN], [0.0, 0.0, 0.0]])
    out = update_running(prev, tasks, alpha=0.3)
    assert out == pytest.approx([0.7 * 0.5 + 0.3 * 0.5, 0.7 * 0.5 + 0.3 * 0.2, 0.7 * 0.5])


def test_idle_miners_decay_but_not_below_zero() -> None:
    prev = np.array([0.5, 0.005, NAN])
    out = update_running(prev, np.full((3, 2), NAN), decay=0.01)
    assert out == pytest.approx([0.49, 0.0, 0.0])


def test_round_means_ignore_nan() -> None:
    means = round_means(np.array([[1.0, NAN, 0.0], [NAN, NAN, NAN]]))
    assert means[0] == pytest.approx(0.5)
    assert np.isnan(means[1])


def test_ema_shape_mismatch_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="miners"):
        update_running(np.zeros(3), np.zeros((2, 4)))


def test_uid_whose_hotkey_changes_starts_from_zero() -> None:
    prev = np.array([0.9, 0.8, 0.7])
    out = reset_changed(prev, ["hk-a", "hk-b", "hk-c"], ["hk-a", "hk-NEW", "hk-c", "hk-d"])
    assert out.tolist() == pytest.approx([0.9, 0.0, 0.7, 0.0])
    # After the reset, the newcomer's EMA starts from zero rather than inheriting 0.8.
    after = update_running(out, np.array([[1.0], [1.0], [1.0], [NAN]]))
    assert after[1] == pytest.approx(0.3)
    assert reset_changed(prev, ["a", "b", "c"], ["a"]).tolist() == [0.9]
    with pytest.raises(ValueError, match="prev_hotkeys"):
        reset_changed(prev, ["a"], ["a"])


def test_weights_sum_to_one_and_respect_the_clip() -> None:
    running = np.array([0.9, 0.5, 0.1, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    w = to_weights(running, max_weight=0.4)
    assert w.sum() == pytest.approx(1.0)
    assert (w <= 0.4 + 1e-12).all() and (w >= 0).all()
    assert w[:4] == pytest.approx([0.4, 0.4, 0.2 * 2 / 3, 0.2 / 3])  # excess shared by score, twice
    assert (w[4:] == 0).all()
    # A tighter cap spreads the excess further, until nothing is over it.
    tight = to_weights(running, max_weight=0.25)
    assert tight[:4] == pytest.approx([0.25] * 4) and tight.sum() == pytest.approx(1.0)
    # No clip needed: plain normalisation.
    assert to_weights(np.array([1.0, 3.0]), 0.9) == pytest.approx([0.25, 0.75])


def test_weights_edge_cases() -> None:
    assert to_weights(np.zeros(4), 0.5) == pytest.approx([0.25] * 4)
    assert to_weights(np.array([NAN, -1.0, 2.0, 2.0]), 1.0) == pytest.approx([0, 0, 0.5, 0.5])
    # Only one scored miner and a cap of 0.4: the excess goes evenly to the others.
    w = to_weights(np.array([1.0, 0.0, 0.0, 0.0]), 0.4)
    assert w == pytest.approx([0.4, 0.2, 0.2, 0.2])
    # Infeasible cap (4 · 0.2 < 1): uniform is the closest.
    assert to_weights(np.array([1.0, 0.0, 0.0, 0.0]), 0.2) == pytest.approx([0.25] * 4)
    assert to_weights(np.array([]), 0.5).shape == (0,)
