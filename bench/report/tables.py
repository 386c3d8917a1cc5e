"""The parts every table form shares, and the forms that read every run record: the run leaderboard, the
category x segmenter table and the benign-product simulation; the comparisons with the real-only baseline
(``deltas``) and the generator leaderboard built on them; captions. The forms of one protocol live with
their protocol (``bench/protocols/``) and read what their protocol's records hold through a ``Reading``.

Every table keeps apart what differs in anything but the seed (``frames.GROUP``): a key column the
table does not show by its form is added wherever rows would otherwise look alike, and what all rows
share goes into the caption. Comparisons are paired by seed (``stats``); a table's verdicts are
Holm-corrected across its comparisons, and every form shows and explains them through ``compare``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from bench.metrics.benign import BenignRules
from bench.report import compare, stats
from bench.report.format import mean_std, percent, seeds_text
from bench.report.frames import GROUP, SETTING, TASK, constants, is_baseline, metrics_of, needed_columns, refitted, setting_label
from bench.report.utility import verdict_paragraph

# Which metrics the run table shows (those the records have), and how headers name metrics: data, so a
# new metric is a line here, and any metric the records carry can be the report's --metric anyway.
SUMMARY_METRICS = ["mIoU", "mIoU_defect", "pixel_AUROC", "pixel_AUPRO", "image_AUROC"]
METRIC_LABELS = {"mIoU_defect": "mIoU defect", "pixel_AUROC": "pixel AUROC", "image_AUROC": "image AUROC",
                 "pixel_AP": "pixel AP", "image_AP": "image AP", "pixel_F1max": "pixel F1-max", "image_F1max": "image F1-max",
                 "pixel_AUPRO": "pixel AUPRO", "pixel_F1": "pixel F1 (fixed threshold)", "image_F1": "image F1 (fixed threshold)",
                 "binary.mIoU": "binary mIoU", "binary.mIoU_defect": "binary defect IoU"}
MEAN_KEY = [c for c in GROUP if c not in ("category", "data")]  # what a mean over categories keeps apart


@dataclass(frozen=True)
class Plot:
    """A figure that goes with a table, drawn only when it is written (matplotlib is slow to load)."""

    name: str  # file stem
    caption: str
    draw: Callable[[], object]  # -> a matplotlib figure


@dataclass(frozen=True)
class Table:
    name: str  # file stem
    title: str
    caption: str
    frame: pd.DataFrame  # display strings
    run_ids: tuple[str, ...] = ()  # the runs behind it, for its provenance
    keep: tuple[str, ...] = ()  # columns shown even where every row has the same value (the verdict counts)
    note: str = ""  # a paragraph shown under the table (what it says, in words)
    plots: tuple[Plot, ...] = ()  # figures shown with it


@dataclass(frozen=True)
class Reading:
    """What a table form reads: every run record (baselines serve every protocol), which of them the protocols
    that list the form asked for, the records of those protocols' own kinds, and how to compare and show."""

    frame: pd.DataFrame | None  # one row per run record (``frames.records_frame``); None without run records
    asked: pd.Series | None = None  # per run: its setting was asked for by a protocol of the form
    records: tuple[dict, ...] = ()  # the records of the form's protocols' own kinds and of the kinds it reads
    points: pd.DataFrame | None = None  # a comparing form: its settings against the real-only baseline (``deltas``)
    means: pd.DataFrame | None = None  # and those present in several categories, over their mean (``category_mean_deltas``)
    metric: str = "mIoU"
    alpha: float = stats.ALPHA
    margin: float = stats.MARGIN
    rules: BenignRules | None = None  # the report's benign rules
    records_note: str = ""  # what the report read, for the leaderboard's caption

    @property
    def own(self) -> pd.DataFrame:
        """The runs of the settings the form's protocols asked for."""
        return self.frame[self.asked.to_numpy(bool)]

    def runs(self) -> pd.DataFrame:
        """Those runs and the real-only baselines of their tasks, whoever asked for them."""
        own = self.own
        in_task = pd.MultiIndex.from_frame(self.frame[TASK]).isin(pd.MultiIndex.from_frame(own[TASK]))
        return self.frame[self.asked.to_numpy(bool) | (in_task & is_baseline(self.frame).to_numpy())]


def runs_of(frame: pd.DataFrame) -> tuple[str, ...]:
    return tuple(sorted(set(frame["run_id"]))) if "run_id" in frame else ()


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def per_row(counts: Iterable[int]) -> str:
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


def caption(what: str, frame: pd.DataFrame, counts: Iterable[int], extra: str = "") -> str:
    """``what``, then the protocols that asked for the runs, what all rows share, the seeds and how many
    each row has, ``extra`` (statistics), and a warning when degenerate runs are among them."""
    protocols = ", ".join(sorted(set(frame["requested_by"]))) or "none"
    shared = constants(frame)
    return (f"{what} Protocol: {protocols}; {shared + '; ' if shared else ''}seeds: {seeds_text(frame['seed'])} "
            f"({per_row(counts)} per row).{' ' + extra if extra else ''}{_degenerate_warning(frame)}{_refit_warning(frame)}"
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


def seed_values(group: pd.DataFrame, metric: str) -> dict[int, float]:
    return dict(zip(group["seed"].astype(int), group[metric].astype(float)))


DELTA_COLUMNS = [*GROUP, "family", "requested_by", *compare.RAW, *compare.CORRECTED]


def _settings(frame: pd.DataFrame, settings: pd.Series | None) -> pd.DataFrame:
    """The runs of the settings to compare: those ``settings`` picks (every one by default), baselines never."""
    chosen = ~is_baseline(frame)
    return frame[chosen if settings is None else chosen & settings.to_numpy(bool)]


def deltas(frame: pd.DataFrame, metric: str = "mIoU", alpha: float = stats.ALPHA, margin: float = stats.MARGIN,
           designs: Mapping[str, stats.Design] | None = None, settings: pd.Series | None = None, family: str = "table") -> pd.DataFrame:
    """The settings ``settings`` picks (a flag per run of ``frame``; every one by default), each against the
    real-only baseline of its task (``TASK``), paired by seed, as one family: the t-interval, the p-value, its
    Holm correction across the family, the corrected interval, the minimum detectable effect and the verdict.
    ``designs``: the runs of sequential builds with their designs (``compare.designs_of``); a setting whose runs
    came from one is analysed look by look. Settings without a baseline run in their task are left out."""
    base = frame[is_baseline(frame)]
    baselines = {key: (seed_values(g, metric), set(g["requested_by"])) for key, g in base.groupby(TASK, sort=False, dropna=False)}
    rows = []
    for key, group in _settings(frame, settings).groupby(GROUP, sort=True, dropna=False):
        row = dict(zip(GROUP, key))
        ref = baselines.get(tuple(row[k] for k in TASK))
        if ref is None:
            continue
        row.update(family=family, requested_by=", ".join(sorted(set(group["requested_by"]) | ref[1])))
        design = compare.design_of(group["run_id"], designs or {})
        row.update(compare.row_of(stats.compare(seed_values(group, metric), ref[0], alpha, design)))
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=DELTA_COLUMNS)
    return compare.correct(pd.DataFrame(rows), alpha, margin)[DELTA_COLUMNS]


def category_mean_deltas(frame: pd.DataFrame, metric: str = "mIoU", alpha: float = stats.ALPHA, margin: float = stats.MARGIN,
                         designs: Mapping[str, stats.Design] | None = None, settings: pd.Series | None = None,
                         family: str = "table means") -> pd.DataFrame:
    """The dataset-mean comparison of each setting (of those ``settings`` picks) present in two or more
    categories: per seed, the mean over categories of setting and of baseline, over the seeds every category
    pairs; then the same paired comparison, Holm-corrected across these mean rows."""
    base = frame[is_baseline(frame)]
    baselines = {key: g for key, g in base.groupby(TASK, sort=False, dropna=False)}
    rows = []
    for key, group in _settings(frame, settings).groupby(MEAN_KEY, sort=True, dropna=False):
        units = group.groupby(["category", "data"], sort=True)
        if group["category"].nunique() < 2 or units.ngroups != group["category"].nunique():
            continue
        row = dict(zip(MEAN_KEY, key))
        refs = [baselines.get(tuple({**row, "category": c, "data": d}[k] for k in TASK)) for c, d in units.groups]
        if any(ref is None for ref in refs):
            continue
        setting = [seed_values(unit, metric) for _, unit in units]
        baseline = [seed_values(ref, metric) for ref in refs]
        common = set.intersection(*(set(s) & set(b) for s, b in zip(setting, baseline)))
        row.update(category=f"mean ({len(setting)} categories)", data="", family=family,
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
    points = ["category", "segmenter", "ratio", "fill_to", "normal_ratio", "data"]
    extras = needed_columns(delta_frame, ["generator", *points], [c for c in GROUP if c not in (*points, *SETTING)])
    rows = []
    for key, group in delta_frame.groupby(["generator", *extras], sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        verdicts = group["verdict"]
        counts = {v: int((verdicts == v).sum()) for v in stats.VERDICTS}
        rows.append({**dict(zip(["generator", *extras], key)), "points": len(group), **counts,
                     "n/a": int(verdicts.str.startswith("n/a").sum()), "mean_delta": group["delta"].mean()})
    table = pd.DataFrame(rows, columns=["generator", *extras, "points", *COUNTED, "mean_delta"])
    return table.sort_values(["win", "mean_delta", "loss"], ascending=[False, False, True]).reset_index(drop=True)


def delta_display(d: pd.DataFrame, lead: dict[str, list], extras: Sequence[str], sides: dict[str, list]) -> pd.DataFrame:
    """A comparison table: its own leading columns, the key columns it needs, both sides, then the comparison."""
    out = pd.DataFrame({**lead, **{c: [v if v == v else "" for v in d.get(c, [""] * len(d))] for c in extras}, **sides})
    for name, values in compare.columns(d).items():
        out[name] = values
    out["seeds"] = list(d["seeds"])
    if (d["unpaired"] != "").any():
        out["unpaired seeds"] = list(d["unpaired"])
    return out


def with_means(d: pd.DataFrame, means: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([d, means], ignore_index=True) if not means.empty else d.reset_index(drop=True)


def used(frame: pd.DataFrame, d: pd.DataFrame) -> pd.DataFrame:
    """The runs behind a comparison table: its settings and their baselines."""
    in_task = pd.MultiIndex.from_frame(frame[TASK]).isin(pd.MultiIndex.from_frame(d[TASK]))
    is_setting = pd.MultiIndex.from_frame(frame[GROUP]).isin(pd.MultiIndex.from_frame(d[GROUP]))
    return frame[in_task & (is_baseline(frame).to_numpy() | is_setting)]


def setting_comparison(points: pd.DataFrame, means: pd.DataFrame, sides: tuple[str, str]) -> pd.DataFrame:
    """A family's comparisons with their mean rows, shown per category, segmenter and setting."""
    d = with_means(points, means)
    extras = needed_columns(points, ["category", "segmenter", *SETTING])
    return delta_display(
        d, {"category": list(d["category"]), "segmenter": list(d["segmenter"]), "setting": [setting_label(r) for _, r in d.iterrows()]},
        extras, {sides[0]: [percent(v) for v in d["baseline"]], sides[1]: [percent(v) for v in d["value"]]},
    )


def generator_table(frame: pd.DataFrame, delta_frame: pd.DataFrame, metric: str = "mIoU", alpha: float = stats.ALPHA,
                    margin: float = stats.MARGIN, predictor: str = "") -> Table:
    """The generator leaderboard of one family of comparisons (``delta_frame``: the synthetic data's), with what
    its verdicts say in words under it (and ``predictor``, how well image quality predicted the gains)."""
    board = generator_leaderboard(delta_frame)
    out = board.assign(mean_delta=[percent(v, True) for v in board["mean_delta"]]).rename(columns={"mean_delta": f"mean Δ {metric_label(metric)}"})
    what = (f"**Generator leaderboard** — how many category x segmenter x ratio points of each generator Δ{metric_label(metric)} "
            "against real only won, was equivalent within the margin, stayed inconclusive or lost, from the corrected verdicts; "
            "then the mean Δ.")
    runs = used(frame, delta_frame)
    text = compare.family_text(delta_frame, alpha, margin, runs)
    return Table("generators", "Generator leaderboard", caption(what, runs, delta_frame["n"], text), out, runs_of(runs),
                 keep=tuple(COUNTED), note=verdict_paragraph(delta_frame, margin, metric_label(metric), predictor))


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
    counts = frame.groupby(GROUP, dropna=False)["seed"].nunique()
    what = (f"{metric_label(metric)} per category x segmenter (Defect Spectrum Table 3 form), mean ± sample std over "
            "seeds, percent; mean rows: mean over categories of the category means, std over seeds of the category mean.")
    return Table("category_segmenter", f"{metric_label(metric)} per category and segmenter", caption(what, frame, counts), out,
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
    counts = frame.groupby(GROUP, dropna=False)["seed"].nunique()
    return Table("benign", "Benign-product recall and false-reject rate", caption(what, frame, counts), out, runs_of(frame))


