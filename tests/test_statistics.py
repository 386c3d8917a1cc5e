"""The statistics behind every verdict: the paired t-interval against scipy.stats, Holm against its
definition, and simulations under the null that print the measured false-win rates."""

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


def test_verdicts_need_three_paired_seeds():
    assert stats.verdict(2, 0.5, 0.0) == "n/a (2 seeds; 3 needed)"
    assert stats.verdict(3, 0.5, 0.01) == "win" and stats.verdict(3, -0.5, 0.01) == "loss" and stats.verdict(3, 0.5, 0.2) == "tie"


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
        delta, _, _, p = stats.paired_t(values[0] - baseline[0])
        expected = [stats.verdict(seeds, x, q) for x, q in zip(delta, stats.holm(p))]
        assert d["verdict"].tolist() == expected
        assert d["p"].to_numpy() == pytest.approx(p)
