"""The quality <-> utility table's rows and the board's paragraph, from hand-made points and counts."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bench.report.utility import coefficient_text, correlation_rows, predictor_sentence, verdict_paragraph


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


def _verdicts():
    """Three generators on two products: a wins once, c loses once and is equivalent once, the rest stay open."""
    rows = [("a", "p1", "win", 0.02), ("a", "p2", "inconclusive", 0.031), ("b", "p1", "inconclusive", 0.052),
            ("b", "p2", "n/a (2 seeds; 3 needed)", np.nan), ("c", "p1", "equivalent", 0.004), ("c", "p2", "loss", 0.01)]
    return pd.DataFrame(rows, columns=["generator", "category", "verdict", "mde"])


def test_paragraph_names_decided_generators_open_comparisons_their_mde_and_the_strongest_predictor():
    rows = correlation_rows(_points(), ["grey_W1", "IS_mean"])
    text = verdict_paragraph(_verdicts(), 0.01, "mIoU", predictor_sentence(rows, "Δ mIoU defect at ratio 1"))
    assert "Over 2 products (p1, p2), 3 generators were compared with the real-only baseline in 6 comparisons of Δ mIoU" in text
    assert "help (win): a (1 of 2)." in text and "hurt (loss): c (1 of 2)." in text
    assert "no difference beyond ±1.00 points (equivalent): c (1 of 2)." in text
    assert "2 of 6 comparisons stayed inconclusive" in text and "a true Δ of 3.10-5.20 points (MDE, 80% power)" in text
    assert "1 had fewer than 3 paired seeds and no verdict." in text
    best = rows.iloc[0]
    assert (f"predictor of Δ mIoU defect at ratio 1 was {best['metric']} ({best['better']} is better): "
            f"Spearman {best['Spearman']:+.2f} [") in text
    assert "over 9 (generator, product) points" in text
    quiet = verdict_paragraph(_verdicts().assign(verdict="inconclusive"), 0.01, "mIoU")
    assert "No generator was shown to help." in quiet and "predictor" not in quiet and "6 of 6 comparisons stayed inconclusive" in quiet


def test_fewer_than_five_points_give_no_coefficient_and_say_so():
    rows = correlation_rows(_points(n=4), ["grey_W1"])
    assert rows.loc[0, "n"] == 4
    assert coefficient_text(rows.iloc[0], "Spearman") == "n/a (4 points; 5 needed)"
    assert predictor_sentence(rows, "Δ") == ("Too few (generator, product) points hold both a quality record and Δ (4; 5 needed) to say "
                                            "whether image quality predicts the gain.")
    flat = correlation_rows(_points().assign(delta=0.0), ["grey_W1"])
    assert coefficient_text(flat.iloc[0], "Spearman") == "n/a (a constant variable)"
    assert "the same at every point" in predictor_sentence(flat, "Δ")
