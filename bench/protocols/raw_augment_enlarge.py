"""DCDGANc's Raw / Augment / Enlarge experiment (Tables 3, 4 and 6): binary segmenters trained on real defect
crops alone (Raw), with traditionally augmented copies of them (Augment: the ``augment`` generator's
brightness, rotation and noise) or with DCDGANc's synthetic pairs (Enlarge), tested on the defect crops of
the test pictures, pixel AUC and F1.

The crops are a view of the split (``+crop:256+stride:128``, ``bench.data.crops``): the paper's 256 px
crops of 1024 px MVTec AD pictures. Its counts fix the other defaults: Table 3's Augment/Enlarge sets hold
3.0x the Raw crops for wood (2108 of 702) and 3.2x for carpet (2393 of 745), so r = 2 synthetic pairs per
real crop (Table 6, the phone bands: 1653 -> 3306, r = 1); about two thirds of each defect type's pictures
train (carpet color 12 of 19, wood hole 6 of 10: ``ratio:0.65``); the stride is not given, and half a
window gives the paper's crops per picture (carpet color 114 from 12). "Res" is a ResNet-backbone
segmenter, DeepLabV3+ on ResNet-18 here, the paper names no head."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from bench.protocols.base import PROTOCOLS, Form, Grid, Protocol
from bench.protocols.synthetic_ratio import SYNTHETIC
from bench.report.format import mean_std
from bench.spec import RunSpec

if TYPE_CHECKING:  # tables load pandas; declaring the protocol (bench protocol --help) needs none
    from bench.report.tables import Reading, Table


def raw_augment_enlarge_specs(grid: Grid) -> list[RunSpec]:
    return [replace(spec, labels="binary") for spec in grid.sweep("ratio", grid.ratios, grid.generators)]


CROP_METRICS = {"pixel_AUROC": "AUC", "pixel_F1": "F1", "pixel_F1max": "F1-max"}  # DCDGANc Tables 4/6 report AUC / F1
CROP_COMPARED = ("pixel_AUROC", "pixel_F1")
AUGMENT = "augment"  # the traditional-augmentation arm the other generators are compared with
ARM_NAMES = {AUGMENT: "Augment", "dcdganc": "Enlarge"}  # the paper's names of its arms


def _arm(row, name: str, baseline: bool) -> str:
    from bench.report.frames import setting_label  # deferred: frames load pandas

    arm = "Raw" if baseline else ARM_NAMES.get(name)
    return f"{arm}: {setting_label(row)}" if arm else setting_label(row)


def raw_augment_enlarge_tables(reading: Reading) -> list[Table]:
    """DCDGANc Table 4/6 form: per category and segmenter, Raw (real crops only), Augment and Enlarge (and any
    other generator), pixel AUC and F1 (mean ± std over seeds), each synthetic arm against Raw and against
    Augment at the same ratio, paired by seed, Holm-corrected across the table."""
    import pandas as pd  # deferred: a table is a pandas frame

    # deferred: tables load pandas
    from bench.report import compare, stats
    from bench.report.frames import GROUP, SETTING, TASK, TRAINING, is_baseline, needed_columns
    from bench.report.tables import Table, caption, leaderboard, runs_of, seed_values

    runs, alpha, margin = reading.runs(), reading.alpha, reading.margin
    if runs.empty:
        return []
    name_of = dict(zip(runs["generator"], runs["generator_name"]))  # a label names one registered generator
    metrics = [m for m in CROP_METRICS if runs[m].notna().any()]
    board = leaderboard(runs, metrics)
    baseline = is_baseline(board)
    by_group = {key: g for key, g in runs.groupby(GROUP, sort=False, dropna=False)}
    task_of = {key: tuple(dict(zip(GROUP, key))[c] for c in TASK) for key in by_group}
    raw = {task_of[key]: g for key, g in by_group.items() if is_baseline(g).iloc[0]}

    def augment_of(row) -> pd.DataFrame | None:
        """The one augment setting of the row's task at the row's amount of synthetic data."""
        same = [g for key, g in by_group.items() if task_of[key] == tuple(row[c] for c in TASK)
                and name_of[key[GROUP.index("generator")]] == AUGMENT
                and all(key[GROUP.index(c)] == row[c] for c in [*SETTING, *TRAINING] if c != "generator")]
        return same[0] if len(same) == 1 else None

    cells = []  # (row index, column, comparison)
    for i, row in board[~baseline].iterrows():
        group, references = by_group[tuple(row[c] for c in GROUP)], {"Raw": raw.get(tuple(row[c] for c in TASK))}
        if name_of[row["generator"]] != AUGMENT:
            references["Augment"] = augment_of(row)
        for side, ref in references.items():
            for m in CROP_COMPARED:
                if ref is not None and m in metrics:
                    cells.append((i, f"Δ {CROP_METRICS[m]} vs {side}", stats.compare(seed_values(group, m), seed_values(ref, m), alpha)))
    decided = compare.correct(pd.DataFrame([{"family": "table", **compare.row_of(c)} for _, _, c in cells],
                                           columns=["family", *compare.RAW]), alpha, margin)
    extras = needed_columns(runs, ["category", "segmenter", *SETTING], [c for c in GROUP if c not in ("labels", "data")])
    out = pd.DataFrame({
        "category": list(board["category"]), "segmenter": list(board["segmenter"]),
        "trained on": [_arm(row, name_of[row["generator"]], b) for (_, row), b in zip(board.iterrows(), baseline)],
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
    return [Table("raw_augment_enlarge", "Raw / Augment / Enlarge (crops)", caption(what, runs, board["seeds"]), out, runs_of(runs))]


RAW_AUGMENT_ENLARGE = Form("raw_augment_enlarge", raw_augment_enlarge_tables, place=70)

PROTOCOLS.register(
    Protocol(
        "raw-augment-enlarge",
        "DCDGANc Tables 4/6: binary segmenters on real defect crops alone, with augmented copies, with synthetic pairs; pixel AUC / F1",
        raw_augment_enlarge_specs,
        defaults={"generators": ("augment", "dcdganc"), "segmenters": ("unet", "deeplabv3plus"), "categories": ("wood", "carpet"),
                  "dataset": "mvtec-ad", "split": "ratio:0.65+crop:256+stride:128", "ratios": (0.0, 2.0)},
        tables=(SYNTHETIC, RAW_AUGMENT_ENLARGE),
        aliases=("dcdganc",),
    )
)
