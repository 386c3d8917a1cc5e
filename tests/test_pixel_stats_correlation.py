"""Weight-free quality distances and the rank correlations of the quality <-> utility table, each against
an independent computation (scipy.stats, a slow obvious loop)."""

import numpy as np
import pytest
from scipy import stats

from bench.metrics.pixel_stats import defect_fractions, edges, grey, ks_statistic, pixel_stats, w1_from_histograms, histogram
from bench.report.correlation import correlate, kendall, spearman


def _sets(seed=0, n=6, size=24):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    masks = (rng.random((n, size, size)) < rng.random((n, 1, 1)) * 0.3).astype(np.uint8) * rng.integers(1, 3, (n, 1, 1)).astype(np.uint8)
    return images, masks


def test_grey_w1_is_scipy_wasserstein_of_the_rounded_levels():
    a, _ = _sets(0)
    b, _ = _sets(1, n=4)
    b = (b // 2).astype(np.uint8)  # darker
    ga, gb = np.clip(np.rint(grey(a)), 0, 255), np.clip(np.rint(grey(b)), 0, 255)
    expected = stats.wasserstein_distance(ga.ravel(), gb.ravel())
    assert w1_from_histograms(histogram(grey(a)), histogram(grey(b))) == pytest.approx(expected, rel=1e-9)
    assert expected > 10


def test_distances_are_zero_for_one_set_and_grow_with_a_shift():
    images, masks = _sets(2)
    same = pixel_stats(images, masks, images, masks)
    assert all(v == pytest.approx(0, abs=1e-12) for v in same.values())
    brighter = np.clip(images.astype(int) + 40, 0, 255).astype(np.uint8)
    shifted = pixel_stats(brighter, masks, images, masks)
    assert shifted["grey_W1"] > 20 and shifted["defect_grey_W1"] > 20
    assert shifted["area_KS"] == 0  # same masks


def test_defect_grey_looks_only_inside_the_masks():
    images, masks = _sets(3)
    outside = images.copy()
    outside[masks == 0] = 0  # change only the background
    result = pixel_stats(outside, masks, images, masks)
    assert result["defect_grey_W1"] == pytest.approx(0, abs=1e-12)
    assert result["grey_W1"] > 0


def test_edges_against_a_slow_sobel():
    g = grey(_sets(4, n=1, size=9)[0])
    padded = np.pad(g[0], 1, mode="reflect")
    kx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)
    slow = np.zeros_like(g[0])
    for r in range(g.shape[1]):
        for c in range(g.shape[2]):
            window = padded[r:r + 3, c:c + 3]
            slow[r, c] = np.hypot((window * kx).sum(), (window * kx.T).sum())
    assert np.allclose(edges(g)[0], slow)


def test_area_ks_is_scipy_ks_2samp():
    _, a = _sets(5, n=9)
    _, b = _sets(6, n=7)
    expected = stats.ks_2samp(defect_fractions(a), defect_fractions(b)).statistic
    assert ks_statistic(defect_fractions(a), defect_fractions(b)) == pytest.approx(expected)
    ignore = a.copy()
    ignore[:, :2] = 255
    assert defect_fractions(ignore)[0] == pytest.approx(((a[0, 2:] > 0).sum()) / a[0, 2:].size)


@pytest.mark.parametrize("seed", range(5))
def test_coefficients_against_scipy_with_ties(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 5, 12).astype(float)  # ties
    y = x + rng.normal(0, 2, 12)
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)
    assert kendall(x, y) == pytest.approx(stats.kendalltau(x, y, variant="b").statistic)
    rows = rng.normal(size=(3, 8)), rng.normal(size=(3, 8))
    assert np.allclose(kendall(*rows), [stats.kendalltau(a, b).statistic for a, b in zip(*rows)])


def test_bootstrap_interval_against_a_slow_loop_and_constant_resamples():
    rng = np.random.default_rng(7)
    x = rng.normal(size=10)
    y = x * 0.5 + rng.normal(size=10)
    got = correlate(x, y, "Spearman", seed=3, resamples=300)
    index = np.random.default_rng(3).integers(0, 10, size=(300, 10))
    slow = []
    for row in index:
        xs, ys = x[row], y[row]
        if np.ptp(xs) > 0 and np.ptp(ys) > 0:
            slow.append(stats.spearmanr(xs, ys).statistic)
    assert got.estimate == pytest.approx(stats.spearmanr(x, y).statistic)
    assert (got.low, got.high) == pytest.approx(tuple(np.quantile(slow, [0.025, 0.975])))
    assert got.dropped == 300 - len(slow)
    assert np.isnan(correlate([1, 2], [3, 4], "Kendall").estimate)
    assert correlate([1, 2, np.nan, 4], [1, 2, 3, np.nan], "Kendall").n == 2
