"""Does image quality predict usefulness? Each quality metric's rank correlation with a generator's Δ mIoU
across (generator, product) points, and the board's verdicts said in words.

ASBench (arXiv 2510.07927) posed the question and reported a "weak correlation" without the numbers a
reader could check; here every coefficient comes with its bootstrap interval over points
(``bench.report.correlation``) and its point count, so a dozen points read as what they are.

Metrics are oriented before they are correlated: for a distance (lower is better) the coefficient is
computed on its negative, so for every metric a positive coefficient means "better-scoring generators
gained more". Metrics measured with random-init networks never reach this table: the quality protocol
records them only with real weights (docs/metrics.md).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from bench.report.correlation import COEFFICIENTS, correlate
from bench.report.format import number

# Quality metrics and which direction is better. Distances and memorization: lower; fidelity-style scores
# where higher is better: higher. A metric not listed here is not correlated (its direction is unknown).
BETTER: Mapping[str, str] = {
    "FID": "lower", "KID_mean": "lower", "IS_mean": "higher", "LPIPS": "higher", "IC_LPIPS": "higher",
    "grey_W1": "lower", "defect_grey_W1": "lower", "edge_W1": "lower", "area_KS": "lower",
    "memorization": "lower", "alignment_IoU": "higher", "contrast_gap": "lower",
}
POINT_KEY = ["generator", "dataset", "category"]


def correlation_rows(points: pd.DataFrame, metrics: Sequence[str], seed: int = 0) -> pd.DataFrame:
    """One row per metric present in ``points`` (columns ``POINT_KEY``, ``delta`` and the metrics): the number
    of points with both values, and each coefficient of ``COEFFICIENTS`` with its interval, oriented by
    ``BETTER``."""
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
    if not np.isfinite(row[name]):
        return "n/a"
    return f"{row[name]:+.2f} [{row[f'{name}_low']:+.2f}, {row[f'{name}_high']:+.2f}]"


def strongest(rows: pd.DataFrame) -> pd.Series | None:
    """The metric whose Spearman coefficient is largest in size, or None without any."""
    finite = rows[np.isfinite(rows["Spearman"].astype(float))] if len(rows) else rows
    return None if finite.empty else finite.loc[finite["Spearman"].abs().idxmax()]


def verdict_paragraph(board: pd.DataFrame, n_comparisons: int, products: Sequence[str], margin: float,
                      correlations: pd.DataFrame | None = None) -> str:
    """What a generator leaderboard says, in words: which generators are decided and how, how many
    comparisons stayed open, and the strongest quality predictor with its interval. ``board`` has one row per
    generator with the counts ``win``, ``equivalent``, ``inconclusive``, ``loss`` and ``mean_delta``."""
    if board.empty:
        return "The board holds no comparison yet."
    named = lambda rows: ", ".join(f"{g} ({int(k)} of {int(p)})" for g, k, p in rows)  # noqa: E731
    parts = [f"Over {len(products)} product{'s' if len(products) != 1 else ''} ({', '.join(products)}), "
             f"{len(board)} generators were compared with the real-only baseline in {n_comparisons} comparisons."]
    for verdict, phrase in (("win", "help (win)"), ("loss", "hurt (loss)"),
                            ("equivalent", f"make no difference beyond ±{number(margin)} mIoU point (equivalent)")):
        rows = [(g, k, p) for g, k, p in zip(board["generator"], board[verdict], board["points"]) if k]
        if rows:
            parts.append(f"Decided to {phrase}: {named(rows)}.")
        else:
            parts.append(f"No generator was shown to {phrase.split(' (')[0]}.")
    open_ = int(board["inconclusive"].sum())
    parts.append(f"{open_} of {n_comparisons} comparison{'s' if n_comparisons != 1 else ''} stayed inconclusive: "
                 "their intervals are too wide to say help, hurt or no difference, which is not evidence of no effect.")
    if correlations is not None:
        best = strongest(correlations)
        if best is None:
            parts.append("No quality metric could be correlated with the gains.")
        else:
            parts.append(f"The strongest quality predictor of Δ mIoU was {best['metric']} ({best['better']} is better): "
                         f"Spearman {coefficient_text(best, 'Spearman')} over {int(best['n'])} (generator, product) points, "
                         f"95% bootstrap interval; an interval spanning 0 means the points cannot tell whether it predicts at all.")
    return " ".join(parts)
