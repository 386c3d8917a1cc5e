"""The ratio plot (Defect Spectrum Fig. 8/9 form): a metric against the synthetic ratio, one line per
generator, one plot per task, the shared real-only baseline as every line's ratio-0 point."""

from __future__ import annotations

import pandas as pd

from bench.report.frames import TASK
from bench.report.tables import metric_label


def ratio_curves(frame: pd.DataFrame, metric: str = "mIoU") -> pd.DataFrame:
    """Mean and std over seeds at each ratio, per task (``TASK``: data, segmenter, schedule, device,
    pretrained) and generator."""
    synthetic = frame[(frame["fill_to"] == 0) & (frame["normal_ratio"] == 0)]
    base = synthetic[synthetic["ratio"] == 0]
    rows = []
    for generator in sorted(set(synthetic.loc[synthetic["ratio"] > 0, "generator"])):
        mine = pd.concat([base.assign(generator=generator), synthetic[synthetic["generator"] == generator]])
        stats = mine.groupby([*TASK, "ratio"], dropna=False)[metric].agg(["mean", "std", "count"]).reset_index()
        rows.append(stats.assign(generator=generator))
    columns = [*TASK, "generator", "ratio", "mean", "std", "count"]
    return pd.concat(rows)[columns].reset_index(drop=True) if rows else pd.DataFrame(columns=columns)


def ratio_figures(curves: pd.DataFrame, metric: str = "mIoU") -> list[tuple[str, object]]:
    """One matplotlib figure per task, with a band of ± one std over seeds; names say the whole task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = []
    for key, task in curves.groupby(TASK, sort=True, dropna=False):
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for generator, line in task.groupby("generator", sort=True):
            line = line.sort_values("ratio")
            x, y, s = line["ratio"].to_numpy(float), 100 * line["mean"].to_numpy(float), 100 * line["std"].fillna(0).to_numpy(float)
            ax.plot(x, y, marker="o", label=generator)
            ax.fill_between(x, y - s, y + s, alpha=0.2)
        ax.set_xlabel("synthetic pairs per real pair")
        ax.set_ylabel(f"{metric_label(metric)} (%)")
        t = dict(zip(TASK, key))
        start = "pretrained" if t["pretrained"] else "from scratch"
        ax.set_title(f"{t['dataset']}/{t['category']} · {t['segmenter']} · {t['split']} · {t['schedule']} · {t['device']} · {start}", fontsize=8)
        ax.legend(fontsize=8)
        fig.tight_layout()
        name = "_".join(["ratio", t["dataset"], t["category"], t["segmenter"], t["split"], t["schedule"], t["device"],
                         "pretrained" if t["pretrained"] else "scratch", t["data"]])
        figures.append((name.replace("/", "-").replace(":", "-"), fig))
    return figures
