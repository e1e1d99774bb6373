"""Property tests: the vectorised engine against straightforward loops on random rounds."""

from __future__ import annotations

from itertools import permutations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr
from scoring_reference import reference_round

from dojo.scoring import (
    RunningState,
    duplicate_guard,
    group_share,
    pair_evidence,
    ranks_to_scores,
    score_round,
    score_round_detail,
    spearman_last,
    to_weights,
    update_running,
)

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
@given(rounds(), st.integers(0, 2**32 - 1), st.integers(1, 3))
def test_engine_matches_the_reference_loop(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], seed: int, min_consensus: int
) -> None:
    values, gt, assigned = data
    rng = np.random.default_rng(seed)
    # vote weights from a small set, with zeros, so that weighted means tie and voters go missing
    reliability = rng.choice([0.0, 0.0, 0.25, 0.5, 1.0], size=values.shape[0])
    detail = score_round_detail(values, gt, assigned, reliability, min_consensus=min_consensus)
    engine = detail.task_scores
    reference = reference_round(values, gt, assigned, reliability, min_consensus=min_consensus)
    np.testing.assert_allclose(engine, reference, rtol=0, atol=1e-9, equal_nan=True)
    scored = ~np.isnan(engine)
    assert ((engine[scored] >= -1) & (engine[scored] <= 1)).all()
    assert np.array_equal(np.isnan(engine) & ~assigned, ~assigned)  # NaN wherever not assigned
    # equal weights (no reliability given) are the reference with every weight 1
    plain = score_round(values, gt, assigned)
    np.testing.assert_allclose(plain, reference_round(values, gt, assigned), rtol=0, atol=1e-9, equal_nan=True)


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
    m, t = int(rng.integers(1, 9)), int(rng.integers(1, 8))
    groups = rng.integers(0, 3, size=m)
    shared = rng.random((m, t)) < 0.6
    scores = np.where(rng.random((m, t)) < 0.2, np.nan, rng.uniform(-1, 1, (m, t)))
    out = duplicate_guard(scores, groups, shared)
    share = group_share(groups, shared)
    for i in range(m):
        for k in range(t):
            n = sum(1 for j in range(m) if groups[j] == groups[i] and shared[j, k]) if shared[i, k] else 1
            assert share[i, k] == max(n, 1)
            expected = scores[i, k] / n if n > 1 and scores[i, k] > 0 else scores[i, k]
            np.testing.assert_allclose(out[i, k], expected, equal_nan=True)


def _pair_reference(values: np.ndarray, assigned: np.ndarray, i: int, j: int) -> tuple[float, float, int]:
    """A, B and shared tasks for one pair, one task at a time (every task external)."""
    a_total = b_total = 0.0
    shared = 0
    for t in range(values.shape[1]):
        valid = np.zeros(values.shape[3], dtype=bool)
        for m in range(values.shape[0]):
            if assigned[m, t]:
                valid |= np.isfinite(values[m, t]).any(axis=0)
        rows = []
        for m in (i, j):
            usable = [r[valid] for r in values[m, t] if assigned[m, t] and valid.any() and np.isfinite(r[valid]).all()]
            if usable:
                x = np.array(usable)
                sd = x.std()
                rows.append((x - x.mean()) / (sd if sd > 1e-9 else 1.0))
        if len(rows) < 2:
            continue
        shared += 1
        zi, zj = rows
        if len(zi) < len(zj):
            zi, zj = zj, zi
        best = None
        for perm in permutations(range(len(zi)), len(zj)):
            pi = zi[list(perm)]
            a = float(((pi - zj) ** 2).sum())
            both = np.concatenate([pi, zj])
            b = float(((both - both.mean(axis=0)) ** 2).sum())
            if best is None or a < best[0] - 1e-9 or (a <= best[0] + 1e-9 and b < best[1]):
                best = (a, b)  # the best fit; among equal fits the one with less evidence
        assert best is not None
        a_total += best[0]
        b_total += best[1]
    return a_total, b_total, shared


@SETTINGS
@given(st.integers(0, 2**32 - 1))
def test_pair_evidence_matches_a_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m, t, lab, c = int(rng.integers(2, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(2, 5))
    values = rng.integers(1, 11, size=(m, t, lab, c)).astype(float)
    values[rng.random((m, t, lab)) < 0.25] = np.nan  # absent labellers
    values[1] = values[0] * 10  # a rescaled copy, so some pairs match exactly
    assigned = rng.random((m, t)) < 0.85
    gt = np.full((t, c), np.nan)
    a, b, shared, _ = pair_evidence(values, gt, assigned, block=2)
    for i in range(m):
        for j in range(m):
            if i == j:
                continue
            ra, rb, rs = _pair_reference(values, assigned, i, j)
            assert shared[i, j] == rs
            assert a[i, j] == pytest.approx(ra, abs=1e-9)
            assert b[i, j] == pytest.approx(rb, abs=1e-9)


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
@given(st.integers(0, 2**32 - 1), st.floats(0.05, 1.0))
def test_update_running_matches_a_loop(seed: int, alpha: float) -> None:
    rng = np.random.default_rng(seed)
    m, rounds = int(rng.integers(1, 10)), int(rng.integers(1, 6))
    state = RunningState.zeros(m)
    history: list[list[tuple[int, float]]] = [[] for _ in range(m)]  # (round, value) per miner
    for r in range(rounds):
        t = int(rng.integers(1, 5))
        tasks = np.where(rng.random((m, t)) < 0.4, np.nan, rng.uniform(-1, 1, (m, t)))
        state = update_running(state, tasks, alpha=alpha)
        for i in range(m):
            history[i].extend((r, float(x)) for x in tasks[i] if not np.isnan(x))
    for i in range(m):
        decay = [(1 - alpha) ** (rounds - 1 - r) for r, _ in history[i]]
        n = sum(decay)
        s1 = sum(d * x for d, (_, x) in zip(decay, history[i], strict=True))
        s2 = sum(d * x * x for d, (_, x) in zip(decay, history[i], strict=True))
        assert state.n[i] == pytest.approx(n) and state.s1[i] == pytest.approx(s1) and state.s2[i] == pytest.approx(s2)
        assert state.mean[i] == pytest.approx(s1 / n if n > 0 else 0.0)
