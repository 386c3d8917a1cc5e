"""Does image quality predict usefulness? Each quality metric's rank correlation with a generator's Δ
across (generator, product) points, and the board's verdicts said in words.

ASBench (arXiv 2510.07927) posed the question and reported a "weak correlation" without the numbers a
reader could check; here every coefficient comes with its bootstrap interval over points
(``bench.report.correlation``) and its point count, so a dozen points read as what they are.

Metrics are oriented before they are correlated: for a distance (lower is better) the coefficient is
computed on its negative, so for every metric a positive coefficient means "better-scoring generators
gained more". Metrics measured with random-init networks never reach this table: the quality protocol
keeps them apart from its metrics, and only metrics whose network's weights were checked are read
(docs/metrics.md).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from bench.report import stats
from bench.report.correlation import ALPHA, BOOTSTRAP, COEFFICIENTS, correlate
from bench.report.format import percent

# Quality metrics and which direction is better. Distances and memorization: lower; fidelity-style scores
# where higher is better: higher. A metric not listed here is not correlated (its direction is unknown).
BETTER: Mapping[str, str] = {
    "FID": "lower", "KID_mean": "lower", "IS_mean": "higher", "LPIPS": "higher", "IC_LPIPS": "higher",
    "grey_W1": "lower", "defect_grey_W1": "lower", "edge_W1": "lower", "area_KS": "lower",
    "memorization": "lower", "alignment_IoU": "higher", "contrast_gap": "lower",
}
POINT_KEY = ["generator", "dataset", "category"]
MIN_POINTS = 5  # below this no rank correlation: a bootstrap over fewer points has so few distinct resamples that its interval can collapse onto the estimate


def correlation_rows(points: pd.DataFrame, metrics: Sequence[str], seed: int = 0) -> pd.DataFrame:
    """One row per metric present in ``points`` (columns ``POINT_KEY``, ``delta`` and the metrics): the number
    of points with both values, and each coefficient of ``COEFFICIENTS`` with its interval, oriented by
    ``BETTER``; strongest first."""
    rows = []
    for metric in metrics:
        if metric not in points or metric not in BETTER or points[metric].notna().sum() == 0:
            continue
        sign = -1.0 if BETTER[metric] == "lower" else 1.0
        row: dict = {"metric": metric, "better": BETTER[metric]}
        for name in COEFFICIENTS:
            c = correlate(sign * points[metric].to_numpy(float), points["delta"].to_numpy(float), name, seed)
            row.update({"n": c.n, name: c.estimate, f"{name}_low": c.low, f"{name}_high": c.high, f"{name}_dropped": c.dropped})
        rows.append(row)
    columns = ["metric", "better", "n", *[f"{n}{s}" for n in COEFFICIENTS for s in ("", "_low", "_high", "_dropped")]]
    out = pd.DataFrame(rows, columns=columns)
    return out.sort_values("Spearman", ascending=False, key=lambda s: s.abs(), kind="stable").reset_index(drop=True)


def coefficient_text(row, name: str) -> str:
    """``+0.52 [-0.10, +0.90]``, or why there is no coefficient."""
    if row["n"] < MIN_POINTS:
        return f"n/a ({int(row['n'])} point{'s' if row['n'] != 1 else ''}; {MIN_POINTS} needed)"
    if not np.isfinite(row[name]):
        return "n/a (a constant variable)"
    if not np.isfinite(row[f"{name}_low"]):
        return f"{row[name]:+.2f} [n/a]"
    return f"{row[name]:+.2f} [{row[f'{name}_low']:+.2f}, {row[f'{name}_high']:+.2f}]"


def interval_text() -> str:
    """What the table's coefficients and intervals are, for its caption."""
    return (f"Spearman's rho and Kendall's tau-b over (generator, product) points, each metric oriented so that a positive "
            f"coefficient means better-scoring generators gained more; [ ]: {100 * (1 - ALPHA):g}% percentile bootstrap interval "
            f"over points ({BOOTSTRAP} resamples, resamples where a variable is constant left out); fewer than {MIN_POINTS} points "
            "give no coefficient. An interval spanning 0 means the points cannot tell whether the metric predicts the gain at all.")


def strongest(rows: pd.DataFrame) -> pd.Series | None:
    """The row whose Spearman coefficient is largest in size among those with enough points, or None."""
    if rows.empty:
        return None
    finite = rows[(rows["n"] >= MIN_POINTS) & np.isfinite(rows["Spearman"].astype(float))]
    return None if finite.empty else finite.loc[finite["Spearman"].abs().idxmax()]


def predictor_sentence(rows: pd.DataFrame, what: str) -> str:
    """The strongest quality predictor of ``what`` (the gain and where it was read) with its interval, or that
    the points were too few."""
    best = strongest(rows)
    most = int(rows["n"].max()) if len(rows) else 0
    if best is None and most < MIN_POINTS:
        return (f"Too few (generator, product) points hold both a quality record and {what} ({most}; {MIN_POINTS} needed) to say "
                "whether image quality predicts the gain.")
    if best is None:
        return (f"No quality metric could be rank-correlated with {what} over its {most} (generator, product) points: the gain or "
                "every metric was the same at every point.")
    where = f" ({best['condition']})" if best.get("condition") else ""
    return (f"The strongest quality predictor of {what}{where} was {best['metric']} ({best['better']} is better): Spearman "
            f"{coefficient_text(best, 'Spearman')} over {int(best['n'])} (generator, product) points, {100 * (1 - ALPHA):g}% bootstrap "
            "interval; an interval spanning 0 means the points cannot tell whether it predicts the gain at all.")


def _named(rows: pd.DataFrame, verdict: str) -> str:
    """Each generator with this verdict: how many of its points took it."""
    named = []
    for generator, group in rows.groupby("generator", sort=True):
        k = int((group["verdict"] == verdict).sum())
        if k:
            named.append(f"{generator} ({k} of {len(group)})")
    return ", ".join(named)


def verdict_paragraph(points: pd.DataFrame, margin: float, metric: str, predictor: str = "") -> str:
    """What a generator leaderboard says, in words, from its family of comparisons (``points``: one row per
    generator x product x segmenter x ratio point, with ``verdict`` and ``mde``): which generators are decided
    and how, how many comparisons stayed open and what effect they could have seen, then ``predictor`` (the
    quality sentence, ``predictor_sentence``) when given."""
    if points.empty:
        return "The board holds no comparison yet."
    products = sorted(set(points["category"]))
    n = len(points)
    parts = [f"Over {len(products)} product{'s' if len(products) != 1 else ''} ({', '.join(products)}), "
             f"{points['generator'].nunique()} generator{'s' if points['generator'].nunique() != 1 else ''} were compared with the "
             f"real-only baseline in {n} comparison{'s' if n != 1 else ''} of Δ {metric}, corrected together."]
    for verdict, phrase, none in (("win", "Decided to help (win)", "No generator was shown to help."),
                                  ("loss", "Decided to hurt (loss)", "No generator was shown to hurt."),
                                  ("equivalent", f"Decided to make no difference beyond ±{percent(margin)} points (equivalent)",
                                   f"No generator was shown to make no difference (equivalent within ±{percent(margin)} points).")):
        named = _named(points, verdict)
        parts.append(f"{phrase}: {named}." if named else none)
    open_ = points[points["verdict"] == "inconclusive"]
    if len(open_):
        mde = open_["mde"].astype(float)
        seen = (f"at their seeds they could have detected a true Δ of {percent(mde.min())}-{percent(mde.max())} points "
                f"(MDE, {100 * stats.POWER:g}% power)" if mde.notna().any() else "their MDE is undefined")
        parts.append(f"{len(open_)} of {n} comparison{'s' if n != 1 else ''} stayed inconclusive: their corrected intervals are too "
                     f"wide to say help, hurt or no difference, which is not evidence of no effect; {seen}.")
    else:
        parts.append(f"None of the {n} comparison{'s' if n != 1 else ''} stayed inconclusive.")
    unseeded = int(points["verdict"].str.startswith("n/a").sum())
    if unseeded:
        parts.append(f"{unseeded} had fewer than {stats.MIN_SEEDS} paired seeds and no verdict.")
    if predictor:
        parts.append(predictor)
    return " ".join(parts)
