"""Leaderboard and paper-style tables: pure functions from run records to DataFrames and formatted text.

Every table is a ``Table`` (title, caption naming protocol, split and seeds, a frame of display
strings) built from the records alone; writing files happens in ``bench.cli.report``. Deltas compare a
setting with the real-only baseline of the same category, segmenter, split and schedule, with a 95%
bootstrap interval over seeds (seeded, so the same records give the same report).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench.metrics.benign import BenignRules, benign_from_areas

TASK = ["dataset", "category", "split", "segmenter", "schedule"]
SETTING = ["generator", "ratio", "fill_to", "normal_ratio"]
KEYS = ["dataset", "category", "split", "generator", "ratio", "fill_to", "normal_ratio", "segmenter", "schedule"]
METRICS = ["mIoU", "mIoU_defect", "pixel_AUROC", "pixel_AP", "pixel_F1max", "image_AUROC", "image_AP", "image_F1max"]
BENIGN = ["benign_recall", "benign_frr", "n_defective", "caught", "n_benign", "false_rejects"]
N_BOOT = 2000


@dataclass(frozen=True)
class Table:
    name: str  # file stem
    title: str
    caption: str
    frame: pd.DataFrame  # display strings


def generator_label(generator: dict) -> str:
    params = generator.get("params") or {}
    if not params:
        return generator["name"]
    return generator["name"] + "(" + ",".join(f"{k}={v}" for k, v in sorted(params.items())) + ")"


def protocol_of(row) -> str:
    """Which protocol a run belongs to, from the spec fields that distinguish them."""
    if row["fill_to"]:
        return "upsample"
    if row["normal_ratio"]:
        return "normal-data"
    return "synthetic-ratio"


def _benign(record: dict, rules: BenignRules | None) -> dict:
    areas = record.get("class_areas")
    if rules is None or not areas:
        return {k: np.nan for k in BENIGN}
    classes = {int(k): v for k, v in record["data"]["classes"].items()}
    out = benign_from_areas(areas["gt"], areas["pred"], classes, record["spec"]["category"], rules)
    return {
        "benign_recall": out["recall"],
        "benign_frr": out["false_reject_rate"],
        **{k: out[k] for k in ("n_defective", "caught", "n_benign", "false_rejects")},
    }


def records_frame(records: Iterable[dict], rules: BenignRules | None = None) -> pd.DataFrame:
    """One row per run record: spec keys, seed, metrics and (with rules) benign decisions."""
    rows = []
    for record in records:
        spec = record["spec"]
        row = {key: spec.get(key, 0) for key in KEYS if key != "generator"}
        row["generator"] = generator_label(spec["generator"])
        row["seed"] = spec["seed"]
        for metric in METRICS:
            value = record["metrics"].get(metric)
            row[metric] = np.nan if value is None else value
        row.update(_benign(record, rules))
        rows.append(row)
    frame = pd.DataFrame(rows, columns=KEYS + ["seed"] + METRICS + BENIGN)
    return frame.astype({m: float for m in METRICS + ["benign_recall", "benign_frr"]})


def leaderboard(frame: pd.DataFrame, metrics: tuple[str, ...] = ("mIoU", "mIoU_defect")) -> pd.DataFrame:
    """Mean and sample std over seeds for each generator x ratio x segmenter (and data, schedule)."""
    metrics = list(metrics)
    if frame.empty:
        return pd.DataFrame(columns=KEYS + ["seeds"] + [f"{m}_{s}" for m in metrics for s in ("mean", "std")])
    grouped = frame.groupby(KEYS, sort=True, dropna=False)
    table = grouped[metrics].agg(["mean", "std"])
    table.columns = [f"{metric}_{stat}" for metric, stat in table.columns]
    table.insert(0, "seeds", grouped["seed"].nunique())
    return table.reset_index()


def _mean_std(mean: float, std: float) -> str:
    if np.isnan(mean):
        return "n/a"
    if np.isnan(std):
        return f"{100 * mean:.2f}"
    return f"{100 * mean:.2f} ± {100 * std:.2f}"


def _seeds_text(seeds) -> str:
    return ", ".join(str(int(s)) for s in sorted(set(seeds))) or "none"


def format_leaderboard(table: pd.DataFrame, fmt: str = "markdown") -> str:
    """The run table as text; metrics in percent, mean ± std over seeds (std omitted for one seed)."""
    headers = [*KEYS, "seeds", "mIoU (%)", "mIoU defect (%)"]
    rows = [
        [*(r[k] for k in KEYS), r["seeds"], _mean_std(r["mIoU_mean"], r["mIoU_std"]), _mean_std(r["mIoU_defect_mean"], r["mIoU_defect_std"])]
        for _, r in table.iterrows()
    ]
    seeds = sorted({int(s) for s in table["seeds"]}) if len(table) else []
    caption = (
        "**Leaderboard** — mIoU over all classes incl. background and over defect classes only, "
        f"mean ± std over seeds (seeds per row: {', '.join(map(str, seeds)) or 'none'})."
    )
    return render(Table("leaderboard", "Leaderboard", caption, pd.DataFrame(rows, columns=headers)), fmt)


# --- statistics over seeds ---------------------------------------------------------------------------


def bootstrap_delta(values: np.ndarray, baseline: np.ndarray, seed: int = 0, n_boot: int = N_BOOT) -> tuple[float, float, float]:
    """Difference of means and its 95% percentile-bootstrap interval, resampling seeds of both sides."""
    values = np.asarray(values, dtype=float)
    baseline = np.asarray(baseline, dtype=float)
    values, baseline = values[~np.isnan(values)], baseline[~np.isnan(baseline)]
    if not values.size or not baseline.size:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    a = rng.choice(values, size=(n_boot, values.size)).mean(axis=1)
    b = rng.choice(baseline, size=(n_boot, baseline.size)).mean(axis=1)
    lo, hi = np.percentile(a - b, [2.5, 97.5])
    return float(values.mean() - baseline.mean()), float(lo), float(hi)


def verdict(lo: float, hi: float) -> str:
    """Win when the whole interval is above zero, loss when below, tie otherwise."""
    if np.isnan(lo):
        return "n/a"
    return "win" if lo > 0 else "loss" if hi < 0 else "tie"


def _is_baseline(frame: pd.DataFrame) -> pd.Series:
    return (frame["generator"] == "none") & (frame["ratio"] == 0) & (frame["fill_to"] == 0) & (frame["normal_ratio"] == 0)


def deltas(frame: pd.DataFrame, metric: str = "mIoU", seed: int = 0) -> pd.DataFrame:
    """Every setting against the real-only baseline of its task: means, delta, 95% CI and verdict."""
    columns = [*TASK, *SETTING, "protocol", "seeds", "baseline", "value", "delta", "ci_low", "ci_high", "verdict"]
    base = frame[_is_baseline(frame)]
    rows = []
    for key, group in frame[~_is_baseline(frame)].groupby(TASK + SETTING, sort=True):
        task = dict(zip(TASK + SETTING, key))
        ref = base
        for k in TASK:
            ref = ref[ref[k] == task[k]]
        if ref.empty:
            continue
        delta, lo, hi = bootstrap_delta(group[metric].to_numpy(), ref[metric].to_numpy(), seed)
        rows.append({**task, "protocol": protocol_of(task), "seeds": _seeds_text(group["seed"]),
                     "baseline": ref[metric].mean(), "value": group[metric].mean(),
                     "delta": delta, "ci_low": lo, "ci_high": hi, "verdict": verdict(lo, hi)})
    return pd.DataFrame(rows, columns=columns)


def generator_leaderboard(delta_frame: pd.DataFrame) -> pd.DataFrame:
    """Per generator over all its synthetic settings: win/tie/loss counts and the mean delta, best first."""
    synthetic = delta_frame[delta_frame["generator"] != "none"]
    rows = []
    for generator, group in synthetic.groupby("generator"):
        counts = group["verdict"].value_counts()
        rows.append({"generator": generator, "points": len(group), "win": int(counts.get("win", 0)),
                     "tie": int(counts.get("tie", 0)), "loss": int(counts.get("loss", 0)), "mean_delta": group["delta"].mean()})
    table = pd.DataFrame(rows, columns=["generator", "points", "win", "tie", "loss", "mean_delta"])
    return table.sort_values(["win", "mean_delta", "loss"], ascending=[False, False, True]).reset_index(drop=True)


# --- the tables of the papers ------------------------------------------------------------------------


def _pct(value: float, signed: bool = False) -> str:
    if value is None or np.isnan(value):
        return "n/a"
    return f"{100 * value:+.2f}" if signed else f"{100 * value:.2f}"


def _ci(lo: float, hi: float) -> str:
    return "n/a" if np.isnan(lo) else f"[{100 * lo:+.2f}, {100 * hi:+.2f}]"


def _setting_label(row) -> str:
    if row["fill_to"]:
        return f"{row['generator']} fill to {row['fill_to']}"
    if row["normal_ratio"]:
        return f"real + {row['normal_ratio']:g}x normals"
    return "real only" if row["generator"] == "none" and row["ratio"] == 0 else f"{row['generator']} x{row['ratio']:g}"


def _caption(what: str, frame: pd.DataFrame, protocols: Iterable[str]) -> str:
    return (f"{what} Protocol: {', '.join(sorted(set(protocols))) or 'none'}; split: {', '.join(sorted(frame['split'].unique()))}; "
            f"seeds: {_seeds_text(frame['seed'])}; mean ± std over seeds, percent.")


def category_segmenter_table(frame: pd.DataFrame, metric: str = "mIoU") -> Table:
    """Defect Spectrum Table 3 form: per category (and setting) x segmenter."""
    stats = frame.groupby(["category", *SETTING, "segmenter"])[metric].agg(["mean", "std"]).reset_index()
    stats["cell"] = [_mean_std(m, s) for m, s in zip(stats["mean"], stats["std"])]
    stats["setting"] = [_setting_label(r) for _, r in stats.iterrows()]
    wide = stats.pivot_table(index=["category", "setting"], columns="segmenter", values="cell", aggfunc="first").reset_index()
    wide.columns.name = None
    protocols = [protocol_of(r) for _, r in frame.iterrows()]
    return Table("category_segmenter", f"{metric} per category and segmenter",
                 _caption(f"{metric} per category x segmenter (Defect Spectrum Table 3 form).", frame, protocols), wide.fillna("—"))


def with_without_table(frame: pd.DataFrame, delta_frame: pd.DataFrame, metric: str = "mIoU") -> Table:
    """Defect Spectrum Table 4/5 form: without vs with synthetic data, per category and segmenter."""
    d = delta_frame[delta_frame["protocol"] != "normal-data"]
    out = pd.DataFrame({
        "category": d["category"], "segmenter": d["segmenter"],
        "setting": [_setting_label(r) for _, r in d.iterrows()],
        "w/o synthetic": [_pct(v) for v in d["baseline"]], "with synthetic": [_pct(v) for v in d["value"]],
        "Δ": [_pct(v, True) for v in d["delta"]], "95% CI": [_ci(lo, hi) for lo, hi in zip(d["ci_low"], d["ci_high"])],
        "verdict": d["verdict"], "seeds": d["seeds"],
    })
    used = frame[frame["category"].isin(d["category"])]
    caption = _caption(f"{metric} without and with synthetic data (Defect Spectrum Table 4/5 form); Δ against real only "
                       f"with a 95% bootstrap interval over seeds.", used, d["protocol"])
    return Table("with_without", f"{metric} with and without synthetic data", caption, out.reset_index(drop=True))


def generator_table(delta_frame: pd.DataFrame, frame: pd.DataFrame, metric: str = "mIoU") -> Table:
    board = generator_leaderboard(delta_frame)
    out = board.assign(mean_delta=[_pct(v, True) for v in board["mean_delta"]]).rename(columns={"mean_delta": f"mean Δ {metric}"})
    synthetic = delta_frame[delta_frame["generator"] != "none"]
    caption = _caption(f"Generator leaderboard: win/tie/loss over every category x segmenter x ratio point (95% bootstrap "
                       f"interval of Δ{metric} above / across / below zero), then mean Δ.", frame,
                       synthetic["protocol"])
    return Table("generators", "Generator leaderboard", caption, out)


def normal_data_table(delta_frame: pd.DataFrame, frame: pd.DataFrame, metric: str = "mIoU") -> Table:
    d = delta_frame[delta_frame["protocol"] == "normal-data"]
    out = pd.DataFrame({
        "category": d["category"], "segmenter": d["segmenter"], "normals per real pair": d["normal_ratio"],
        "real only": [_pct(v) for v in d["baseline"]], "with normals": [_pct(v) for v in d["value"]],
        "Δ": [_pct(v, True) for v in d["delta"]], "95% CI": [_ci(lo, hi) for lo, hi in zip(d["ci_low"], d["ci_high"])],
    })
    return Table("normal_data", f"{metric} with added defect-free images",
                 _caption(f"{metric} with defect-free training images added (Defect Spectrum Table 7 form).", frame, ["normal-data"]),
                 out.reset_index(drop=True))


def benign_table(frame: pd.DataFrame, rules_name: str) -> Table:
    """Recall of defective products and false-reject rate per product and overall (pooled over products)."""
    groups = ["segmenter", *SETTING]
    rows = []
    for key, group in frame.groupby(groups, sort=True):
        setting = dict(zip(groups, key))
        label = _setting_label(setting)
        for category, per_cat in group.groupby("category"):
            rows.append([label, setting["segmenter"], category, _mean_std(per_cat["benign_recall"].mean(), per_cat["benign_recall"].std()),
                         _mean_std(per_cat["benign_frr"].mean(), per_cat["benign_frr"].std())])
        pooled = group.groupby("seed")[["caught", "n_defective", "false_rejects", "n_benign"]].sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            recall = (pooled["caught"] / pooled["n_defective"]).to_numpy(float)
            frr = (pooled["false_rejects"] / pooled["n_benign"]).to_numpy(float)
        rows.append([label, setting["segmenter"], "overall", _mean_std(np.nanmean(recall), np.nanstd(recall, ddof=1) if recall.size > 1 else np.nan),
                     _mean_std(np.nanmean(frr), np.nanstd(frr, ddof=1) if frr.size > 1 else np.nan)])
    out = pd.DataFrame(rows, columns=["setting", "segmenter", "product", "recall (%) ↑", "false-reject rate (%) ↓"])
    caption = _caption(f"Benign-product simulation with rules '{rules_name}': recall of defective products and false-reject "
                       "rate of benign ones, decided from ground-truth and predicted masks.", frame,
                       [protocol_of(r) for _, r in frame.iterrows()])
    return Table("benign", "Benign-product recall and false-reject rate", caption, out)


def quality_table(quality_records: list[dict]) -> Table | None:
    """DefectDiffu Table 1 / DefectSynth Table II form, from ``bench.quality/1`` records."""
    if not quality_records:
        return None
    rows = []
    for r in quality_records:
        m = r["metrics"]
        rows.append({"generator": generator_label(r["spec"]["generator"]), "category": r["spec"]["category"], "seed": r["spec"]["seed"],
                     **{k: m.get(k) for k in ("FID", "KID_mean", "KID_std", "IS_mean", "LPIPS", "IC_LPIPS")}})
    frame = pd.DataFrame(rows)
    agg = frame.groupby(["generator", "category"]).agg(["mean", "std"])
    out = pd.DataFrame({"generator": [k[0] for k in agg.index], "category": [k[1] for k in agg.index]})
    for metric in ("FID", "KID_mean", "IS_mean", "LPIPS", "IC_LPIPS"):
        out[metric] = [_plain_mean_std(m, s) for m, s in zip(agg[(metric, "mean")], agg[(metric, "std")])]
    variants = sorted({r["variants"]["ic_lpips"] for r in quality_records})
    caption = (f"Image quality (DefectDiffu Table 1 / DefectSynth Table II form). Protocol: quality; split: "
               f"{', '.join(sorted({r['spec']['split'] for r in quality_records}))}; seeds: {_seeds_text(frame['seed'])}; "
               f"IC-LPIPS variant: {', '.join(variants)}; mean ± std over seeds.")
    return Table("quality", "Image quality", caption, out)


def _plain_mean_std(mean, std) -> str:
    if mean is None or np.isnan(mean):
        return "n/a"
    return f"{mean:.4g}" if np.isnan(std) else f"{mean:.4g} ± {std:.2g}"


def ratio_curves(frame: pd.DataFrame, metric: str = "mIoU") -> pd.DataFrame:
    """Points of the ratio plot: per task and generator, mean and std over seeds at each ratio, the shared
    real-only baseline drawn as every generator's ratio-0 point."""
    synthetic = frame[(frame["fill_to"] == 0) & (frame["normal_ratio"] == 0)]
    base = synthetic[synthetic["ratio"] == 0]
    rows = []
    for generator in sorted(set(synthetic.loc[synthetic["ratio"] > 0, "generator"])):
        mine = pd.concat([base.assign(generator=generator), synthetic[synthetic["generator"] == generator]])
        stats = mine.groupby([*TASK, "ratio"])[metric].agg(["mean", "std", "count"]).reset_index()
        rows.append(stats.assign(generator=generator))
    columns = [*TASK, "generator", "ratio", "mean", "std", "count"]
    return pd.concat(rows)[columns].reset_index(drop=True) if rows else pd.DataFrame(columns=columns)


def build_tables(frame: pd.DataFrame, rules_name: str, quality_records: Iterable[dict] = (), metric: str = "mIoU", seed: int = 0) -> list[Table]:
    """All report tables that the records support, in reading order."""
    delta_frame = deltas(frame, metric, seed)
    tables = [
        Table("runs", "All runs", _caption("Every setting: mIoU and mIoU over defect classes, pixel and image AUROC.",
                                           frame, [protocol_of(r) for _, r in frame.iterrows()]), _run_table(frame)),
        category_segmenter_table(frame, metric),
    ]
    if not delta_frame.empty:
        if (delta_frame["protocol"] != "normal-data").any():
            tables += [with_without_table(frame, delta_frame, metric), generator_table(delta_frame, frame, metric)]
        if (delta_frame["protocol"] == "normal-data").any():
            tables.append(normal_data_table(delta_frame, frame, metric))
    if frame["benign_recall"].notna().any():
        tables.append(benign_table(frame, rules_name))
    quality = quality_table(list(quality_records))
    return tables + ([quality] if quality else [])


def _run_table(frame: pd.DataFrame) -> pd.DataFrame:
    metrics = ("mIoU", "mIoU_defect", "pixel_AUROC", "image_AUROC")
    board = leaderboard(frame, metrics)
    out = board[[*TASK, *SETTING, "seeds"]].copy()
    for m in metrics:
        out[f"{m} (%)"] = [_mean_std(a, b) for a, b in zip(board[f"{m}_mean"], board[f"{m}_std"])]
    return out


# --- rendering ---------------------------------------------------------------------------------------


def render(table: Table, fmt: str) -> str:
    """One table as markdown (caption above), LaTeX (table environment with caption), CSV or an HTML fragment."""
    frame = table.frame.astype(str)
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "markdown":
        body = tabulate(frame.values.tolist(), headers=list(frame.columns), tablefmt="github", disable_numparse=True)
        return f"{table.caption}\n\n{body}\n"
    if fmt == "latex":
        body = tabulate(frame.values.tolist(), headers=list(frame.columns), tablefmt="latex_booktabs", disable_numparse=True)
        caption = table.caption.replace("**", "").replace("%", r"\%").replace("_", r"\_")
        return f"\\begin{{table}}[t]\n\\centering\n\\caption{{{caption}}}\n{body}\n\\end{{table}}\n"
    if fmt == "html":
        body = tabulate(frame.values.tolist(), headers=list(frame.columns), tablefmt="html", disable_numparse=True)
        return f"<h2>{_escape(table.title)}</h2>\n<p>{_escape(table.caption.replace('**', ''))}</p>\n{body}\n"
    raise ValueError(f"unknown format {fmt}")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def html_page(tables: list[Table], plots: list[str]) -> str:
    """A static page: every table and every plot, no scripts, no external assets."""
    parts = [render(t, "html") for t in tables]
    parts += [f'<figure><img src="{p}" alt="{_escape(p)}"><figcaption>{_escape(p)}</figcaption></figure>' for p in plots]
    style = "body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
    return f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>bench report</title><style>{style}</style></head>\n<body>\n<h1>bench report</h1>\n" + "\n".join(parts) + "\n</body></html>\n"


def ratio_figures(curves: pd.DataFrame, metric: str = "mIoU") -> list[tuple[str, "object"]]:
    """One matplotlib figure per task (Defect Spectrum Fig. 8/9 form): metric vs ratio per generator, with a
    band of ± one std over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = []
    for key, task in curves.groupby(TASK, sort=True):
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for generator, line in task.groupby("generator", sort=True):
            line = line.sort_values("ratio")
            x, y, s = line["ratio"].to_numpy(float), 100 * line["mean"].to_numpy(float), 100 * line["std"].fillna(0).to_numpy(float)
            ax.plot(x, y, marker="o", label=generator)
            ax.fill_between(x, y - s, y + s, alpha=0.2)
        ax.set_xlabel("synthetic pairs per real pair")
        ax.set_ylabel(f"{metric} (%)")
        dataset, category, split, segmenter, schedule = key
        ax.set_title(f"{dataset}/{category} · {segmenter} · {split} · {schedule}", fontsize=9)
        ax.legend(fontsize=8)
        fig.tight_layout()
        figures.append((f"ratio_{dataset}_{category}_{segmenter}_{split}_{schedule}".replace("/", "-"), fig))
    return figures
