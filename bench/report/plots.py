"""The ratio plot (Defect Spectrum Fig. 8/9 form): a metric against the synthetic ratio, one line per
generator, the shared real-only baseline as every line's ratio-0 point and as a dashed reference line.

One figure per segmenter and condition (dataset, split, schedule, device, pretrained), one panel per
product. Each generator has its own marker and line style and is shifted a little along the x-axis, so
identical series stay visible; its seed band is drawn by its own outline; the legend of a panel names
only the lines in it, each with its number of seeds, beside the panel when it is long.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bench.report.frames import TASK
from bench.report.tables import metric_label

FIGURE_KEY = ["dataset", "segmenter", "split", "image_size", "schedule", "device", "pretrained"]  # one figure each
PANEL_KEY = ["category", "data"]  # one panel each
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
LINESTYLES = ("-", "--", "-.", ":")
LEGEND_INSIDE = 6  # more lines than this and a panel's legend goes beside it
PANELS_PER_ROW = 4
DODGE = 0.012  # of the x range, per generator
PNG_METADATA = {"Software": None}  # no matplotlib version in the file: the same records give the same bytes


def ratio_curves(frame: pd.DataFrame, metric: str = "mIoU") -> pd.DataFrame:
    """Mean, std and seed count at each ratio, per task (``TASK``) and generator (and batch mode, where the
    records hold both); ratio 0 is the task's real-only baseline."""
    synthetic = frame[(frame["fill_to"] == 0) & (frame["normal_ratio"] == 0)]
    base = synthetic[synthetic["ratio"] == 0]
    added = synthetic[synthetic["ratio"] > 0]
    both = added["batches"].nunique() > 1  # lines of both batch modes: each says which
    rows = []
    for (generator, batches), line in added.groupby(["generator", "batches"], sort=True):
        label = f"{generator} [{batches} batches]" if both else generator
        mine = pd.concat([base, line])
        stats = mine.groupby([*TASK, "ratio"], dropna=False)[metric].agg(["mean", "std", "count"]).reset_index()
        rows.append(stats.assign(generator=label))
    columns = [*TASK, "generator", "ratio", "mean", "std", "count"]
    return pd.concat(rows)[columns].reset_index(drop=True) if rows else pd.DataFrame(columns=columns)


def _seeds(counts) -> str:
    low, high = int(min(counts)), int(max(counts))
    return f"n={low}" if low == high else f"n={low}-{high}"


def _panel(ax, panel: pd.DataFrame, styles: dict[str, tuple], span: float, metric: str) -> None:
    base = panel[panel["ratio"] == 0].drop_duplicates(TASK)
    if len(base):
        mean, std = 100 * float(base["mean"].iloc[0]), 100 * float(np.nan_to_num(base["std"].iloc[0]))
        ax.axhline(mean, color="0.35", linestyle=(0, (4, 3)), linewidth=1.2, label=f"real only ({_seeds(base['count'])})", zorder=1)
        ax.axhspan(mean - std, mean + std, color="0.5", alpha=0.12, linewidth=0, zorder=0)
    generators = sorted(panel["generator"].unique())
    for generator in generators:
        line = panel[panel["generator"] == generator].sort_values("ratio")
        if not (line["ratio"] > 0).any():
            continue
        index, color, marker, style = styles[generator]
        x = line["ratio"].to_numpy(float) + (index - (len(styles) - 1) / 2) * DODGE * span
        y, s = 100 * line["mean"].to_numpy(float), 100 * np.nan_to_num(line["std"].to_numpy(float))
        shown = line["ratio"] > 0
        ax.plot(x, y, color=color, marker=marker, linestyle=style, linewidth=1.6, markersize=6,
                label=f"{generator} ({_seeds(line.loc[shown, 'count'])})", zorder=3)
        ax.fill_between(x, y - s, y + s, color=color, alpha=0.08, linewidth=0, zorder=2)
        for edge in (y - s, y + s):
            ax.plot(x, edge, color=color, linestyle=style, linewidth=0.6, alpha=0.7, zorder=2)
    ax.set_xlabel("synthetic pairs per real pair", fontsize=10)
    ax.set_ylabel(f"{metric_label(metric)} (%)", fontsize=10)
    ax.grid(True, alpha=0.3)
    if len(styles) > LEGEND_INSIDE:  # a long legend inside would cover the lines: beside the panel instead
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    else:
        ax.legend(fontsize=8, loc="best", framealpha=0.85)


def ratio_figures(curves: pd.DataFrame, metric: str = "mIoU") -> list[tuple[str, object]]:
    """One matplotlib figure per segmenter and condition, one panel per product; names say the whole key."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = []
    palette = plt.get_cmap("tab10").colors
    for key, group in curves.groupby(FIGURE_KEY, sort=True, dropna=False):
        t = dict(zip(FIGURE_KEY, key))
        generators = sorted(group["generator"].unique())
        styles = {g: (i, palette[i % len(palette)], MARKERS[i % len(MARKERS)], LINESTYLES[i // len(palette) % len(LINESTYLES)])
                  for i, g in enumerate(generators)}
        span = max(float(group["ratio"].max() - group["ratio"].min()), 1.0)
        panels = list(group.groupby(PANEL_KEY, sort=True, dropna=False))
        crowded = len(styles) > LEGEND_INSIDE  # one panel per row, each with its legend on the right
        columns = 1 if crowded else min(PANELS_PER_ROW, len(panels))
        rows = math.ceil(len(panels) / columns)
        legend_width = 0.075 * max(len(f"{g} (n=10)") for g in generators) if crowded else 0.0
        fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns + legend_width, 3.8 * rows), squeeze=False)
        several_data = group.groupby("category")["data"].nunique().max() > 1
        for ax, ((category, data), panel) in zip(axes.flat, panels):
            _panel(ax, panel, styles, span, metric)
            ax.set_title(f"{category}" + (f" (data {data})" if several_data else ""), fontsize=12)
        for ax in list(axes.flat)[len(panels):]:
            ax.set_visible(False)
        start = "pretrained" if t["pretrained"] else "from scratch"
        size = f" · {t['image_size']} px" if t["image_size"] else ""
        fig.suptitle(f"{metric_label(metric)} vs synthetic ratio: {t['segmenter']} · {t['dataset']} · split {t['split']}{size} · "
                     f"{t['schedule']} schedule · {t['device']} · {start}", fontsize=12)
        fig.tight_layout()
        name = "_".join(["ratio", t["dataset"], t["segmenter"], t["split"], *([t["image_size"]] if t["image_size"] else []),
                         t["schedule"], t["device"], "pretrained" if t["pretrained"] else "scratch"])
        figures.append((name.replace("/", "-").replace(":", "-"), fig))
    return figures

