"""Statistics over seeds: paired differences, their t-interval, Holm's correction, the power of each
comparison, group-sequential looks and the four verdicts.

A setting and its real-only baseline share seeds (the split is fixed; the seed sets the segmenter's
initialisation, its batches and the generator's draws), so a comparison is the mean of per-seed
differences, with a Student-t interval on them. A leaderboard makes many comparisons; Holm's step-down
correction keeps the chance of any wrong win or loss among them at or below alpha, whatever their
dependence (they share baselines). Each comparison also gets the interval at the level of Holm's first
step (alpha / m, Bonferroni: all m intervals hold at once with probability 1 - alpha), its minimum
detectable effect at that level, and a verdict: win, loss, equivalent (that interval inside +/- a
margin) or inconclusive. A build that adds seeds until comparisons are decided (``bench leaderboard
--until-decided``) is a group-sequential design: each look is tested at the nominal level that Lan and
DeMets' alpha-spending gives it, and a comparison's p-value is its repeated p-value over its looks, which
Holm then corrects as before. Fewer than ``MIN_SEEDS`` paired seeds give no verdict. docs/metrics.md
states the guarantees and how the tests check them.

Functions work on NumPy arrays along their last axis, so the tests can simulate thousands of
leaderboards with the same code the report runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy import special, stats

ALPHA = 0.05  # two-sided: a 95 % interval, a 2.5 % false-win rate per comparison under the null
MIN_SEEDS = 3
CORRECTION = "Holm"
POWER = 0.8  # the power at which a comparison's minimum detectable effect is stated
MARGIN = 0.01  # equivalence margin: one point of a metric in [0, 1]
VERDICTS = ("win", "equivalent", "inconclusive", "loss")  # in the order the leaderboard counts them


def paired_t(diffs: np.ndarray, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean of paired differences (last axis), its two-sided ``1 - alpha`` t-interval and p-value.

    Differences that are all zero give p = 1 (nothing differs); all equal but non-zero, p = 0."""
    d = np.asarray(diffs, dtype=float)
    n = d.shape[-1]
    mean = d.mean(axis=-1)
    if n < 2:
        nan = np.full_like(mean, np.nan)
        return mean, nan, nan.copy(), nan.copy()
    sd = d.std(axis=-1, ddof=1)
    low, high = t_interval(mean, sd, n, alpha)
    return mean, low, high, t_test(mean, sd, n)


def t_test(mean, sd, n) -> np.ndarray:
    """Two-sided p-value of the one-sample t-test of mean 0 from the mean, sample sd and count of differences."""
    mean, sd, n = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (mean, sd, n)))
    with np.errstate(divide="ignore", invalid="ignore"):
        se = sd / np.sqrt(n)
        t = np.abs(mean) / se
        p = np.where(se > 0, 2 * stats.t.sf(t, n - 1), np.where(mean == 0, 1.0, 0.0))
    return np.where(n >= 2, p, np.nan)


def t_interval(mean, sd, n, level) -> tuple[np.ndarray, np.ndarray]:
    """The two-sided ``1 - level`` Student-t interval of a mean of ``n`` differences with sample sd ``sd``."""
    mean, sd, n, level = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (mean, sd, n, level)))
    with np.errstate(invalid="ignore", divide="ignore"):
        half = stats.t.isf(level / 2, n - 1) * sd / np.sqrt(n)
    half = np.where(n >= 2, half, np.nan)
    return mean - half, mean + half


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


# --- power ------------------------------------------------------------------------------------------


def power(effect, sd, n, level) -> np.ndarray:
    """Power of the two-sided paired t-test at ``level`` with ``n`` pairs against a true mean difference
    ``effect`` whose per-seed differences have standard deviation ``sd`` (noncentral t)."""
    effect, sd, n, level = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (effect, sd, n, level)))
    df = n - 1
    critical = stats.t.isf(level / 2, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        nc = np.where(sd > 0, effect * np.sqrt(n) / sd, np.inf)
    return _two_sided_power(critical, df, nc)


def _two_sided_power(critical, df, nc):
    """P(|T| > critical) for T noncentral t; scipy's lower tail is NaN far out, where it is 0."""
    return stats.nct.sf(critical, df, nc) + np.nan_to_num(stats.nct.cdf(-critical, df, nc))


def mde(sd, n, level, target: float = POWER) -> np.ndarray:
    """The minimum detectable effect: the smallest true mean difference that the two-sided paired t-test
    at ``level`` with ``n`` pairs detects with probability ``target``, for differences of spread ``sd``.
    Solved for the noncentrality by bisection, elementwise; NaN below two pairs, 0 when ``sd`` is 0."""
    sd, n, level = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (sd, n, level)))
    ok = (n >= 2) & np.isfinite(sd) & np.isfinite(level) & (level > 0)
    df, lv = np.where(ok, n - 1, 1.0), np.where(ok, level, 0.05)

    def reached(nc):
        return _two_sided_power(stats.t.isf(lv / 2, df), df, nc) >= target

    low, high = np.zeros_like(df), stats.t.isf(lv / 2, df) + 10.0
    while not reached(high).all():
        high = np.where(reached(high), high, 2 * high)
    for _ in range(60):
        middle = (low + high) / 2
        up = reached(middle)
        low, high = np.where(up, low, middle), np.where(up, middle, high)
    return np.where(ok, high * sd / np.sqrt(np.where(ok, n, 1.0)), np.nan)


# --- group-sequential looks ---------------------------------------------------------------------------


def obrien_fleming(t, alpha):
    """Lan-DeMets O'Brien-Fleming-type spending, two-sided: 2 - 2 Phi(z_{1-alpha/2} / sqrt(t))."""
    t, alpha = np.broadcast_arrays(np.asarray(t, float), np.asarray(alpha, float))
    with np.errstate(divide="ignore"):
        return np.where(t > 0, 2 * special.ndtr(-special.ndtri(1 - alpha / 2) / np.sqrt(np.maximum(t, 1e-300))), 0.0)


# How much of a level a design has spent by information fraction t (t = seeds so far / the cap). O'Brien-Fleming-
# type spends almost nothing at the first looks, so a design that stops at its cap loses little power against a
# fixed design of the cap's size (docs/metrics.md).
SPENDING: dict[str, Callable] = {"obrien-fleming": obrien_fleming}
DEFAULT_SPENDING = "obrien-fleming"
_NODES = 161  # Simpson nodes of the recursive integration (odd)
_WIDTH = 10.0  # the continuation region is cut at 10 standard deviations where a look spends nothing
_CHUNK = 32  # levels integrated at once
_ROOT_STEPS = 12  # of the interval's root finding: to the last bits of a double on the tests' cases


def _simpson(count: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(-1.0, 1.0, count)
    w = np.ones(count)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    return x, w * (x[1] - x[0]) / 3


def boundaries(fractions: Sequence[float], alpha, spending: str = DEFAULT_SPENDING) -> np.ndarray:
    """Two-sided critical values c_k of |Z_k| at looks with information fractions ``fractions`` (increasing,
    the last at most 1) such that, under the null, the chance of first crossing at look k is what the
    spending function adds there (Lan & DeMets 1983). ``alpha`` a scalar or an array (G,): returns (G, K).

    The joint law is the canonical one of Jennison & Turnbull (2000, ch. 3): Z_k sqrt(t_k) is Brownian
    motion at time t_k. The chance of crossing is integrated numerically over the density of continuing
    paths, look by look (ch. 19), and each c_k found by bisection; a look that spends nothing has c = inf."""
    t = np.minimum(np.asarray(fractions, float), 1.0)
    if t.ndim != 1 or not len(t) or (np.diff(t) < 0).any() or t[0] <= 0:
        raise ValueError(f"information fractions must be positive and non-decreasing, got {list(t)}")
    a = np.atleast_1d(np.asarray(alpha, float))
    if len(a) > _CHUNK:  # the integration holds G x N x N numbers: a few levels at a time
        return np.concatenate([boundaries(t, a[i:i + _CHUNK], spending) for i in range(0, len(a), _CHUNK)])
    spent = SPENDING[spending](t[None, :], a[:, None])
    increments = np.maximum(np.diff(spent, axis=-1, prepend=0.0), 0.0)
    c = np.empty((len(a), len(t)))
    with np.errstate(divide="ignore"):
        c[:, 0] = np.where(increments[:, 0] > 0, -special.ndtri(np.minimum(increments[:, 0], 1.0) / 2), np.inf)
    x, wx = _simpson(_NODES)
    edge = np.minimum(c[:, 0], _WIDTH) * np.sqrt(t[0])
    u = edge[:, None] * x  # G x N nodes of the score S_1 = Z_1 sqrt(t_1) where it continues
    mass = edge[:, None] * wx * np.exp(-u**2 / (2 * t[0])) / np.sqrt(2 * np.pi * t[0])  # weight x density per node
    for k in range(1, len(t)):
        step = np.sqrt(max(t[k] - t[k - 1], 1e-12))
        root = np.sqrt(t[k])

        def crossing(ck):
            b = (ck * root)[:, None]
            return (mass * (special.ndtr((-b - u) / step) + special.ndtr((u - b) / step))).sum(axis=-1)

        low, high = np.zeros(len(a)), np.full(len(a), 40.0)
        for _ in range(60):
            middle = (low + high) / 2
            over = crossing(middle) > increments[:, k]
            low, high = np.where(over, middle, low), np.where(over, high, middle)
        c[:, k] = np.where(increments[:, k] > 0, high, np.inf)
        edge = np.minimum(c[:, k], _WIDTH) * root
        new = edge[:, None] * x
        density = (mass[:, None, :] * np.exp(-((new[:, :, None] - u[:, None, :]) ** 2) / (2 * step**2))).sum(axis=-1)
        mass, u = edge[:, None] * wx * density / (np.sqrt(2 * np.pi) * step), new
    return c


def nominal_levels(fractions: Sequence[float], alpha, spending: str = DEFAULT_SPENDING) -> np.ndarray:
    """The two-sided nominal significance level of each look (``2 (1 - Phi(c_k))``): a look's t-test p-value
    below it crosses the boundary. (G, K) for an array ``alpha``, (K,) for a scalar."""
    levels = 2 * special.ndtr(-boundaries(fractions, alpha, spending))
    return levels if np.ndim(alpha) else levels[0]


_GRID = np.logspace(-12, 0, 241)  # the levels at which repeated p-values are tabulated


@lru_cache(maxsize=256)
def _level_table(fractions: tuple[float, ...], spending: str) -> np.ndarray:
    """log nominal levels (G x K) at every level of ``_GRID``, made non-decreasing in the level."""
    levels = np.maximum.accumulate(nominal_levels(fractions, _GRID, spending), axis=0)
    return np.log(np.maximum(levels, 1e-300))


def repeated_p(p_looks: np.ndarray, fractions: Sequence[float], spending: str = DEFAULT_SPENDING) -> np.ndarray:
    """A comparison's p-value over its looks: the smallest level at which the group-sequential test would have
    crossed a boundary at one of them (the repeated p-value, Jennison & Turnbull 2000, ch. 9). ``p_looks``
    (..., K): each look's two-sided t-test p-value, NaN for a look not taken. It is a valid p-value however
    the looks were stopped, so Holm applies to it as to a fixed-sample one. One look at fraction 1 gives its
    own p-value; otherwise the levels are inverted by log-linear interpolation of a table (relative error
    below 1e-3, checked in the tests)."""
    p = np.asarray(p_looks, dtype=float)
    fractions = tuple(float(min(f, 1.0)) for f in fractions)
    if fractions == (1.0,):
        return p[..., 0]
    table = _level_table(fractions, spending)
    logs = np.log(_GRID)
    smallest = np.full(p.shape[:-1], np.inf)
    for k in range(len(fractions)):
        found = np.exp(np.interp(np.log(np.maximum(np.nan_to_num(p[..., k], nan=1.0), 1e-300)), table[:, k], logs))
        smallest = np.minimum(smallest, np.where(np.isnan(p[..., k]), np.inf, found))
    return np.where(np.isinf(smallest), np.nan, smallest)


def stage_z(diffs: np.ndarray, null=0.0) -> np.ndarray:
    """The z-score of one stage's differences (last axis): the one-sided t-test of mean ``null`` on that stage
    alone, through its exact p-value, Phi^{-1}(F_t(t)). Under the null it is exactly standard normal for any
    number of seeds from two on, and stages of disjoint seeds are independent; NaN below two seeds."""
    d = np.asarray(diffs, dtype=float)
    n = d.shape[-1]
    if n < 2:
        return np.full(np.broadcast_shapes(d.shape[:-1], np.shape(null)), np.nan)
    return _z(d.mean(axis=-1) - null, d.std(axis=-1, ddof=1) / np.sqrt(n), n - 1)


def _z(excess, se, df):
    """Phi^{-1}(F_t(excess / se; df)), from whichever tail keeps its precision."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = excess / se
    return np.where(t > 0, -special.ndtri(special.stdtr(df, -t)), special.ndtri(special.stdtr(df, t)))


def combined_z(z: np.ndarray, fractions: Sequence[float]) -> np.ndarray:
    """The inverse-normal combination of stage z-scores (..., K) at each look: Z_k = sum_j w_j z_j / sqrt(t_k)
    with the planned weights w_j^2 = t_j - t_{j-1} (Lehmacher & Wassmer 1999). With independent standard normal
    stages, Z_k sqrt(t_k) is Brownian motion at the planned information times: exactly the law the spending
    boundaries are computed for. A stage without a score (too few seeds) counts 0, which can only cross less."""
    t = np.asarray(fractions, float)
    weights = np.sqrt(np.diff(t, prepend=0.0))
    return np.cumsum(np.nan_to_num(np.asarray(z, float)) * weights, axis=-1) / np.sqrt(t)


def combination_p(stages: Sequence[np.ndarray], fractions: Sequence[float]) -> np.ndarray:
    """Each look's two-sided p-value 2 Phi(-|Z_k|) of the combined stages (a list of (..., n_j) difference arrays)."""
    z = np.stack([stage_z(stage) for stage in stages], axis=-1)
    return 2 * special.ndtr(-np.abs(combined_z(z, fractions)))


def combination_interval(stages: Sequence[np.ndarray], fractions: Sequence[float], level) -> tuple[np.ndarray, np.ndarray]:
    """The repeated confidence interval at the last look (elementwise over the leading axes): every true
    difference that the combined test of the stages does not reject at two-sided ``level`` (Jennison & Turnbull
    2000, ch. 9). One stage at fraction 1 gives the t-interval. Found by bisection: Z_K falls as the difference
    it is tested against grows."""
    every = np.sqrt(np.diff(np.asarray(fractions, float), prepend=0.0))
    kept = [(w, np.asarray(s, float)) for w, s in zip(every, stages) if np.shape(s)[-1] >= 2]  # fewer seeds count 0 (``combined_z``)
    weights, stages = [w for w, _ in kept], [s for _, s in kept]
    critical = special.ndtri(1 - np.asarray(level, float) / 2)
    means = [s.mean(axis=-1) for s in stages]
    ses = [s.std(axis=-1, ddof=1) / np.sqrt(s.shape[-1]) for s in stages]
    spread = np.where(np.max(ses, axis=0) > 0, np.max(ses, axis=0), 1e-9)
    centre = np.mean(means, axis=0)

    def excess(null, target):  # Z_K of the stages tested against ``null``, less the target: falls as null grows
        z = sum(w * _z(m - null, se, s.shape[-1] - 1) for w, m, se, s in zip(weights, means, ses, stages))
        return z / np.sqrt(fractions[-1]) - target

    bounds = []
    for target in (critical, -critical):  # the low end: Z_K = c; the high end: Z_K = -c
        step = spread * (np.abs(critical) + 1)
        a, b = centre - step, centre + step  # widened until excess(a) > 0 > excess(b)
        fa, fb = excess(a, target), excess(b, target)
        for _ in range(60):
            short = (fa <= 0) | (fb >= 0)
            if not short.any():
                break
            step = 2 * step
            a, b = np.where(fa <= 0, a - step, a), np.where(fb >= 0, b + step, b)
            fa, fb = excess(a, target), excess(b, target)
        for _ in range(_ROOT_STEPS):  # regula falsi, Anderson-Bjorck variant: the kept end's value shrinks when it repeats
            with np.errstate(divide="ignore", invalid="ignore"):  # infinite scores (no spread): halve the bracket
                c = np.clip(b - fb * (b - a) / (fb - fa), np.minimum(a, b), np.maximum(a, b))
            c = np.where(np.isfinite(c), c, (a + b) / 2)
            fc = excess(c, target)
            left = fc > 0  # the root lies right of c: a moves, b is kept
            with np.errstate(divide="ignore", invalid="ignore"):
                shrink_b, shrink_a = 1 - fc / fa, 1 - fc / fb
            shrink_b = np.where(np.isfinite(shrink_b) & (shrink_b > 0), shrink_b, 0.5)
            shrink_a = np.where(np.isfinite(shrink_a) & (shrink_a > 0), shrink_a, 0.5)
            fa, fb = np.where(left, fc, fa * shrink_a), np.where(left, fb * shrink_b, fc)
            a, b = np.where(left, c, a), np.where(left, b, c)
        bounds.append(np.where(np.abs(fa) < np.abs(fb), a, b))
    return bounds[0], bounds[1]


@dataclass(frozen=True)
class Design:
    """A group-sequential build: the seeds each look adds (the first look's are the grid's), the cap on seeds
    per comparison (the sum of the looks), the spending function. A comparison's stages are the seeds each look
    added to it; its looks run to the last that added any."""

    looks: tuple[tuple[int, ...], ...]
    max_seeds: int
    spending: str = DEFAULT_SPENDING

    @property
    def fractions(self) -> tuple[float, ...]:
        """The planned information fraction of each look: its seeds so far over the cap."""
        sizes = np.cumsum([len(look) for look in self.looks])
        return tuple(float(min(n / self.max_seeds, 1.0)) for n in sizes)

    def stages_of(self, seeds: Sequence[int]) -> list[list[int]]:
        """The paired ``seeds`` of a comparison by the look that added them, up to its last look."""
        have = set(seeds)
        stages = [sorted(have & set(look)) for look in self.looks]
        while stages and not stages[-1]:
            stages.pop()
        return stages

    @property
    def seeds(self) -> frozenset[int]:
        return frozenset(s for look in self.looks for s in look)


def faced_level(fractions: Sequence[float], m: int, alpha: float = ALPHA, spending: str = DEFAULT_SPENDING) -> float:
    """The two-sided level a comparison faces at its last look under Holm's first step, alpha / m: alpha / m
    itself for one look at fraction 1 (a fixed design), the spending's nominal level at the last look otherwise."""
    fractions = tuple(float(min(f, 1.0)) for f in fractions)
    if fractions == (1.0,):
        return alpha / m
    return float(nominal_levels(fractions, alpha / m, spending)[-1])


# --- verdicts ---------------------------------------------------------------------------------------


def not_enough(k: int) -> str:
    return f"n/a ({k} seed{'s' if k != 1 else ''}; {MIN_SEEDS} needed)"


def decide(n, delta, p_adjusted, low, high, margin: float = MARGIN, alpha: float = ALPHA) -> np.ndarray:
    """The verdict of each comparison: win or loss when its corrected p-value is below ``alpha``; equivalent
    when its corrected interval [low, high] lies inside +/- ``margin``; inconclusive otherwise; no verdict
    from fewer than ``MIN_SEEDS`` seeds."""
    n, delta, p, low, high = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (n, delta, p_adjusted, low, high)))
    significant = p < alpha
    out = np.select([significant & (delta > 0), significant & (delta < 0), (low > -margin) & (high < margin)],
                    ["win", "loss", "equivalent"], "inconclusive").astype(object)
    short = (n < MIN_SEEDS) | np.isnan(p)
    out[short] = [not_enough(int(k)) for k in n[short]]
    return out


def decided(verdicts) -> np.ndarray:
    """Whether more seeds could still change a verdict: win, loss and equivalent are decided."""
    return np.isin(np.asarray(verdicts, dtype=object), ["win", "loss", "equivalent"])


@dataclass(frozen=True)
class Comparison:
    """A setting against its baseline over the seeds both have (under a design: those of its looks)."""

    seeds: tuple[int, ...]  # paired seeds
    unpaired: tuple[int, ...]  # seeds only one side has (or outside the design): reported, not used
    baseline: float  # mean over the paired seeds
    value: float
    delta: float
    ci_low: float  # the plain 1 - alpha t-interval over all paired seeds
    ci_high: float
    p: float  # two-sided paired t-test over all paired seeds; NaN below MIN_SEEDS
    sd: float = np.nan  # sample sd of the per-seed differences
    looks: tuple[int, ...] = ()  # paired seeds after each look (one entry for a fixed design)
    fractions: tuple[float, ...] = ()  # planned information fraction of each look (1 for a fixed design)
    p_sequential: float = np.nan  # the repeated p-value over the looks (= p for a fixed design)
    spending: str = ""  # the design's spending function; empty for a fixed design
    cap: int = 0  # the design's seeds per comparison at most; 0 for a fixed design
    stages: tuple[tuple[float, ...], ...] = ()  # the per-seed differences each look added (a sequential design)

    @property
    def n(self) -> int:
        return len(self.seeds)


def compare(values: Mapping[int, float], baseline: Mapping[int, float], alpha: float = ALPHA,
            design: Design | None = None) -> Comparison:
    """Pair by seed; seeds with a NaN metric on either side count as unpaired. Under a sequential ``design``,
    only the seeds of its looks count; the t-tests of the seeds each look added, combined look by look, give the
    repeated p-value."""
    ok = {s for s, v in values.items() if not np.isnan(v)}
    ok_base = {s for s, v in baseline.items() if not np.isnan(v)}
    paired = ok & ok_base if design is None else ok & ok_base & design.seeds
    seeds = tuple(sorted(paired))
    unpaired = tuple(sorted((set(values) | set(baseline)) - paired))
    if not seeds:
        return Comparison((), unpaired, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan)
    a = np.array([values[s] for s in seeds])
    b = np.array([baseline[s] for s in seeds])
    delta, lo, hi, p = paired_t(a - b, alpha)
    sd = float(np.std(a - b, ddof=1)) if len(seeds) > 1 else np.nan
    if len(seeds) < MIN_SEEDS:
        return Comparison(seeds, unpaired, float(b.mean()), float(a.mean()), float(delta), np.nan, np.nan, np.nan, sd)
    if design is None:
        return Comparison(seeds, unpaired, float(b.mean()), float(a.mean()), float(delta), float(lo), float(hi), float(p), sd,
                          (len(seeds),), (1.0,), float(p))
    stages = design.stages_of(seeds)
    diffs = [tuple(float(values[s] - baseline[s]) for s in stage) for stage in stages]
    fractions = design.fractions[:len(stages)]
    p_looks = combination_p([np.array(d) for d in diffs], fractions)
    p_looks = np.where(np.cumsum([len(d) for d in diffs]) >= MIN_SEEDS, p_looks, np.nan)  # no look decides on fewer
    p_seq = float(repeated_p(p_looks, fractions, design.spending))
    return Comparison(seeds, unpaired, float(b.mean()), float(a.mean()), float(delta), float(lo), float(hi), float(p), sd,
                      tuple(np.cumsum([len(d) for d in diffs]).tolist()), fractions, p_seq, design.spending, design.max_seeds,
                      tuple(diffs))
