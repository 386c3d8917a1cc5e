"""Statistics over seeds: paired differences, their t-interval, Holm's correction and the verdicts.

A setting and its real-only baseline share seeds (the split is fixed; the seed sets the segmenter's
initialisation and the generator's draws), so a comparison is the mean of per-seed differences, with a
Student-t interval on them. Under the null (no real difference) and normally distributed differences,
that interval puts its lower end above zero in 2.5 % of comparisons: a "win" is wrong at most that often.
A leaderboard makes many comparisons; Holm's step-down correction keeps the chance of any wrong verdict
among them at or below alpha, whatever their dependence (they share baselines). Fewer than
``MIN_SEEDS`` paired seeds give no verdict at all. docs/metrics.md states the guarantees.

Functions work on NumPy arrays along their last axis, so the tests can simulate thousands of
leaderboards with the same code the report runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
from scipy import stats

ALPHA = 0.05  # two-sided: a 95 % interval, a 2.5 % false-win rate per comparison under the null
MIN_SEEDS = 3
CORRECTION = "Holm"


def paired_t(diffs: np.ndarray, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean of paired differences (last axis), its two-sided ``1 - alpha`` t-interval and p-value.

    Differences that are all zero give p = 1 (nothing differs); all equal but non-zero, p = 0."""
    d = np.asarray(diffs, dtype=float)
    n = d.shape[-1]
    mean = d.mean(axis=-1)
    if n < 2:
        nan = np.full_like(mean, np.nan)
        return mean, nan, nan.copy(), nan.copy()
    se = d.std(axis=-1, ddof=1) / np.sqrt(n)
    half = stats.t.ppf(1 - alpha / 2, n - 1) * se
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(mean) / se
    p = np.where(se > 0, 2 * stats.t.sf(t, n - 1), np.where(mean == 0, 1.0, 0.0))
    return mean, mean - half, mean + half, p


def holm(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values along the last axis; NaN entries (no test) are left out of the family."""
    p = np.asarray(p, dtype=float)
    valid = ~np.isnan(p)
    m = valid.sum(axis=-1, keepdims=True)
    filled = np.where(valid, p, np.inf)
    order = np.argsort(filled, axis=-1, kind="stable")
    ranked = np.take_along_axis(filled, order, axis=-1)
    rank = np.arange(p.shape[-1])
    with np.errstate(invalid="ignore"):
        scaled = np.where(rank < m, (m - rank) * ranked, np.inf)
    adjusted = np.minimum(np.maximum.accumulate(scaled, axis=-1), 1.0)
    out = np.empty_like(adjusted)
    np.put_along_axis(out, order, adjusted, axis=-1)
    return np.where(valid, out, np.nan)


def not_enough(k: int) -> str:
    return f"n/a ({k} seed{'s' if k != 1 else ''}; {MIN_SEEDS} needed)"


def verdict(n: int, delta: float, p: float, alpha: float = ALPHA) -> str:
    """Win or loss when the (corrected) p-value is below alpha, tie otherwise; no verdict from too few seeds."""
    if n < MIN_SEEDS or np.isnan(p):
        return not_enough(n)
    if p >= alpha:
        return "tie"
    return "win" if delta > 0 else "loss"


@dataclass(frozen=True)
class Comparison:
    """A setting against its baseline over the seeds both have."""

    seeds: tuple[int, ...]  # paired seeds
    unpaired: tuple[int, ...]  # seeds only one side has: reported, not used
    baseline: float  # mean over the paired seeds
    value: float
    delta: float
    ci_low: float
    ci_high: float
    p: float  # two-sided paired t-test; NaN below MIN_SEEDS

    @property
    def n(self) -> int:
        return len(self.seeds)


def compare(values: Mapping[int, float], baseline: Mapping[int, float], alpha: float = ALPHA) -> Comparison:
    """Pair by seed; seeds with a NaN metric on either side count as unpaired."""
    ok = {s for s, v in values.items() if not np.isnan(v)}
    ok_base = {s for s, v in baseline.items() if not np.isnan(v)}
    seeds = tuple(sorted(ok & ok_base))
    unpaired = tuple(sorted((set(values) | set(baseline)) - set(seeds)))
    if not seeds:
        return Comparison((), unpaired, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan)
    a = np.array([values[s] for s in seeds])
    b = np.array([baseline[s] for s in seeds])
    delta, lo, hi, p = paired_t(a - b, alpha)
    if len(seeds) < MIN_SEEDS:
        lo = hi = p = np.nan
    return Comparison(seeds, unpaired, float(b.mean()), float(a.mean()), float(delta), float(lo), float(hi), float(p))
