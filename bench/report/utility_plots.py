"""The quality <-> utility scatter: one quality metric against the generators' Δ, one point per generator and
product (``bench.protocols.quality.utility``).

The metric's axis runs so that better is to the right for every metric (a lower-is-better distance is drawn
reversed), so a rising cloud reads "better quality, more gain" whatever the metric. Each generator has its
own colour and marker (the legend names it without its bracketed departures from the paper, which the table
names); each point is labelled with its product; the dashed line is no gain.
"""

from __future__ import annotations

import pandas as pd

from bench.report.plots import MARKERS


def scatter_figure(points: pd.DataFrame, metric: str, better: str, gain: str, title: str):
    """A matplotlib figure of ``points[metric]`` (x) against ``100 * points['delta']`` (y, ``gain``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    palette = plt.get_cmap("tab10").colors
    fig, ax = plt.subplots(figsize=(7.2, 4.6), layout="constrained")
    shown = points[points[metric].notna() & points["delta"].notna()]
    for i, (generator, group) in enumerate(shown.groupby("generator", sort=True)):
        x, y = group[metric].to_numpy(float), 100 * group["delta"].to_numpy(float)
        ax.scatter(x, y, color=palette[i % len(palette)], marker=MARKERS[i % len(MARKERS)], s=46, label=generator.split(" [")[0],
                   zorder=3)
        for xi, yi, product in zip(x, y, group["category"]):
            ax.annotate(str(product), (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=7, color="0.3")
    ax.axhline(0, color="0.35", linestyle=(0, (4, 3)), linewidth=1.0, zorder=1)
    if better == "lower":
        ax.invert_xaxis()
    ax.set_xlabel(f"{metric} ({better} is better" + ("; axis reversed" if better == "lower" else "") + ")", fontsize=10)
    ax.set_ylabel(gain, fontsize=10)
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    if len(shown):
        fig.legend(fontsize=8, loc="outside right center", frameon=False)
    return fig
