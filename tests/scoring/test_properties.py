"""Property tests: the vectorised engine against straightforward loops on random rounds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr
from scoring_reference import reference_round

from dojo.scoring import duplicate_guard, ranks_to_scores, score_round, spearman_last, to_weights, update_running

SETTINGS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def rounds(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random round: NaN-padded tasks of differing sizes, absent and partial labellers, ties."""
    m = draw(st.integers(1, 7))
    t = draw(st.integers(1, 5))
    lab = draw(st.integers(1, 3))
    c = draw(st.integers(2, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    levels = draw(st.sampled_from([3, 10, 1000]))  # few levels → many ties
    sizes = rng.integers(2, c + 1, size=t)
    gt = np.full((t, c), np.nan)
    values = np.full((m, t, lab, c), np.nan)
    for k in range(t):
        n = sizes[k]
        kind = rng.random()
        if kind < 0.2:
            pass  # external task: no truth
        elif kind < 0.35:
            gt[k, :n] = rng.integers(0, max(n - 1, 1), size=n)  # truth with ties
        else:
            gt[k, :n] = rng.permutation(n)
        values[:, k, :, :n] = rng.integers(1, levels + 1, size=(m, lab, n))
        if rng.random() < 0.3:  # a criterion of rankings, converted
            ranks = np.argsort(rng.random((m, lab, n)), axis=-1).astype(float)
            values[:, k, :, :n] = ranks_to_scores(ranks, n)
    absent = rng.random((m, t, lab)) < 0.25
    values[absent] = np.nan
    partial = rng.random((m, t, lab)) < 0.1  # one value missing: the whole labeller is unusable
    mi, ti, li = np.nonzero(partial)
    values[mi, ti, li, 0] = np.nan
    assigned = rng.random((m, t)) < 0.85
    return values, gt, assigned


@SETTINGS
@given(rounds())
def test_engine_matches_the_reference_loop(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    values, gt, assigned = data
    engine = score_round(values, gt, assigned)
    reference = reference_round(values, gt, assigned)
    np.testing.assert_allclose(engine, reference, rtol=0, atol=1e-9, equal_nan=True)
    scored = ~np.isnan(engine)
    assert ((engine[scored] >= 0) & (engine[scored] <= 1)).all()
    assert np.array_equal(np.isnan(engine) & ~assigned, ~assigned)  # NaN wherever not assigned


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(2, 8), st.sampled_from([2, 4, 100]))
def test_spearman_matches_scipy(seed: int, n: int, levels: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, levels, size=(20, n)).astype(float)
    b = rng.integers(0, levels, size=(20, n)).astype(float)
    pad = rng.integers(0, n - 1, size=20)  # how many trailing slots are padding
    for i, p in enumerate(pad):
        if p:
            a[i, n - p :] = np.nan
            b[i, n - p :] = np.nan
    ours = spearman_last(a, b)
    for i in range(20):
        keep = ~np.isnan(a[i])
        if len(np.unique(a[i, keep])) < 2 or len(np.unique(b[i, keep])) < 2:
            assert np.isnan(ours[i])
        else:
            assert ours[i] == pytest.approx(spearmanr(a[i, keep], b[i, keep]).statistic, abs=1e-12)


@SETTINGS
@given(st.integers(0, 2**32 - 1))
def test_duplicate_guard_matches_a_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m, t, min_tasks = int(rng.integers(1, 9)), int(rng.integers(1, 8)), int(rng.integers(1, 4))
    fp = rng.integers(0, 4, size=(m, t)).astype(np.int64)  # small alphabet: many coincidences
    scores = np.where(rng.random((m, t)) < 0.2, np.nan, rng.random((m, t)))
    out = duplicate_guard(fp, scores, min_tasks=min_tasks)
    # Reference: union-find over pairs sharing >= min_tasks identical non-zero fingerprints.
    parent = list(range(m))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for i in range(m):
        for j in range(i + 1, m):
            if sum(1 for k in range(t) if fp[i, k] != 0 and fp[i, k] == fp[j, k]) >= min_tasks:
                parent[find(i)] = find(j)
    for i in range(m):
        for k in range(t):
            share = sum(1 for j in range(m) if find(j) == find(i) and fp[i, k] != 0 and fp[j, k] == fp[i, k])
            expected = scores[i, k] / share if share > 1 else scores[i, k]
            np.testing.assert_allclose(out[i, k], expected, equal_nan=True)


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.floats(0.01, 1.0))
def test_weights_properties(seed: int, cap: float) -> None:
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 40))
    running = np.where(rng.random(m) < 0.4, 0.0, rng.random(m))
    w = to_weights(running, cap)
    assert w.sum() == pytest.approx(1.0)
    assert (w >= 0).all()
    if m * cap > 1.0:
        assert (w <= cap + 1e-9).all()
        # Uncapped, scored entries keep their relative order.
        free = (w < cap - 1e-9) & (running > 0)
        order = np.argsort(running[free])
        assert (np.diff(w[free][order]) >= -1e-12).all()


@SETTINGS
@given(st.integers(0, 2**32 - 1))
def test_update_running_matches_a_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m, t = int(rng.integers(1, 10)), int(rng.integers(1, 6))
    prev = rng.random(m)
    tasks = np.where(rng.random((m, t)) < 0.5, np.nan, rng.random((m, t)))
    out = update_running(prev, tasks, alpha=0.3, decay=0.05)
    for i in range(m):
        counted = [x for x in tasks[i] if not np.isnan(x)]
        expected = 0.7 * prev[i] + 0.3 * float(np.mean(counted)) if counted else max(prev[i] - 0.05, 0.0)
        assert out[i] == pytest.approx(expected)
