"""The quality <-> utility table's rows and the board's paragraph, from hand-made points and counts."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bench.report.utility import correlation_rows, verdict_paragraph


def _points(seed=0, n=9):
    rng = np.random.default_rng(seed)
    delta = rng.normal(size=n)
    return pd.DataFrame({"generator": [f"g{i}" for i in range(n)], "dataset": "d", "category": "c", "delta": delta,
                         "grey_W1": -delta + rng.normal(0, 0.3, n),  # a distance: lower goes with more gain
                         "IS_mean": delta + rng.normal(0, 0.3, n), "unknown": delta})


def test_rows_orient_distances_so_positive_means_better_quality_gains_more():
    points = _points()
    rows = correlation_rows(points, ["grey_W1", "IS_mean", "unknown", "FID"]).set_index("metric")
    assert set(rows.index) == {"grey_W1", "IS_mean"}, "unknown directions and absent metrics are not correlated"
    assert rows.loc["grey_W1", "Spearman"] == pytest.approx(stats.spearmanr(-points["grey_W1"], points["delta"]).statistic)
    assert rows.loc["IS_mean", "Kendall"] == pytest.approx(stats.kendalltau(points["IS_mean"], points["delta"]).statistic)
    assert (rows["Spearman"] > 0.5).all() and (rows["n"] == 9).all()
    assert (rows["Spearman_low"] <= rows["Spearman"]).all() and (rows["Spearman"] <= rows["Spearman_high"]).all()


def test_paragraph_names_decided_generators_open_comparisons_and_the_strongest_predictor():
    board = pd.DataFrame({"generator": ["a", "b", "c"], "points": [2, 2, 2], "win": [1, 0, 0], "equivalent": [0, 0, 1],
                          "inconclusive": [1, 2, 0], "loss": [0, 0, 1], "mean_delta": [3.0, 0.1, -2.0]})
    rows = correlation_rows(_points(), ["grey_W1", "IS_mean"])
    text = verdict_paragraph(board, 6, ["p1", "p2"], 1.0, rows)
    assert "Over 2 products (p1, p2), 3 generators" in text
    assert "help (win): a (1 of 2)" in text and "hurt (loss): c (1 of 2)" in text and "(equivalent): c (1 of 2)" in text
    assert "3 of 6 comparisons stayed inconclusive" in text
    assert f"Spearman {rows.iloc[0]['Spearman']:+.2f}" in text and "over 9 (generator, product) points" in text
    quiet = verdict_paragraph(board.assign(win=0), 6, ["p1"], 1.0)
    assert "No generator was shown to help" in quiet and "predictor" not in quiet
