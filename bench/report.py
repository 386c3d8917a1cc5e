"""Leaderboard tables: pure functions from run records to DataFrames and formatted text."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd
from tabulate import tabulate

KEYS = ["dataset", "category", "split", "generator", "ratio", "segmenter", "schedule"]
METRICS = ["mIoU", "mIoU_defect"]


def generator_label(generator: dict) -> str:
    params = generator.get("params") or {}
    if not params:
        return generator["name"]
    return generator["name"] + "(" + ",".join(f"{k}={v}" for k, v in sorted(params.items())) + ")"


def records_frame(records: Iterable[dict]) -> pd.DataFrame:
    """One row per run record: the spec keys, the seed and the headline metrics."""
    rows = []
    for record in records:
        spec = record["spec"]
        row = {key: spec[key] for key in KEYS if key != "generator"}
        row["generator"] = generator_label(spec["generator"])
        row["seed"] = spec["seed"]
        for metric in METRICS:
            value = record["metrics"].get(metric)
            row[metric] = np.nan if value is None else value
        rows.append(row)
    return pd.DataFrame(rows, columns=KEYS + ["seed"] + METRICS)


def leaderboard(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample std over seeds for each generator x ratio x segmenter (and data, schedule)."""
    if frame.empty:
        return pd.DataFrame(columns=KEYS + ["seeds"] + [f"{m}_{s}" for m in METRICS for s in ("mean", "std")])
    grouped = frame.groupby(KEYS, sort=True, dropna=False)
    table = grouped[METRICS].agg(["mean", "std"])
    table.columns = [f"{metric}_{stat}" for metric, stat in table.columns]
    table.insert(0, "seeds", grouped["seed"].nunique())
    return table.reset_index()


def _mean_std(mean: float, std: float) -> str:
    if np.isnan(mean):
        return "n/a"
    if np.isnan(std):
        return f"{100 * mean:.2f}"
    return f"{100 * mean:.2f} ± {100 * std:.2f}"


def format_leaderboard(table: pd.DataFrame, fmt: str = "markdown") -> str:
    """The leaderboard as text; metrics in percent, mean ± std over seeds (std omitted for one seed)."""
    headers = ["dataset", "category", "split", "generator", "ratio", "segmenter", "schedule", "seeds", "mIoU (%)", "mIoU defect (%)"]
    rows = [
        [
            *(r[k] for k in KEYS),
            r["seeds"],
            _mean_std(r["mIoU_mean"], r["mIoU_std"]),
            _mean_std(r["mIoU_defect_mean"], r["mIoU_defect_std"]),
        ]
        for _, r in table.iterrows()
    ]
    if fmt == "csv":
        return pd.DataFrame(rows, columns=headers).to_csv(index=False)
    tablefmt = {"markdown": "github", "latex": "latex_booktabs", "html": "html"}[fmt]
    body = tabulate(rows, headers=headers, tablefmt=tablefmt, disable_numparse=True)
    if fmt == "markdown":
        seeds = sorted({int(s) for s in table["seeds"]}) if len(table) else []
        caption = (
            "**Leaderboard** — mIoU over all classes incl. background and over defect classes only, "
            f"mean ± std over seeds (seeds per row: {', '.join(map(str, seeds)) or 'none'})."
        )
        return caption + "\n\n" + body + "\n"
    return body + "\n"
