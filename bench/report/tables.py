"""The report's table forms, from a records frame: the run leaderboard, the comparisons with the real-only
baseline, the generator leaderboard, and the table forms of the papers (Defect Spectrum Tables 3-7,
the benign-product simulation, DefectDiffu Table 1 / DefectSynth Table II).

Every table keeps apart what differs in anything but the seed (``frames.GROUP``): a key column the
table does not show by its form is added wherever rows would otherwise look alike, and what all rows
share goes into the caption. Comparisons are paired by seed (``stats``); a table's verdicts are
Holm-corrected across its comparisons, and every form shows and explains them through ``compare``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from bench.core.specs import BASE_VERSION
from bench.data.splits import Preset
from bench.report import compare, stats
from bench.report.format import mean_std, number, percent, plain_mean_std, seeds_text
from bench.report.frames import (
    GROUP,
    SETTING,
    TASK,
    TRAINING,
    comparison_kind,
    constants,
    generator_label,
    is_baseline,
    metrics_of,
    needed_columns,
    refitted,
    setting_label,
)

# Which metrics the run table shows (those the records have), and how headers name metrics: data, so a
# new metric is a line here, and any metric the records carry can be the report's --metric anyway.
SUMMARY_METRICS = ["mIoU", "mIoU_defect", "pixel_AUROC", "pixel_AUPRO", "image_AUROC"]
METRIC_LABELS = {"mIoU_defect": "mIoU defect", "pixel_AUROC": "pixel AUROC", "image_AUROC": "image AUROC",
                 "pixel_AP": "pixel AP", "image_AP": "image AP", "pixel_F1max": "pixel F1-max", "image_F1max": "image F1-max",
                 "pixel_AUPRO": "pixel AUPRO", "pixel_F1": "pixel F1 (fixed threshold)", "image_F1": "image F1 (fixed threshold)",
                 "binary.mIoU": "binary mIoU", "binary.mIoU_defect": "binary defect IoU"}
MEAN_KEY = [c for c in GROUP if c not in ("category", "data")]  # what a mean over categories keeps apart
SYNTHETIC = ("synthetic-ratio", "upsample")
OWN_FAMILY = ("normal-data", "synthetic-only", "transfer")  # kinds whose verdicts are corrected as a family of their own


def family_of(kind: str) -> str:
    return kind if kind in OWN_FAMILY else "synthetic"
QUALITY_METRICS = ("FID", "KID_mean", "IS_mean", "LPIPS", "IC_LPIPS")
QUALITY_KEY = ["generator", "dataset", "category", "split", "n_generated", "lpips", "ic_lpips", "region"]


@dataclass(frozen=True)
class Table:
    name: str  # file stem
    title: str
    caption: str
    frame: pd.DataFrame  # display strings
    run_ids: tuple[str, ...] = ()  # the runs behind it, for its provenance
    keep: tuple[str, ...] = ()  # columns shown even where every row has the same value (the verdict counts)


def runs_of(frame: pd.DataFrame) -> tuple[str, ...]:
    return tuple(sorted(set(frame["run_id"]))) if "run_id" in frame else ()


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def _per_row(counts: Iterable[int]) -> str:
    counts = sorted(set(int(c) for c in counts))
    if not counts:
        return "none"
    return f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"


def _refit_warning(frame: pd.DataFrame) -> str:
    groups = [g for _, g in frame.groupby(GROUP, sort=False, dropna=False) if refitted(g)] if "fitted_state" in frame else []
    if not groups:
        return ""
    names = ", ".join(sorted({g["generator"].iloc[0] for g in groups}))
    return (f" Warning: {len(groups)} setting(s) labelled fitted once hold seeds from different fittings ({names}): "
            "their seeds also measure generator training; see the runs table.")


def _degenerate_warning(frame: pd.DataFrame) -> str:
    bad = frame[frame["degenerate"] != ""]
    if bad.empty:
        return ""
    notes = ", ".join(sorted(set(bad["degenerate"])))
    return (f" Warning: {len(bad)} of {len(frame)} runs are degenerate ({notes}): their scores say nothing about "
            "the training data; see the runs table.")


def _mask_warning(frame: pd.DataFrame) -> str:
    flagged = frame[frame["masks"] != ""] if "masks" in frame else frame.iloc[:0]
    if flagged.empty:
        return ""
    names = ", ".join(sorted(set(flagged["generator"])))
    return (f" Warning: {len(flagged)} of {len(frame)} runs trained on generated sets with degenerate masks (empty, whole-picture "
            f"or covering most of the picture: {names}); see the runs table.")


def mask_flags(group: pd.DataFrame) -> str:
    """A note when a setting's generated sets hold degenerate masks: how many seeds, and each one's counts."""
    flagged = group[group["masks"] != ""] if "masks" in group else group.iloc[:0]
    if flagged.empty:
        return ""
    return f"degenerate masks in {len(flagged)} of {len(group)} seeds' sets ({'; '.join(sorted(set(flagged['masks'])))})"


def caption(what: str, frame: pd.DataFrame, per_row: Iterable[int], extra: str = "") -> str:
    """``what``, then the protocols that asked for the runs, what all rows share, the seeds and how many
    each row has, ``extra`` (statistics), and a warning when degenerate runs are among them."""
    protocols = ", ".join(sorted(set(frame["requested_by"]))) or "none"
    shared = constants(frame)
    return (f"{what} Protocol: {protocols}; {shared + '; ' if shared else ''}seeds: {seeds_text(frame['seed'])} "
            f"({_per_row(per_row)} per row).{' ' + extra if extra else ''}{_degenerate_warning(frame)}{_refit_warning(frame)}"
            f"{_mask_warning(frame)}")


# --- the run leaderboard -----------------------------------------------------------------------------


def leaderboard(frame: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Mean and sample std over seeds per group (the whole spec minus the seed), with the seeds, who
    asked for the runs and how many of them are degenerate."""
    columns = [*GROUP, "seeds", "seed_list", "requested_by", "degenerate", *[f"{m}_{s}" for m in metrics for s in ("mean", "std")]]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for key, group in frame.groupby(GROUP, sort=True, dropna=False):
        row = dict(zip(GROUP, key))
        bad = group[group["degenerate"] != ""]
        degenerate = f"degenerate: {', '.join(sorted(set(bad['degenerate'])))} ({len(bad)} of {len(group)} seeds)" if len(bad) else ""
        row.update(seeds=group["seed"].nunique(), seed_list=seeds_text(group["seed"]),
                   requested_by=", ".join(sorted(set(group["requested_by"]))),
                   degenerate="; ".join(filter(None, (degenerate, refitted(group), mask_flags(group)))))
        for m in metrics:
            row[f"{m}_mean"], row[f"{m}_std"] = group[m].mean(), group[m].std()
        rows.append(row)
    board = pd.DataFrame(rows, columns=columns)
    order = board.assign(_setting=~is_baseline(board)).sort_values([*TASK, "_setting", *SETTING], kind="stable").index
    return board.loc[order].reset_index(drop=True)  # each task's real-only baseline first


def summary_metrics(frame: pd.DataFrame, metric: str | None = None) -> list[str]:
    present = metrics_of(frame)
    chosen = [m for m in SUMMARY_METRICS if m in present]
    return chosen + ([metric] if metric and metric not in chosen else [])


def run_table(frame: pd.DataFrame, metric: str | None = None, records_note: str = "") -> Table:
    """Every group of runs: its key, seeds, mean ± std of the summary metrics, and a note for degenerate runs."""
    metrics = summary_metrics(frame, metric)
    board = leaderboard(frame, metrics)
    shown = ["dataset", "category", "split", "segmenter", "schedule", *SETTING[:4]]  # the rest where they vary
    columns = shown[:5] + needed_columns(frame, shown) + shown[5:]
    out = board[columns].copy()
    out["requested by"] = board["requested_by"]
    out["seeds"] = board["seeds"]
    for m in metrics:
        out[f"{metric_label(m)} (%)"] = [mean_std(a, b) for a, b in zip(board[f"{m}_mean"], board[f"{m}_std"])]
    if (board["degenerate"] != "").any():
        out["note"] = board["degenerate"]
    what = "**Leaderboard** — every setting, mean ± sample std over seeds, percent."
    return Table("runs", "Leaderboard", caption(what, frame, board["seeds"], records_note), out.reset_index(drop=True), runs_of(frame))


# --- comparisons with the real-only baseline ---------------------------------------------------------


def _seed_values(group: pd.DataFrame, metric: str) -> dict[int, float]:
    return dict(zip(group["seed"].astype(int), group[metric].astype(float)))


DELTA_COLUMNS = [*GROUP, "kind", "family", "requested_by", *compare.RAW, *compare.CORRECTED]


def deltas(frame: pd.DataFrame, metric: str = "mIoU", alpha: float = stats.ALPHA, margin: float = stats.MARGIN,
           designs: Mapping[str, stats.Design] | None = None) -> pd.DataFrame:
    """Every setting against the real-only baseline of its task (``TASK``), paired by seed, with the
    t-interval, the p-value, its Holm correction within the family (synthetic data / normal data), the
    corrected interval, the minimum detectable effect and the verdict. ``designs``: the runs of sequential
    builds with their designs (``compare.designs_of``); a setting whose runs came from one is analysed look by
    look. Settings without a baseline run in their task are left out."""
    base = frame[is_baseline(frame)]
    baselines = {key: (_seed_values(g, metric), set(g["requested_by"])) for key, g in base.groupby(TASK, sort=False, dropna=False)}
    rows = []
    for key, group in frame[~is_baseline(frame)].groupby(GROUP, sort=True, dropna=False):
        row = dict(zip(GROUP, key))
        ref = baselines.get(tuple(row[k] for k in TASK))
        if ref is None:
            continue
        kind = comparison_kind(row)
        row.update(kind=kind, family=family_of(kind),
                   requested_by=", ".join(sorted(set(group["requested_by"]) | ref[1])))
        design = compare.design_of(group["run_id"], designs or {})
        row.update(compare.row_of(stats.compare(_seed_values(group, metric), ref[0], alpha, design)))
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=DELTA_COLUMNS)
    return compare.correct(pd.DataFrame(rows), alpha, margin)[DELTA_COLUMNS]


def category_mean_deltas(frame: pd.DataFrame, metric: str = "mIoU", alpha: float = stats.ALPHA, margin: float = stats.MARGIN,
                         designs: Mapping[str, stats.Design] | None = None) -> pd.DataFrame:
    """The dataset-mean comparison of each setting present in two or more categories: per seed, the mean
    over categories of setting and of baseline, over the seeds every category pairs; then the same paired
    comparison, Holm-corrected across these mean rows."""
    base = frame[is_baseline(frame)]
    baselines = {key: g for key, g in base.groupby(TASK, sort=False, dropna=False)}
    rows = []
    for key, group in frame[~is_baseline(frame)].groupby(MEAN_KEY, sort=True, dropna=False):
        units = group.groupby(["category", "data"], sort=True)
        if group["category"].nunique() < 2 or units.ngroups != group["category"].nunique():
            continue
        row = dict(zip(MEAN_KEY, key))
        refs = [baselines.get(tuple({**row, "category": c, "data": d}[k] for k in TASK)) for c, d in units.groups]
        if any(ref is None for ref in refs):
            continue
        setting = [_seed_values(unit, metric) for _, unit in units]
        baseline = [_seed_values(ref, metric) for ref in refs]
        common = set.intersection(*(set(s) & set(b) for s, b in zip(setting, baseline)))
        kind = comparison_kind(row)
        row.update(category=f"mean ({len(setting)} categories)", data="", kind=kind,
                   family=family_of(kind),
                   requested_by=", ".join(sorted(set(group["requested_by"]))))
        design = compare.design_of(group["run_id"], designs or {})
        row.update(compare.row_of(stats.compare(_mean_over(setting, common), _mean_over(baseline, common), alpha, design)))
        left_out = set().union(*setting, *baseline) - common
        if design is not None:
            left_out |= common - design.seeds
        row["unpaired"] = seeds_text(left_out) if left_out else ""
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=DELTA_COLUMNS)
    return compare.correct(pd.DataFrame(rows), alpha, margin)[DELTA_COLUMNS]


def _mean_over(sides: list[dict[int, float]], seeds: set[int]) -> dict[int, float]:
    """Per seed, the mean over categories."""
    return {s: float(np.mean([side[s] for side in sides])) for s in seeds}


COUNTED = [*stats.VERDICTS, "n/a"]


def generator_leaderboard(delta_frame: pd.DataFrame) -> pd.DataFrame:
    """Per generator (and any key that splits its runs beyond the points): how many of its points each verdict
    took (win, equivalent, inconclusive, loss, n/a) and the mean Δ; most wins first."""
    synthetic = delta_frame[delta_frame["family"] == "synthetic"]
    points = ["category", "segmenter", "ratio", "fill_to", "normal_ratio", "data"]
    extras = needed_columns(synthetic, ["generator", *points], [c for c in GROUP if c not in (*points, *SETTING)])
    rows = []
    for key, group in synthetic.groupby(["generator", *extras], sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        verdicts = group["verdict"]
        counts = {v: int((verdicts == v).sum()) for v in stats.VERDICTS}
        rows.append({**dict(zip(["generator", *extras], key)), "points": len(group), **counts,
                     "n/a": int(verdicts.str.startswith("n/a").sum()), "mean_delta": group["delta"].mean()})
    table = pd.DataFrame(rows, columns=["generator", *extras, "points", *COUNTED, "mean_delta"])
    return table.sort_values(["win", "mean_delta", "loss"], ascending=[False, False, True]).reset_index(drop=True)


def _delta_display(d: pd.DataFrame, lead: dict[str, list], extras: Sequence[str], sides: dict[str, list]) -> pd.DataFrame:
    """A comparison table: its own leading columns, the key columns it needs, both sides, then the comparison."""
    out = pd.DataFrame({**lead, **{c: [v if v == v else "" for v in d.get(c, [""] * len(d))] for c in extras}, **sides})
    for name, values in compare.columns(d).items():
        out[name] = values
    out["seeds"] = list(d["seeds"])
    if (d["unpaired"] != "").any():
        out["unpaired seeds"] = list(d["unpaired"])
    return out


def _with_means(d: pd.DataFrame, means: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([d, means], ignore_index=True) if not means.empty else d.reset_index(drop=True)


def _used(frame: pd.DataFrame, d: pd.DataFrame) -> pd.DataFrame:
    """The runs behind a comparison table: its settings and their baselines."""
    in_task = pd.MultiIndex.from_frame(frame[TASK]).isin(pd.MultiIndex.from_frame(d[TASK]))
    is_setting = pd.MultiIndex.from_frame(frame[GROUP]).isin(pd.MultiIndex.from_frame(d[GROUP]))
    return frame[in_task & (is_baseline(frame).to_numpy() | is_setting)]


def _setting_comparison(delta_frame: pd.DataFrame, mean_frame: pd.DataFrame, kinds: Sequence[str], sides: tuple[str, str]):
    """The comparisons of some kinds with their mean rows, shown per category, segmenter and setting."""
    points = delta_frame[delta_frame["kind"].isin(kinds)]
    means = mean_frame[mean_frame["kind"].isin(kinds)]
    d = _with_means(points, means)
    extras = needed_columns(points, ["category", "segmenter", *SETTING])
    out = _delta_display(
        d, {"category": list(d["category"]), "segmenter": list(d["segmenter"]), "setting": [setting_label(r) for _, r in d.iterrows()]},
        extras, {sides[0]: [percent(v) for v in d["baseline"]], sides[1]: [percent(v) for v in d["value"]]},
    )
    return points, means, out


def with_without_table(frame: pd.DataFrame, delta_frame: pd.DataFrame, mean_frame: pd.DataFrame, metric: str = "mIoU",
                       alpha: float = stats.ALPHA, margin: float = stats.MARGIN) -> Table:
    """Defect Spectrum Table 4/5 (and 6, fill-to) form: without vs with synthetic data per category and
    segmenter, then the mean over categories."""
    points, means, out = _setting_comparison(delta_frame, mean_frame, SYNTHETIC, ("w/o synthetic", "with synthetic"))
    used = _used(frame, points)
    what = (f"{metric_label(metric)} without and with synthetic data (Defect Spectrum Table 4/5 form; fill-to rows Table 6), "
            f"percent; mean rows average over categories.")
    text = compare.family_text(points, alpha, margin, used) + (" Mean rows are corrected as a family of their own."
                                                               if not means.empty else "")
    return Table("with_without", f"{metric_label(metric)} with and without synthetic data", caption(what, used, points["n"], text), out,
                 runs_of(used))


def _effective_normals(frame: pd.DataFrame) -> dict:
    """The effective normal ratios of each setting's runs, keyed by the setting's task (without the data
    column, so category-mean rows find theirs) and nominal ratio."""
    key = [c for c in GROUP if c not in ("category", "data")]
    out: dict = {}
    for _, row in frame[frame["normal_ratio"] > 0].iterrows():
        out.setdefault((row["category"], *(row[c] for c in key)), set()).add(round(float(row["normal_effective"]), 4))
    return out


def normal_label(row, effective: dict) -> str:
    """The nominal p, and the p the runs actually had when it is lower (``2 (effective 1.4)``)."""
    key = [row[c] for c in GROUP if c not in ("category", "data")]
    nominal = float(row["normal_ratio"])
    if str(row["category"]).startswith("mean"):
        found = set().union(*(v for k, v in effective.items() if list(k[1:]) == key))
    else:
        found = effective.get((row["category"], *key), set())
    lower = sorted(v for v in found if v < round(nominal, 4))
    if not lower:
        return number(nominal)
    shown = ", ".join(number(v) for v in sorted(found))
    return f"{number(nominal)} (effective {shown})"


def normal_data_table(frame: pd.DataFrame, delta_frame: pd.DataFrame, mean_frame: pd.DataFrame, metric: str = "mIoU",
                      alpha: float = stats.ALPHA, margin: float = stats.MARGIN) -> Table:
    """Defect Spectrum Table 7 form: real only vs real + defect-free images, per category and segmenter."""
    points = delta_frame[delta_frame["kind"] == "normal-data"]
    d = _with_means(points, mean_frame[mean_frame["kind"] == "normal-data"])
    extras = needed_columns(points, ["category", "segmenter", *SETTING])
    effective = _effective_normals(frame)
    out = _delta_display(
        d, {"category": list(d["category"]), "segmenter": list(d["segmenter"]),
            "normals per real pair": [normal_label(r, effective) for _, r in d.iterrows()]},
        extras, {"real only": [percent(v) for v in d["baseline"]], "with normals": [percent(v) for v in d["value"]]},
    )
    what = (f"{metric_label(metric)} with defect-free training images added (Defect Spectrum Table 7 form), percent; "
            "a row whose category had fewer normals than asked is labelled with the ratio it ran at (effective p).")
    used = _used(frame, points)
    return Table("normal_data", f"{metric_label(metric)} with added defect-free images",
                 caption(what, used, points["n"], compare.family_text(points, alpha, margin, used)), out, runs_of(used))


def synthetic_only_note(runs: pd.DataFrame) -> str:
    """The counts of the runs trained on generated pairs alone, beside DefectSynth Table IX's 500 (its caption's
    citation holds only where they match): empty without such runs."""
    only = runs[runs["synthetic_only"].astype(bool) & (runs["source"] == "")]
    if only.empty:
        return ""
    counts = sorted({f"{int(f)} generated pairs" if f else f"{number(r)} x |real train| pairs" for f, r in zip(only["fill_to"], only["ratio"])})
    return (" Rows trained on generated pairs alone follow DefectSynth Table IX's reading; Table IX trains on 500 generated "
            f"images, these rows on {', '.join(counts)}.")


def synthetic_only_table(frame: pd.DataFrame, delta_frame: pd.DataFrame, mean_frame: pd.DataFrame, metric: str = "mIoU",
                         alpha: float = stats.ALPHA, margin: float = stats.MARGIN) -> Table:
    """DefectSynth Table IX form: real pairs only against synthetic pairs only, per category, segmenter and
    generator, then the mean over categories."""
    points, _, out = _setting_comparison(delta_frame, mean_frame, ("synthetic-only",), ("real only", "synthetic only"))
    what = (f"{metric_label(metric)} of segmenters trained on synthetic pairs alone against real pairs alone "
            "(DefectSynth Table IX form), percent; the generator learned from the real training pairs.")
    used = _used(frame, points)
    what += synthetic_only_note(used)
    return Table("synthetic_only", f"{metric_label(metric)} trained on synthetic pairs only",
                 caption(what, used, points["n"], compare.family_text(points, alpha, margin, used)), out, runs_of(used))


# DCDGANc Table 8 reports AUC / F1: F1 at the segmenter's own decision, F1-max beside it, as in the crop table
TRANSFER_METRICS = ("pixel_AUROC", "pixel_F1", "pixel_F1max", "mIoU_defect")
BY_TYPE = "by_type"  # the record's block of metrics per transferred target type (bench.metrics.evaluate.metrics_by_type)


def transferred_types(runs: pd.DataFrame) -> list[str]:
    """The target types the runs scored on their own (``by_type.<type>.*`` columns with a value)."""
    found = {c.split(".")[1] for c in runs.columns if c.startswith(f"{BY_TYPE}.") and c.endswith(".pixel_AUROC")}
    return sorted(t for t in found if runs[f"{BY_TYPE}.{t}.pixel_AUROC"].notna().any())


def transfer_table(frame: pd.DataFrame) -> Table:
    """DCDGANc Table 8 form: per source -> target, generator and segmenter, trained on transferred pairs
    alone or with target normals, the AUC and F1 on the real target pictures of every transferred type together
    and, below, of each type alone (mean ± std over seeds)."""
    runs = frame[frame["source"] != ""]
    metrics = [m for m in TRANSFER_METRICS if m in runs.columns and runs[m].notna().any()]
    types = transferred_types(runs)
    per_type = {t: [m for m in (*metrics, "n_images") if f"{BY_TYPE}.{t}.{m}" in runs.columns] for t in types}
    board = leaderboard(runs, metrics + [f"{BY_TYPE}.{t}.{m}" for t, ms in per_type.items() for m in ms])
    extras = needed_columns(runs, ["source", "category", "generator", "segmenter", "normal_ratio"],
                            [c for c in GROUP if c not in ("synthetic_only", "data")])
    rows = []
    for _, row in board.iterrows():
        base = {
            "source -> target": f"{row['source']} -> {row['category']}", "generator": row["generator"], "segmenter": row["segmenter"],
            **{c: row[c] if row[c] == row[c] else "" for c in extras},
            "trained on": "transferred only" if not row["normal_ratio"] else f"transferred + {number(row['normal_ratio'])}x target normals",
        }
        scored = [("every transferred type" if types else None, "")] + [
            (f"{t} ({int(row[f'{BY_TYPE}.{t}.n_images_mean'])} images)", f"{BY_TYPE}.{t}.") for t in types
            if row.get(f"{BY_TYPE}.{t}.pixel_AUROC_mean") == row.get(f"{BY_TYPE}.{t}.pixel_AUROC_mean")]
        for tested, prefix in scored:
            rows.append({
                **base, **({"tested on": tested} if types else {}),
                **{f"{metric_label(m)} (%)": mean_std(row[f"{prefix}{m}_mean"], row[f"{prefix}{m}_std"]) if f"{prefix}{m}_mean" in row
                   else "" for m in metrics},
                "seeds": row["seeds"],
            })
    columns = ["source -> target", "generator", "segmenter", *extras, "trained on", *(["tested on"] if types else []),
               *[f"{metric_label(m)} (%)" for m in metrics], "seeds"]
    out = pd.DataFrame(rows, columns=columns)
    what = ("**Defect transfer** (DCDGANc Table 8 form) — a generator learns a source product's defects and puts them "
            "on the target's normals; the segmenter never sees a real target defect and is tested on the target pictures of "
            "the types the transfer moves (types nothing moves onto are left out)"
            + ("; each type is also scored on its own pictures, as Table 8 does" if types else "")
            + "; mean ± sample std over seeds, percent.")
    return Table("transfer", "Defect transfer (zero-shot)", caption(what, runs, board["seeds"]), out, runs_of(runs))


LOCALIZATION_METRICS = ("image_AUROC", "image_AP", "image_F1max", "pixel_AUROC", "pixel_AP", "pixel_F1max", "pixel_AUPRO")


def localization_table(frame: pd.DataFrame) -> Table:
    """AnomalyDiffusion Table 2 form: per category, segmenter and training data, image- and pixel-level AUROC,
    AP and F1-max and AUPRO of binary defect localization (mean ± std over seeds)."""
    runs = frame[own_binary(frame) & ~cropped(frame)]
    metrics = [m for m in LOCALIZATION_METRICS if m in runs.columns and runs[m].notna().any()]
    board = leaderboard(runs, metrics)
    extras = needed_columns(runs, ["category", "segmenter", "generator", "ratio"], [c for c in GROUP if c != "data"])
    out = pd.DataFrame({
        "category": list(board["category"]), "segmenter": list(board["segmenter"]),
        "trained on": [setting_label(row) for _, row in board.iterrows()],
        **{c: [v if v == v else "" for v in board[c]] for c in extras if c not in SETTING},
        **{f"{metric_label(m)} (%)": [mean_std(a, b) for a, b in zip(board[f"{m}_mean"], board[f"{m}_std"])] for m in metrics},
        "seeds": list(board["seeds"]),
    })
    scores = ", ".join(sorted(set(runs["image_score"]) - {""})) or "unrecorded"
    what = ("**Defect localization** (AnomalyDiffusion Table 2 form) — every defect class merged into one, the segmenter's "
            f"defect probability scored per pixel and per image (image score: {scores}); AUPRO as in MVTec AD; "
            "mean ± sample std over seeds, percent." + synthetic_only_note(runs))
    return Table("localization", "Defect localization (binary)", caption(what, runs, board["seeds"]), out, runs_of(runs))


def own_binary(frame: pd.DataFrame) -> pd.Series:
    """Binary-label runs of the localization and crop tables: not transfers, which the transfer table shows."""
    return (frame["labels"] == "binary") & (frame["source"] == "")


def cropped(frame: pd.DataFrame) -> pd.Series:
    """Runs of a crop view (a split preset with ``+crop:``): DCDGANc's table form, not AnomalyDiffusion's."""
    return frame["split"].map(lambda split: Preset.parse(split).crop > 0).astype(bool)


CROP_METRICS = {"pixel_AUROC": "AUC", "pixel_F1": "F1", "pixel_F1max": "F1-max"}  # DCDGANc Tables 4/6 report AUC / F1
CROP_COMPARED = ("pixel_AUROC", "pixel_F1")
AUGMENT = "augment"  # the traditional-augmentation arm the other generators are compared with
ARM_NAMES = {AUGMENT: "Augment", "dcdganc": "Enlarge"}  # the paper's names of its arms


def generator_name(label: str) -> str:
    """The registered name at the front of a generator label (``augment(brightness=0.5) [...]`` -> ``augment``)."""
    return re.match(r"[^(@\s\[]+", label).group()


def _arm(row, baseline: bool) -> str:
    arm = "Raw" if baseline else ARM_NAMES.get(generator_name(row["generator"]))
    return f"{arm}: {setting_label(row)}" if arm else setting_label(row)


def raw_augment_enlarge_table(frame: pd.DataFrame, alpha: float = stats.ALPHA, margin: float = stats.MARGIN) -> Table:
    """DCDGANc Table 4/6 form: per category and segmenter, Raw (real crops only), Augment and Enlarge (and any
    other generator), pixel AUC and F1 (mean ± std over seeds), each synthetic arm against Raw and against
    Augment at the same ratio, paired by seed, Holm-corrected across the table."""
    runs = frame[own_binary(frame) & cropped(frame)]
    metrics = [m for m in CROP_METRICS if runs[m].notna().any()]
    board = leaderboard(runs, metrics)
    baseline = is_baseline(board)
    by_group = {key: g for key, g in runs.groupby(GROUP, sort=False, dropna=False)}
    task_of = {key: tuple(dict(zip(GROUP, key))[c] for c in TASK) for key in by_group}
    raw = {task_of[key]: g for key, g in by_group.items() if is_baseline(g).iloc[0]}

    def augment_of(row) -> pd.DataFrame | None:
        """The one augment setting of the row's task at the row's amount of synthetic data."""
        same = [g for key, g in by_group.items() if task_of[key] == tuple(row[c] for c in TASK)
                and generator_name(key[GROUP.index("generator")]) == AUGMENT
                and all(key[GROUP.index(c)] == row[c] for c in [*SETTING, *TRAINING] if c != "generator")]
        return same[0] if len(same) == 1 else None

    cells = []  # (row index, column, comparison)
    for i, row in board[~baseline].iterrows():
        group, references = by_group[tuple(row[c] for c in GROUP)], {"Raw": raw.get(tuple(row[c] for c in TASK))}
        if generator_name(row["generator"]) != AUGMENT:
            references["Augment"] = augment_of(row)
        for side, ref in references.items():
            for m in CROP_COMPARED:
                if ref is not None and m in metrics:
                    cells.append((i, f"Δ {CROP_METRICS[m]} vs {side}", stats.compare(_seed_values(group, m), _seed_values(ref, m), alpha)))
    decided = compare.correct(pd.DataFrame([{"family": "table", **compare.row_of(c)} for _, _, c in cells],
                                           columns=["family", *compare.RAW]), alpha, margin)
    extras = needed_columns(runs, ["category", "segmenter", *SETTING], [c for c in GROUP if c not in ("labels", "data")])
    out = pd.DataFrame({
        "category": list(board["category"]), "segmenter": list(board["segmenter"]),
        "trained on": [_arm(row, b) for (_, row), b in zip(board.iterrows(), baseline)],
        **{c: [v if v == v else "" for v in board[c]] for c in extras},
        **{f"{CROP_METRICS[m]} (%)": [mean_std(a, b) for a, b in zip(board[f"{m}_mean"], board[f"{m}_std"])] for m in metrics},
    })
    for column in dict.fromkeys(col for _, col, _ in cells):
        out[column] = ""
    for (i, column, _), (_, comparison) in zip(cells, decided.iterrows()):
        out.loc[i, column] = compare.cell(comparison)
    out["seeds"] = list(board["seeds"])
    what = ("**Raw / Augment / Enlarge** (DCDGANc Table 4/6 form) — binary segmenters trained on the real defect crops "
            "alone (Raw), with augmented copies of them (Augment: brightness, rotation, noise) or with a generator's pairs "
            "(Enlarge: DCDGANc), tested on the defect crops of the test pictures; AUC: pixel AUROC; F1: pixel F1 with "
            "p(defect) >= 0.5, F1-max: at the best threshold on the test set (a choice made on test data, shown for "
            "comparison with papers that report it); mean ± sample std over seeds, percent. Each comparison cell: Δ "
            f"[corrected CI] verdict (p ({stats.CORRECTION}); MDE). " + compare.family_text(decided, alpha, margin, runs))
    return Table("raw_augment_enlarge", "Raw / Augment / Enlarge (crops)", caption(what, runs, board["seeds"]), out, runs_of(runs))


def generator_table(frame: pd.DataFrame, delta_frame: pd.DataFrame, metric: str = "mIoU", alpha: float = stats.ALPHA,
                    margin: float = stats.MARGIN) -> Table:
    board = generator_leaderboard(delta_frame)
    out = board.assign(mean_delta=[percent(v, True) for v in board["mean_delta"]]).rename(columns={"mean_delta": f"mean Δ {metric_label(metric)}"})
    synthetic = delta_frame[delta_frame["family"] == "synthetic"]
    what = (f"**Generator leaderboard** — how many category x segmenter x ratio points of each generator Δ{metric_label(metric)} "
            "against real only won, was equivalent within the margin, stayed inconclusive or lost, from the corrected verdicts; "
            "then the mean Δ.")
    used = _used(frame, synthetic)
    return Table("generators", "Generator leaderboard", caption(what, used, synthetic["n"], compare.family_text(synthetic, alpha, margin, used)),
                 out, runs_of(used), keep=tuple(COUNTED))


# --- per-category tables -----------------------------------------------------------------------------


def category_mean(group: pd.DataFrame, metric: str) -> tuple[float, float, int]:
    """Mean over categories of the per-category means; std over seeds of the per-seed category mean
    (seeds every category has); the number of categories."""
    per_category = group.groupby(["category", "data"])[metric].mean()
    by_seed = group.pivot_table(index="seed", columns=["category", "data"], values=metric, aggfunc="mean").dropna()
    std = by_seed.mean(axis=1).std(ddof=1) if len(by_seed) > 1 else np.nan
    return float(per_category.mean()), float(std), len(per_category)


def category_segmenter_table(frame: pd.DataFrame, metric: str = "mIoU") -> Table:
    """Defect Spectrum Table 3 form: per category (and setting) x segmenter, then the mean over categories."""
    extras = needed_columns(frame, ["category", "segmenter", *SETTING])
    index = ["category", "setting", *extras]
    cells: dict[tuple, dict[str, str]] = {}
    for key, group in frame.groupby(GROUP, sort=True, dropna=False):
        row = dict(zip(GROUP, key))
        label = (row["category"], setting_label(row), *(row[c] for c in extras))
        cells.setdefault(label, {})[row["segmenter"]] = mean_std(group[metric].mean(), group[metric].std())
    for key, group in frame.groupby(MEAN_KEY, sort=True, dropna=False):
        if group["category"].nunique() < 2 or group.groupby(["category", "data"]).ngroups != group["category"].nunique():
            continue
        row = dict(zip(MEAN_KEY, key))
        mean, std, k = category_mean(group, metric)
        label = (f"mean ({k} categories)", setting_label(row), *(row.get(c, "") for c in extras))
        cells.setdefault(label, {})[row["segmenter"]] = mean_std(mean, std)
    segmenters = sorted(frame["segmenter"].unique())
    out = pd.DataFrame([[*label, *(cells[label].get(s, "—") for s in segmenters)] for label in cells], columns=[*index, *segmenters])
    per_row = frame.groupby(GROUP, dropna=False)["seed"].nunique()
    what = (f"{metric_label(metric)} per category x segmenter (Defect Spectrum Table 3 form), mean ± sample std over "
            "seeds, percent; mean rows: mean over categories of the category means, std over seeds of the category mean.")
    return Table("category_segmenter", f"{metric_label(metric)} per category and segmenter", caption(what, frame, per_row), out,
                 runs_of(frame))


def benign_table(frame: pd.DataFrame, rules_name: str) -> Table:
    """Recall of defective products and false-reject rate per product, and overall (counts pooled over the
    products per seed, then mean ± std over seeds)."""
    extras = needed_columns(frame, ["category", "segmenter", *SETTING])
    keys = ["segmenter", *SETTING, *extras]
    rows = []
    for key, group in frame.groupby(keys, sort=True, dropna=False):
        setting = dict(zip(keys, key))
        label = [setting_label(setting), setting["segmenter"], *(setting[c] for c in extras)]
        for category, per_cat in group.groupby("category"):
            rows.append([*label, category, mean_std(per_cat["benign_recall"].mean(), per_cat["benign_recall"].std()),
                         mean_std(per_cat["benign_frr"].mean(), per_cat["benign_frr"].std())])
        pooled = group.groupby("seed")[["caught", "n_defective", "false_rejects", "n_benign"]].sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            recall = pd.Series((pooled["caught"] / pooled["n_defective"]).to_numpy(float))
            frr = pd.Series((pooled["false_rejects"] / pooled["n_benign"]).to_numpy(float))
        products = group["category"].nunique()
        rows.append([*label, f"overall ({products} product{'s' if products != 1 else ''}, pooled)", mean_std(recall.mean(), recall.std()),
                     mean_std(frr.mean(), frr.std())])
    out = pd.DataFrame(rows, columns=["setting", "segmenter", *extras, "product", "recall (%) ↑", "false-reject rate (%) ↓"])
    what = (f"Benign-product simulation with rules '{rules_name}': recall of defective products and false-reject rate of "
            "benign ones, decided from ground-truth and predicted masks; mean ± std over seeds.")
    per_row = frame.groupby(GROUP, dropna=False)["seed"].nunique()
    return Table("benign", "Benign-product recall and false-reject rate", caption(what, frame, per_row), out, runs_of(frame))


def quality_frame(records: Iterable[dict]) -> pd.DataFrame:
    rows = []
    for r in records:
        spec, m = r["spec"], r["metrics"]
        generator, backend = spec["generator"], r.get("generator") or {}
        rows.append({"generator": generator_label(generator["name"], generator.get("params") or {}, backend.get("version", BASE_VERSION),
                                                  (backend.get("resolved") or {}).get("deviations", ())),
                     **{k: spec[k] for k in QUALITY_KEY if k not in ("generator", "lpips")},
                     "lpips": spec.get("lpips", "diversity"), "seed": spec["seed"],  # records before variants: diversity
                     "requested_by": "quality", "degenerate": "",
                     **{k: np.nan if m.get(k) is None else float(m[k]) for k in QUALITY_METRICS}})
    return pd.DataFrame(rows, columns=[*QUALITY_KEY, "seed", "requested_by", "degenerate", *QUALITY_METRICS])


def quality_table(quality_records: Sequence[dict]) -> Table | None:
    """DefectDiffu Table 1 / DefectSynth Table II form, from ``bench.quality/1`` records: one row per
    quality setting (everything but the seed), then the mean over categories."""
    if not quality_records:
        return None
    frame = quality_frame(quality_records)
    extras = needed_columns(frame, ["generator", "category"], QUALITY_KEY)
    index = ["generator", "category", *extras]
    rows = []
    for key, group in frame.groupby(QUALITY_KEY, sort=True, dropna=False):
        row = dict(zip(QUALITY_KEY, key))
        rows.append([*(row[c] for c in index), *(plain_mean_std(group[m].mean(), group[m].std()) for m in QUALITY_METRICS)])
    rest = [c for c in QUALITY_KEY if c != "category"]
    for key, group in frame.groupby(rest, sort=True, dropna=False):
        if group["category"].nunique() < 2:
            continue
        row = {**dict(zip(rest, key)), "category": f"mean ({group['category'].nunique()} categories)"}
        cells = []
        for m in QUALITY_METRICS:
            mean, std, _ = category_mean(group.assign(data=""), m)
            cells.append(plain_mean_std(mean, std))
        rows.append([*(row[c] for c in index), *cells])
    out = pd.DataFrame(rows, columns=[*index, *QUALITY_METRICS])
    variants = ", ".join(sorted({r["variants"]["ic_lpips"] for r in quality_records}))
    shared = "; ".join(f"{c}: {frame[c].iloc[0]}" for c in ("dataset", "split", "n_generated", "lpips", "ic_lpips", "region")
                       if frame[c].nunique() == 1)
    sizes = ", ".join(sorted({r["variants"]["n_generated"] for r in quality_records if "n_generated" in r["variants"]}))
    lpips = ", ".join(sorted({r["variants"].get("lpips_variant", "diversity") for r in quality_records}))
    per_row = frame.groupby(QUALITY_KEY, dropna=False)["seed"].nunique()
    text = (f"Image quality (DefectDiffu Table 1 / DefectSynth Table II form). Protocol: quality; {shared}; seeds: "
            f"{seeds_text(frame['seed'])} ({_per_row(per_row)} per row); IC-LPIPS variant: {variants}; LPIPS: {lpips} "
            "(diversity: within the generated set, DefectDiffu's; to-real: generated vs real test defects, DefectSynth's); "
            + (f"generated per point: {sizes}; " if sizes else "")
            + "mean ± std over seeds; mean rows: mean over categories of the category means.")
    return Table("quality", "Image quality", text, out)


def _timing(records: Sequence[dict], part: str, metrics: Sequence[str]) -> pd.DataFrame:
    """Mean ± std over seeds of one part's timings, per name, category and device."""
    rows = [{"name": r["spec"]["name"], "category": r["spec"]["category"], "dataset": r["spec"]["dataset"],
             "device": r.get("device_name", r["spec"]["device"]), "seed": r["spec"]["seed"],
             **{m: r["metrics"].get(m) for m in metrics}} for r in records if r["spec"]["part"] == part]
    frame = pd.DataFrame(rows, columns=["name", "category", "dataset", "device", "seed", *metrics])
    return frame.astype({m: float for m in metrics})


def efficiency_tables(records: Sequence[dict]) -> list[Table]:
    """Defect Spectrum Table 2 form (segmenters: ms per image at batch 1, images/s, parameters) and DefectSynth
    Table IV form (generators: training time, pairs/s), each row with the device it was measured on."""
    tables = []
    key = ["name", "dataset", "category", "device"]
    for part, metrics, title, what in (
        ("segmenter", {"latency_ms": ("inf. time (ms), batch 1", 1), "throughput_img_s": ("throughput (img/s)", 1),
                       "params": ("params (M)", 1e-6)},
         "Segmenter speed", "**Segmenter speed** (Defect Spectrum Table 2 form): median ms per image at batch 1 and "
                            "images/s at a larger batch on the task's image size, random weights; mean ± std over seeds."),
        ("generator", {"train_s": ("training time (s)", 1), "pairs_per_s": ("pairs/s", 1), "end_to_end_s": ("fit + sample (s)", 1)},
         "Generator cost", "**Generator cost** (DefectSynth Table IV form): training time from a cold cache and pairs/s "
                           "of sampling, measured end to end on the trained generator; mean ± std over seeds."),
    ):
        frame = _timing(records, part, list(metrics))
        if frame.empty:
            continue
        rows = []
        for k, group in frame.groupby(key, sort=True):
            row = dict(zip(key, k))
            row.update({label: plain_mean_std(group[m].mean() * scale, group[m].std() * scale) for m, (label, scale) in metrics.items()})
            row["seeds"] = seeds_text(group["seed"])
            rows.append(row)
        out = pd.DataFrame(rows).rename(columns={"name": part})
        devices = ", ".join(sorted(set(frame["device"])))
        tables.append(Table(f"efficiency_{part}s", title, f"{what} Protocol: efficiency; device: {devices}.", out))
    return tables


CLASSIFICATION_KEY = ["generator", "ratio", "n_generated", "dataset", "category", "schedule", "device", "pretrained"]


def classification_table(records: Sequence[dict]) -> Table | None:
    """DefectSynth Table VIII form, from ``bench.classification/1`` records: per category and training data,
    accuracy and macro F1 (mean ± std over partitions) and the accuracy's mean paired difference to the real
    images alone (same partitions); then the mean over categories."""
    if not records:
        return None
    rows = []
    for r in records:
        spec, g, backend = r["spec"], r["spec"]["generator"], r.get("generator") or {}
        rows.append({"generator": generator_label(g["name"], g.get("params") or {}, backend.get("version", BASE_VERSION),
                                                  (backend.get("resolved") or {}).get("deviations", ())),
                     **{k: spec.get(k, 0) if k == "n_generated" else spec[k] for k in CLASSIFICATION_KEY[1:]},
                     "seed": spec["seed"], "accuracy": r["metrics"]["accuracy"], "F1": r["metrics"]["F1"]})
    frame = pd.DataFrame(rows)
    task = [c for c in CLASSIFICATION_KEY if c not in ("generator", "ratio", "n_generated")]
    keys = [(*(row[c] for c in task), row["seed"]) for _, row in frame.iterrows()]
    alone = (frame["ratio"] == 0) & (frame["n_generated"] == 0)
    real = {k: a for k, a, r in zip(keys, frame["accuracy"], alone) if r}
    frame["delta"] = [a - real[k] if k in real else np.nan for k, a in zip(keys, frame["accuracy"])]
    out_rows = []
    for key, group in frame.groupby(CLASSIFICATION_KEY, sort=True):
        row = dict(zip(CLASSIFICATION_KEY, key))
        added = f"{row['n_generated']} {row['generator']}" if row["n_generated"] else f"{row['generator']} x{number(row['ratio'])}"
        real_only = row["ratio"] == 0 and not row["n_generated"]
        out_rows.append({"category": row["category"], "trained on": "real only (w/o augmentation)" if real_only else f"real + {added}",
                         "accuracy (%)": mean_std(group["accuracy"].mean(), group["accuracy"].std()),
                         "F1 (%)": mean_std(group["F1"].mean(), group["F1"].std()),
                         "Δ accuracy (%)": "" if real_only else percent(group["delta"].mean(), True),
                         "partitions": seeds_text(group["seed"])})
    shared = "; ".join(f"{c}: {frame[c].iloc[0]}" for c in ("dataset", "schedule", "device", "pretrained") if frame[c].nunique() == 1)
    # the generated arms' size (records before sizes added r x real): the paper's 1,000 per category or small
    sizes = sorted({r["variants"].get("size", "small:").split(":")[0] for r in records if r["spec"]["generator"]["name"] != "none"})
    size = (" Generated images: 1,000 per category, as Table VIII." if sizes == ["paper"] else
            " Generated images: r x the real training images (size small), not Table VIII's 1,000 per category." if sizes == ["small"] else
            " Generated images: 1,000 per category (as Table VIII) in rows 'real + 1000 ...', r x the real training images "
            "in rows 'x r'." if sizes else "")
    text = ("**Defect-type classification** (DefectSynth Table VIII form) — a ResNet-34 trained on the real training images "
            "of a partition, alone or with a generator's pairs, tested on the partition's real defect images; accuracy and "
            "macro F1, mean ± sample std over partitions (seed K = partition random:K), percent; Δ accuracy: the mean over "
            f"partitions of the paired difference to real only. Protocol: classification; {shared}.{size}")
    return Table("classification", "Defect-type classification", text, pd.DataFrame(out_rows))


def build_tables(frame: pd.DataFrame, rules_name: str, quality_records: Iterable[dict] = (), metric: str = "mIoU",
                 alpha: float = stats.ALPHA, records_note: str = "", efficiency_records: Iterable[dict] = (),
                 classification_records: Iterable[dict] = (), margin: float = stats.MARGIN,
                 designs: Mapping[str, stats.Design] | None = None) -> list[Table]:
    """All report tables that the records support, in reading order. ``designs``: the runs of sequential builds
    with their designs (``compare.designs_of``)."""
    delta_frame = deltas(frame, metric, alpha, margin, designs)
    mean_frame = category_mean_deltas(frame, metric, alpha, margin, designs)
    tables = [run_table(frame, metric, records_note), category_segmenter_table(frame, metric)]
    decided = dict(metric=metric, alpha=alpha, margin=margin)
    if delta_frame["kind"].isin(SYNTHETIC).any():
        tables += [with_without_table(frame, delta_frame, mean_frame, **decided), generator_table(frame, delta_frame, **decided)]
    if (delta_frame["kind"] == "normal-data").any():
        tables.append(normal_data_table(frame, delta_frame, mean_frame, **decided))
    if (delta_frame["kind"] == "synthetic-only").any():
        tables.append(synthetic_only_table(frame, delta_frame, mean_frame, **decided))
    if (frame["source"] != "").any():
        tables.append(transfer_table(frame))
    binary, crops = own_binary(frame), cropped(frame)
    if (binary & ~crops).any():
        tables.append(localization_table(frame))
    if (binary & crops).any():
        tables.append(raw_augment_enlarge_table(frame, alpha, margin))
    if frame["benign_recall"].notna().any():
        tables.append(benign_table(frame, rules_name))
    return tables + side_record_tables(quality_records, efficiency_records, classification_records)


def side_record_tables(quality_records: Iterable[dict] = (), efficiency_records: Iterable[dict] = (),
                       classification_records: Iterable[dict] = ()) -> list[Table]:
    """The tables of the protocols that write their own records, which need no run record beside them."""
    side = [quality_table(list(quality_records)), classification_table(list(classification_records))]
    return [t for t in side if t is not None] + efficiency_tables(list(efficiency_records))
