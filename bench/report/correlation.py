"""Rank correlation between a quality metric and a generator's downstream gain, with a bootstrap interval
over the points: does image quality predict usefulness?

A point is one (generator, product): its quality metric and its Δ mIoU against the real-only baseline.
Spearman's rho and Kendall's tau-b measure whether better-scoring generators gain more, without assuming
the relation is linear. The interval is the percentile bootstrap over points (Efron & Tibshirani 1993,
ch. 13): resample the points with replacement, recompute the coefficient, take the alpha/2 and
1 - alpha/2 quantiles. Resamples in which either variable is constant have no coefficient and are left
out (their number is returned). With a dozen points the interval is wide; it says how little a handful of
generators can tell, which is the honest answer.

Vectorised along the first axis of the resample index, so the bootstrap is one array computation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

ALPHA = 0.05
BOOTSTRAP = 2000


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``a`` with the same row of ``b``; NaN where a row is constant."""
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (a * b).sum(axis=-1) / denominator, np.nan)


def spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho along the last axis: the Pearson correlation of average ranks (ties share a rank)."""
    return _pearson_rows(rankdata(x, axis=-1), rankdata(y, axis=-1))


def kendall(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall's tau-b along the last axis: (concordant - discordant) pairs over the geometric mean of the
    pairs untied in x and the pairs untied in y."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    sx = np.sign(x[..., :, None] - x[..., None, :])
    sy = np.sign(y[..., :, None] - y[..., None, :])
    upper = np.triu(np.ones(x.shape[-1:] * 2, bool), 1)
    s = (sx * sy)[..., upper].sum(axis=-1)
    untied = np.sqrt((sx != 0)[..., upper].sum(axis=-1) * (sy != 0)[..., upper].sum(axis=-1).astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(untied > 0, s / untied, np.nan)


COEFFICIENTS = {"Spearman": spearman, "Kendall": kendall}


@dataclass(frozen=True)
class Correlation:
    coefficient: str  # Spearman or Kendall
    n: int  # points
    estimate: float
    low: float  # percentile bootstrap interval
    high: float
    dropped: int  # resamples with a constant variable, left out of the interval


def correlate(x, y, coefficient: str, seed: int = 0, resamples: int = BOOTSTRAP, alpha: float = ALPHA) -> Correlation:
    """The coefficient over the points where both values are finite, with its bootstrap interval (NaN
    below 3 points)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    n = len(x)
    function = COEFFICIENTS[coefficient]
    if n < 3:
        return Correlation(coefficient, n, float("nan"), float("nan"), float("nan"), 0)
    estimate = float(function(x, y))
    index = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    values = function(x[index], y[index])
    finite = values[np.isfinite(values)]
    if not len(finite):
        return Correlation(coefficient, n, estimate, float("nan"), float("nan"), resamples)
    low, high = np.quantile(finite, [alpha / 2, 1 - alpha / 2])
    return Correlation(coefficient, n, estimate, float(low), float(high), resamples - len(finite))
