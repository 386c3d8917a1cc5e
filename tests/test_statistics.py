"""The statistics behind every verdict: the paired t-interval against scipy.stats, Holm against its
definition, the minimum detectable effect against the noncentral t and a Monte-Carlo power, equivalence
against two one-sided tests, the alpha-spending boundaries against simulated Brownian motion, and
simulations under the null (fixed and sequential) that print the measured false-win rates."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats as scipy_stats

from bench.report import stats
from bench.report.frames import records_frame
from bench.report.tables import deltas
from tests.helpers.records import run_record


@pytest.mark.parametrize("n", [2, 3, 5, 8])
def test_paired_t_matches_scipy(n):
    rng = np.random.default_rng(n)
    a, b = rng.normal(0.5, 0.05, n), rng.normal(0.48, 0.05, n)
    mean, low, high, p = stats.paired_t(a - b)
    reference = scipy_stats.ttest_rel(a, b)
    assert mean == pytest.approx(np.mean(a - b))
    assert (low, high) == pytest.approx(tuple(reference.confidence_interval()))
    assert p == pytest.approx(reference.pvalue)


def test_paired_t_runs_along_the_last_axis_and_handles_no_spread():
    d = np.array([[0.01, 0.02, 0.03], [0.0, 0.0, 0.0], [0.02, 0.02, 0.02]])
    _, low, high, p = stats.paired_t(d)
    assert p[0] == pytest.approx(scipy_stats.ttest_1samp(d[0], 0).pvalue)
    assert p[1] == 1.0 and low[1] == high[1] == 0.0, "nothing differs: no evidence"
    assert p[2] == 0.0


def slow_holm(p: list[float]) -> list[float]:
    """Holm's step-down adjustment straight from its definition: adj_(i) = max_{j<=i} min(1, (m-j+1) p_(j))."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def test_holm_matches_its_definition_and_leaves_untested_comparisons_out():
    rng = np.random.default_rng(0)
    for m in (1, 2, 5, 20):
        p = rng.uniform(0, 0.2, m)
        assert stats.holm(p) == pytest.approx(slow_holm(list(p)))
    p = np.array([0.01, np.nan, 0.04, 0.03])
    adjusted = stats.holm(p)
    assert np.isnan(adjusted[1]) and adjusted[[0, 2, 3]] == pytest.approx(slow_holm([0.01, 0.04, 0.03]))
    batch = rng.uniform(0, 0.1, (4, 6))
    assert stats.holm(batch) == pytest.approx(np.array([slow_holm(list(row)) for row in batch]))


def test_four_verdicts_and_none_from_fewer_than_three_seeds():
    n, delta, p, low, high = [2, 3, 3, 3, 3, 3], [0.5, 0.5, -0.5, 0.001, 0.004, 0.02], [0.0, 0.01, 0.01, 0.4, 0.01, 0.2], \
        [0, 0.1, -0.9, -0.005, 0.001, -0.03], [1, 0.9, -0.1, 0.008, 0.007, 0.07]
    assert stats.decide(n, delta, p, low, high, margin=0.01).tolist() == [
        "n/a (2 seeds; 3 needed)", "win", "loss", "equivalent", "win", "inconclusive"]  # a significant small gain is a win
    assert stats.decided(["win", "loss", "equivalent", "inconclusive", "n/a (2 seeds; 3 needed)"]).tolist() == [True] * 3 + [False] * 2


def _null_runs(rng, sims: int, settings: int, seeds: int) -> tuple[np.ndarray, np.ndarray]:
    """Baseline (sims x seeds) and settings (sims x settings x seeds) from one distribution: a per-seed
    effect both share (same split and initialisation seed) plus independent run noise."""
    seed_effect = rng.normal(0, 0.03, (sims, 1, seeds))
    baseline = 0.5 + seed_effect[:, 0] + rng.normal(0, 0.01, (sims, seeds))
    values = 0.5 + seed_effect + rng.normal(0, 0.01, (sims, settings, seeds))
    return baseline, values


def _bound(rate: float, nominal: float, sims: int) -> float:
    """The nominal rate plus two-sided 95 % simulation error."""
    return nominal + 1.96 * np.sqrt(nominal * (1 - nominal) / sims)


@pytest.mark.parametrize("seeds", [3, 5])
def test_under_the_null_a_single_comparison_wins_at_most_the_nominal_rate(seeds):
    sims = 40_000
    baseline, values = _null_runs(np.random.default_rng(seeds), sims, 1, seeds)
    _, low, _, _ = stats.paired_t(values[:, 0] - baseline)
    rate = float((low > 0).mean())
    print(f"\nnull, {seeds} paired seeds: single-comparison false-win rate {100 * rate:.2f} % over {sims} simulations "
          f"(nominal {100 * stats.ALPHA / 2:.1f} %)")
    assert rate <= _bound(rate, stats.ALPHA / 2, sims)


@pytest.mark.parametrize("seeds", [3, 5])
def test_under_the_null_a_corrected_leaderboard_of_20_settings_almost_never_shows_a_win(seeds):
    sims, settings = 4_000, 20
    baseline, values = _null_runs(np.random.default_rng(100 + seeds), sims, settings, seeds)
    delta, low, _, p = stats.paired_t(values - baseline[:, None, :])
    corrected = stats.holm(p)
    any_win = ((corrected < stats.ALPHA) & (delta > 0)).any(axis=1).mean()
    any_verdict = (corrected < stats.ALPHA).any(axis=1).mean()
    uncorrected = (low > 0).any(axis=1).mean()
    print(f"\nnull, {settings} settings x {seeds} paired seeds sharing one baseline, {sims} leaderboards: a corrected win in "
          f"{100 * any_win:.2f} %, any corrected win or loss in {100 * any_verdict:.2f} % (nominal {100 * stats.ALPHA:.0f} %); "
          f"without correction a win in {100 * uncorrected:.1f} %")
    assert any_win <= _bound(any_win, stats.ALPHA, sims)
    assert any_verdict <= _bound(any_verdict, stats.ALPHA, sims)


def test_the_report_reaches_the_same_verdicts_as_the_simulated_statistics():
    """The simulation's guarantees hold for the report: on null leaderboards made of records, ``deltas``
    gives exactly the verdicts of the array code above."""
    rng = np.random.default_rng(7)
    seeds, settings = 3, 20
    for _ in range(3):
        baseline, values = _null_runs(rng, 1, settings, seeds)
        records = [run_record(seed=s, miou=float(baseline[0, s])) for s in range(seeds)]
        records += [run_record("copy-paste", 1.0, s, float(values[0, k, s]), params={"max_defects": k + 1})
                    for k, s in itertools.product(range(settings), range(seeds))]
        d = deltas(records_frame(records)).assign(k=lambda f: f["generator"].str.extract(r"max_defects=(\d+)")[0].astype(int) - 1)
        d = d.sort_values("k")
        diffs = values[0] - baseline[0]
        delta, _, _, p = stats.paired_t(diffs)
        level = stats.ALPHA / settings  # Holm's first step
        low, high = stats.t_interval(delta, diffs.std(axis=-1, ddof=1), seeds, level)
        expected = stats.decide(seeds, delta, stats.holm(p), low, high)
        assert d["verdict"].tolist() == expected.tolist()
        assert d["p"].to_numpy() == pytest.approx(p) and d["low"].to_numpy() == pytest.approx(low)


# --- the smallest detectable effect --------------------------------------------------------------------


@pytest.mark.parametrize("sd, n, level", [(0.058, 5, stats.ALPHA / 22), (0.058, 5, stats.ALPHA), (0.03, 10, 0.01), (0.05, 3, 0.05)])
def test_the_mde_is_found_with_80_percent_power(sd, n, level):
    """Against scipy's noncentral t directly, and against simulated t-tests (scipy.stats.ttest_1samp)."""
    effect = float(stats.mde(sd, n, level))
    df, critical = n - 1, scipy_stats.t.isf(level / 2, n - 1)
    nc = effect * np.sqrt(n) / sd
    assert scipy_stats.nct.sf(critical, df, nc) + scipy_stats.nct.cdf(-critical, df, nc) == pytest.approx(stats.POWER, abs=1e-6)
    sims = 40_000
    diffs = np.random.default_rng(n).normal(effect, sd, (sims, n))
    found = float((scipy_stats.ttest_1samp(diffs, 0.0, axis=1).pvalue < level).mean())
    print(f"\nMDE at sd {100 * sd:.1f} points, {n} seeds, level {level:.4g}: {100 * effect:.2f} points; simulated power {100 * found:.1f} %")
    assert abs(found - stats.POWER) < 4 * np.sqrt(stats.POWER * (1 - stats.POWER) / sims)
    assert stats.mde(sd, n, level / 10) > effect and stats.mde(sd, 2 * n, level) < effect  # stricter level, more seeds
    assert np.isnan(stats.mde(sd, 1, level)) and stats.mde(0.0, n, level) == 0.0


def test_equivalence_is_two_one_sided_tests():
    """A corrected interval at level a inside +/- margin is exactly both one-sided t-tests rejecting at a / 2
    (scipy.stats.ttest_1samp, alternative 'greater' against -margin and 'less' against +margin)."""
    rng = np.random.default_rng(3)
    margin, level, seeds = 0.01, stats.ALPHA / 4, 8
    diffs = rng.normal(rng.uniform(-0.012, 0.012, (400, 1)), rng.uniform(0.001, 0.01, (400, 1)), (400, seeds))
    mean, sd = diffs.mean(axis=1), diffs.std(axis=1, ddof=1)
    low, high = stats.t_interval(mean, sd, seeds, level)
    verdict = stats.decide(seeds, mean, np.ones(400), low, high, margin)
    above = scipy_stats.ttest_1samp(diffs, -margin, axis=1, alternative="greater").pvalue < level / 2
    below = scipy_stats.ttest_1samp(diffs, margin, axis=1, alternative="less").pvalue < level / 2
    assert ((verdict == "equivalent") == (above & below)).all()
    assert 20 < (verdict == "equivalent").sum() < 380, "both outcomes occur"


# --- group-sequential looks ------------------------------------------------------------------------------


def test_the_spending_boundaries_spend_what_they_promise():
    """Against Brownian motion simulated at the looks: the chance of first crossing at each look is what the
    O'Brien-Fleming-type function spends there; one look at fraction 1 is the fixed-sample test."""
    fractions = np.array([0.25, 0.5, 0.75, 1.0])
    c = stats.boundaries(fractions, stats.ALPHA)[0]
    sims = 400_000
    paths = np.random.default_rng(0).normal(size=(sims, 4)) * np.sqrt(np.diff(fractions, prepend=0.0))
    crossed = np.abs(paths.cumsum(axis=1) / np.sqrt(fractions)) >= c
    first = np.where(crossed.any(axis=1), crossed.argmax(axis=1), -1)
    simulated = np.array([(first == k).mean() for k in range(4)])
    promised = np.diff(stats.obrien_fleming(fractions, stats.ALPHA), prepend=0.0)
    assert simulated == pytest.approx(promised, abs=4 * np.sqrt(promised.max() / sims))
    assert simulated.sum() == pytest.approx(stats.ALPHA, abs=0.002)
    assert stats.boundaries([1.0], stats.ALPHA)[0, 0] == pytest.approx(scipy_stats.norm.isf(stats.ALPHA / 2))
    levels = stats.nominal_levels(fractions, np.array([0.001, 0.01, 0.05]))
    assert (np.diff(levels, axis=0) > 0).all(), "a larger level lowers every boundary"


def test_the_repeated_p_value_is_the_smallest_level_that_crosses():
    """Against a bisection on the level with the exact boundaries; a fixed design's is its own p-value."""
    fractions = (0.25, 0.5, 0.75, 1.0)
    rng = np.random.default_rng(1)
    p_looks = np.minimum(rng.uniform(0, 0.05, (12, 4)) ** rng.uniform(0.5, 3, (12, 1)), 1)
    p_looks[3, 2:] = np.nan  # stopped after two looks
    found = stats.repeated_p(p_looks, fractions)
    for p, q in zip(p_looks, found):
        low, high = 1e-12, 1.0
        for _ in range(50):
            middle = np.sqrt(low * high)
            crosses = (p < stats.nominal_levels(fractions, middle))[~np.isnan(p)].any()
            low, high = (low, middle) if crosses else (middle, high)
        assert q == pytest.approx(high, rel=1e-3)
    assert stats.repeated_p(np.array([[0.0123]]), (1.0,))[0] == 0.0123


def simulate_build(diffs: np.ndarray, looks: list[int], cap: int, margin: float = stats.MARGIN) -> tuple[np.ndarray, np.ndarray]:
    """The sequential build on simulated families, through the report's statistics: after each look, every
    comparison still open gets the look's combined p-value and repeated confidence interval; all are
    Holm-corrected on their repeated p-values and decided at the level their last look faces, and the decided ones
    stop (``bench.protocols.sequential``). ``diffs``: sims x m x cap per-seed differences, the seeds of each look in
    order. Returns the verdicts and each comparison's seeds."""
    sims, m, _ = diffs.shape
    fractions = tuple(n / cap for n in looks)
    stages = [diffs[..., start:end] for start, end in zip([0, *looks], looks)]
    combined = stats.combination_p(stages, fractions)
    levels = np.array([stats.faced_level(fractions[:k + 1], m) for k in range(len(looks))])
    p_looks = np.full((sims, m, len(looks)), np.nan)
    last = np.zeros((sims, m), int)
    low, high = np.full((sims, m), np.nan), np.full((sims, m), np.nan)
    still = np.ones((sims, m), bool)
    for k, n in enumerate(looks):
        p_looks[..., k] = np.where(still, combined[..., k], np.nan)
        last = np.where(still, k, last)
        low[still], high[still] = stats.combination_interval([s[still] for s in stages[:k + 1]], fractions[:k + 1], levels[k])
        seeds = np.take(np.array(looks), last)
        mean = np.where(np.arange(diffs.shape[-1]) < seeds[..., None], diffs, 0.0).sum(axis=-1) / seeds
        verdicts = stats.decide(seeds, mean, stats.holm(stats.repeated_p(p_looks, fractions)), low, high, margin)
        still = ~stats.decided(verdicts)
        if not still.any():
            break
    return verdicts, seeds


LOOKS, CAP = [5, 10, 15, 20], 20


@pytest.mark.parametrize("settings, sims", [(1, 20_000), (20, 2_000)])
def test_under_the_null_a_sequential_build_wins_at_most_the_nominal_rate(settings, sims):
    baseline, values = _null_runs(np.random.default_rng(200 + settings), sims, settings, CAP)
    verdicts, seeds = simulate_build(values - baseline[:, None, :], LOOKS, CAP)
    win = (verdicts == "win").any(axis=1).mean()
    any_verdict = np.isin(verdicts, ["win", "loss"]).any(axis=1).mean()
    nominal = stats.ALPHA / 2 if settings == 1 else stats.ALPHA
    print(f"\nnull, sequential build (looks at {LOOKS} seeds), {settings} setting(s) sharing one baseline, {sims} builds: a "
          f"corrected win in {100 * win:.2f} % (nominal {100 * nominal:g} %), any win or loss in {100 * any_verdict:.2f} % "
          f"(nominal {100 * stats.ALPHA:g} %); {seeds.mean():.1f} seeds per comparison on average")
    assert win <= _bound(win, nominal, sims)
    assert any_verdict <= _bound(any_verdict, stats.ALPHA, sims)


def test_with_a_real_effect_the_sequential_build_decides_with_fewer_runs_than_the_fixed_design_of_its_power():
    sd, effect, sims = 0.05, 0.025, 20_000  # a difference of half the seed-to-seed spread of differences
    diffs = np.random.default_rng(5).normal(effect, sd, (sims, 1, 40))
    verdicts, seeds = simulate_build(diffs, list(range(5, 41, 5)), 40)
    power = float((verdicts == "win").mean())
    fixed = next(n for n in range(3, 200) if stats.power(effect, sd, n, stats.ALPHA) >= power)  # the fixed design of that power
    d = diffs[..., :fixed]
    fixed_power = float((stats.t_test(d.mean(-1), d.std(-1, ddof=1), fixed) < stats.ALPHA).mean())
    print(f"\neffect {100 * effect:g} points, sd {100 * sd:g}: the sequential build (looks every 5 seeds, cap 40) wins in "
          f"{100 * power:.1f} % with {seeds.mean():.1f} seeds ({2 * seeds.mean():.1f} runs) per comparison on average; the fixed "
          f"design of that power needs {fixed} seeds ({2 * fixed} runs; simulated power {100 * fixed_power:.1f} %)")
    assert power >= stats.POWER and seeds.mean() < fixed


def test_the_report_applies_a_sequential_design_exactly_as_simulated():
    """Records of a sequential build (the runs each look added, its design record) give, through ``deltas``,
    the verdicts and corrected p-values of the array code above, look by look."""
    from bench.report.compare import designs_of
    from bench.records.sequential import sequential_record

    rng = np.random.default_rng(11)
    settings, looks, cap = 6, [3, 6, 9, 12], 12
    effects = np.array([0.0, 0.0, 0.08, -0.05, 0.002, 0.001])
    baseline = 0.5 + rng.normal(0, 0.003, cap)
    values = 0.5 + effects[:, None] + baseline[None, :] - 0.5 + rng.normal(0, 0.003, (settings, cap))
    verdicts, seeds = simulate_build((values - baseline)[None], looks, cap)
    assert {"win", "loss", "equivalent"} <= set(verdicts[0]), "the build decides in several ways"
    records = [run_record(seed=s, miou=float(baseline[s])) for s in range(seeds.max())]
    records += [run_record("copy-paste", 1.0, s, float(values[k, s]), params={"max_defects": k + 1})
                for k in range(settings) for s in range(seeds[0, k])]
    plan = [tuple(range(a, b)) for a, b in zip([0, *looks], looks)]
    taken = [{"look": i + 1, "seeds": list(look), "runs": [r.run_id for r in records if r.spec.seed in look]}
             for i, look in enumerate(plan) if any(r.spec.seed in look for r in records)]
    design = {"spending": stats.DEFAULT_SPENDING, "alpha": stats.ALPHA, "margin": stats.MARGIN, "metric": "mIoU", "max_seeds": cap,
              "seed_batch": 3, "seeds": list(range(cap)), "source": "test"}
    d = deltas(records_frame(records), designs=designs_of([sequential_record(design, taken, "2025-01-01T00:00:00+00:00")]))
    d = d.assign(k=lambda f: f["generator"].str.extract(r"max_defects=(\d+)")[0].astype(int) - 1).sort_values("k")
    assert d["verdict"].tolist() == verdicts[0].tolist() and d["n"].tolist() == seeds[0].tolist()
    assert (d["spending"] == stats.DEFAULT_SPENDING).all() and d["correction"].str.contains("look").all()
    undesigned = deltas(records_frame(records))
    assert not (undesigned["spending"] != "").any(), "without the build's record the same runs are a fixed design"
