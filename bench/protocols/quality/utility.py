"""The quality <-> utility table, a form of the quality protocol that reads its records beside every run record:
for each quality metric, its rank correlation (Spearman, Kendall) with the generators' gain over the real-only
baseline across (generator, product) points, with bootstrap intervals over points, and a scatter plot each.

A point is a generator on a product (dataset, category, split, picture size): its quality metrics, the mean
over its quality records' seeds, and its Δ at one ratio (``UTILITY_RATIO`` synthetic pairs per real pair
where the runs hold it, else the ratio most settings ran at): the defect mIoU (the report's metric where the
records have none) of the generator's runs minus the real-only baseline of their task, the mean of per-seed
differences over paired seeds (``deltas``). A generator's runs and quality records meet by the generator (its
parameters, version and departures), whether its runs fitted it once per task or per seed. Points that differ
in anything else (segmenter, schedule, the quality settings) are never pooled: each combination is a block of
its own. Feature-network metrics are read
only from records whose networks' weights were checked and published (``bench.metrics.quality.check_weights``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.protocols.quality.tables import QUALITY_METRICS, WEIGHT_FREE, quality_frame
from bench.protocols.synthetic_ratio import adds_synthetic
from bench.report.format import number
from bench.report.frames import FITTED_ONCE
from bench.report.tables import Plot, Reading, Table, deltas, metric_label, runs_of, used
from bench.report.utility import BETTER, MIN_POINTS, coefficient_text, correlation_rows, interval_text, predictor_sentence
from bench.report.utility_plots import scatter_figure

UTILITY_RATIO = 1.0  # synthetic pairs per real pair the gain is read at, where the runs hold it
UTILITY_METRIC = "mIoU_defect"  # the gain: Δ defect mIoU
POINT = ["generator", "dataset", "category", "split", "image_size"]
QUALITY_SETTINGS = ["n_generated", "lpips", "ic_lpips", "region"]
CONDITIONS = ["segmenter", "schedule", "device", "pretrained", "labels", "batches", "class_map", "fitting", *QUALITY_SETTINGS]
METRICS = (*WEIGHT_FREE, *QUALITY_METRICS)


@dataclass(frozen=True)
class Utility:
    """The points, the correlation rows (one block per condition) and what was read and left out."""

    points: pd.DataFrame  # POINT, the conditions, ``condition``, ``delta``, ``n`` (paired seeds), the metrics
    rows: pd.DataFrame  # ``correlation_rows`` with ``condition``
    gains: pd.DataFrame  # the comparisons behind the Δs (``deltas``)
    ratio: float
    metric: str
    quality_only: int  # quality points with no Δ at the ratio
    gain_only: int  # Δ points with no quality record
    withheld: str  # which feature-network metrics were not read, and why

    @property
    def what(self) -> str:
        return f"Δ {metric_label(self.metric)} at ratio {number(self.ratio)}"


def _gains(frame: pd.DataFrame, metric: str) -> tuple[float | None, pd.DataFrame]:
    """The ratio the gains are read at and each generator's comparison with its baseline there."""
    chosen = adds_synthetic(frame) & (frame["fill_to"] == 0) & (frame["normal_ratio"] == 0)
    ratios = frame.loc[chosen, "ratio"]
    if ratios.empty:
        return None, pd.DataFrame()
    if (ratios == UTILITY_RATIO).any():
        ratio = UTILITY_RATIO
    else:
        counts = frame.loc[chosen].drop_duplicates(["generator", "category", "ratio"])["ratio"].value_counts()
        ratio = float(counts[counts == counts.max()].index.min())
    return ratio, deltas(frame, metric, settings=chosen & (frame["ratio"] == ratio), family="quality <-> utility")


def without_fitting(label: str) -> str:
    """A run's generator label without how it was fitted (``frames.fitting``): the generator its quality records name."""
    label = re.sub(rf"{FITTED_ONCE}, seed \d+(; )?", "", label)
    return label.replace(" []", "")


def _withheld(quality: pd.DataFrame) -> str:
    """Which feature-network metrics the table does not read from how many records, and why."""
    reasons = {"missing": "their network's weights were missing", "unverified": "their network's weights file is not the published one",
               "unchecked": "the record is from before weights were checked"}
    counts: dict[tuple[str, str], int] = {}
    for hidden, checked in zip(quality["hidden"], quality["checked"]):
        found = dict(hidden) if checked else {m: "unchecked" for m in QUALITY_METRICS}
        for status in sorted(set(found.values())):
            names = ", ".join(m for m in QUALITY_METRICS if found.get(m) == status)
            if names:
                counts[(names, status)] = counts.get((names, status), 0) + 1
    return " ".join(f"Not read from {n} of {len(quality)} quality records: {names} ({reasons[status]})." for (names, status), n in
                    sorted(counts.items()))


def utility(frame: pd.DataFrame | None, records, metric: str = "mIoU") -> Utility | None:
    """The quality <-> utility points and correlations of run records and quality records; None without any
    comparison of a generator's pairs with its baseline or without quality records."""
    if frame is None or not records:
        return None
    metric = UTILITY_METRIC if UTILITY_METRIC in frame and frame[UTILITY_METRIC].notna().any() else metric
    ratio, gains = _gains(frame, metric)
    if ratio is None or gains.empty:
        return None
    quality = quality_frame(r for r in records if str(r.get("schema", "")).startswith("bench.quality/"))
    if quality.empty:
        return None
    quality.loc[~quality["checked"].astype(bool), list(QUALITY_METRICS)] = np.nan  # weights never checked: not read
    means = quality.groupby(POINT + QUALITY_SETTINGS, dropna=False)[list(METRICS)].mean().reset_index()
    gains_points = gains[[*POINT, *(c for c in CONDITIONS if c in gains), "delta", "n"]].assign(
        generator=[without_fitting(g) for g in gains["generator"]],
        fitting=["once per task" if FITTED_ONCE in g else "per seed" for g in gains["generator"]])
    points = gains_points.merge(means, on=POINT, how="inner")
    quality_only = len(means.drop_duplicates(POINT).merge(gains_points.drop_duplicates(POINT), on=POINT, how="left", indicator=True)
                       .query("_merge == 'left_only'"))
    gain_only = len(gains_points.drop_duplicates(POINT).merge(means.drop_duplicates(POINT), on=POINT, how="left", indicator=True)
                    .query("_merge == 'left_only'"))
    varying = [c for c in CONDITIONS if c in points and points[c].astype(str).nunique() > 1]
    points["condition"] = [", ".join(f"{c} {row[c]}" for c in varying) for _, row in points.iterrows()] if varying else ""
    present = [m for m in METRICS if m in BETTER and points[m].notna().any()]
    blocks = [correlation_rows(block, present).assign(condition=condition) for condition, block in points.groupby("condition", sort=True)]
    rows = pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame(columns=["metric", "better", "n", "condition"])
    return Utility(points, rows, gains, ratio, metric, quality_only, gain_only, _withheld(quality))


def predictor(reading: Reading) -> str:
    """The sentence on how well quality predicted the gains, for the board's paragraph; '' without quality records."""
    found = utility(reading.frame, reading.records, reading.metric)
    return "" if found is None else predictor_sentence(found.rows, found.what)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.=-]+", "-", text).strip("-")


def _plots(found: Utility) -> tuple[Plot, ...]:
    several = found.points["condition"].nunique() > 1
    plots = []
    for _, row in found.rows.iterrows():
        block = found.points[found.points["condition"] == row["condition"]]
        name = "_".join(["utility", row["metric"], *([_slug(row["condition"])] if several else [])])
        title = (f"{row['metric']} vs {found.what}" + (f" · {row['condition']}" if several else "")
                 + f"\nSpearman {coefficient_text(row, 'Spearman')}, Kendall {coefficient_text(row, 'Kendall')}")
        caption = (f"{row['metric']} ({row['better']} is better; axis drawn so that better is to the right) against {found.what}, one "
                   f"point per generator and product ({int(row['n'])} with both)" + (f"; {row['condition']}" if several else "") + ".")
        plots.append(Plot(name, caption, lambda block=block, row=row, title=title: scatter_figure(
            block, row["metric"], row["better"], f"Δ {metric_label(found.metric)} (points)", title)))
    return tuple(plots)


def utility_tables(reading: Reading) -> list[Table]:
    """The quality <-> utility table with a scatter plot per metric, where the records hold quality records and
    comparisons of generators' pairs with the real-only baseline."""
    found = utility(reading.frame, reading.records, reading.metric)
    if found is None:
        return []
    rows, several = found.rows, found.points["condition"].nunique() > 1
    out = pd.DataFrame({**({"condition": list(rows["condition"])} if several else {}),
                        "metric": list(rows["metric"]), "better": list(rows["better"]), "points": [int(n) for n in rows["n"]],
                        "Spearman [95% CI]": [coefficient_text(r, "Spearman") for _, r in rows.iterrows()],
                        "Kendall [95% CI]": [coefficient_text(r, "Kendall") for _, r in rows.iterrows()]})
    products = sorted(set(found.points["category"]))
    generators = sorted(set(found.points["generator"]))
    unmatched = "" if not (found.quality_only or found.gain_only) else (
        f" {found.quality_only} (generator, product) points with quality records have no Δ at this ratio and {found.gain_only} with "
        "a Δ have no quality record; neither is in the table.")
    few = (f" Fewer than {MIN_POINTS} points: no coefficient is computed." if len(rows) and rows["n"].max() < MIN_POINTS else "")
    text = (f"**Quality <-> utility** — does a generator's image quality predict what its pairs do for the segmenter? Each quality "
            f"metric against {found.what} (synthetic pairs per real pair): the generator's runs minus the real-only baseline of their "
            f"task, mean of per-seed differences over paired seeds; quality: mean over the quality records' seeds. "
            f"{len(found.points)} points: {len(generators)} generator{'s' if len(generators) != 1 else ''} "
            f"({', '.join(generators)}) on {len(products)} product{'s' if len(products) != 1 else ''} ({', '.join(products)})."
            f"{unmatched}{few} {interval_text()} {found.withheld}").rstrip()
    runs = used(reading.frame, found.gains)
    return [Table("quality_utility", "Quality <-> utility", text, out, runs_of(runs), keep=tuple(out.columns), plots=_plots(found))]
