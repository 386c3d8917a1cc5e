"""Binary defect localization (AnomalyDiffusion Sec. 4.3, the protocol SeaS and DefectSynth follow): every
defect class merged into one, a U-Net trained on real + r x |real| synthetic pairs per ratio (MMSegmentation's
UNet and DRAEM's discriminative U-Net), scored by image- and pixel-level AUROC / AP / F1-max and AUPRO on
the ``third`` split (the first third of each defect type trains). The generator still learns every
defect type; only what the segmenter is taught and scored on is binary. DefectSynth (Sec. V-A, Table IX)
trains the U-Net on 500 generated pairs alone: grid key ``synthetic_only: true``, with the size ``paper``
(500 pairs, whatever the ratios) or ``small`` (r x |real| per ratio)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from bench.protocols.base import PROTOCOLS, SIZE, Form, Grid, Protocol, resolved_size
from bench.protocols.options import Option
from bench.protocols.synthetic_only import SYNTHETIC_ONLY, synthetic_only_note
from bench.protocols.synthetic_ratio import SYNTHETIC
from bench.report.format import mean_std
from bench.spec import RunSpec

if TYPE_CHECKING:  # tables load pandas; declaring the protocol (bench protocol --help) needs none
    from bench.report.tables import Reading, Table

SYNTHETIC_ONLY_GENERATED = 500  # DefectSynth V-A: "500 defective images were generated per data set"
SYNTHETIC_ONLY_OPTION = Option("synthetic_only", bool, False, "Train the U-Net on the generated pairs alone, 500 of them at --size paper "
                               "(DefectSynth's reading).", off="--with-real")


def localization_specs(grid: Grid) -> list[RunSpec]:
    """``synthetic_only``: DefectSynth's reading (the U-Net sees generated pairs only, 500 at size paper); by
    default real + synthetic, like every ratio protocol, so a verdict says what the pairs add to the same real data."""
    paper = resolved_size(grid) == "paper"
    specs = []
    for spec in grid.sweep("ratio", grid.ratios, grid.generators):
        only = grid.synthetic_only and spec.synthetic
        count = {"ratio": 0.0, "fill_to": SYNTHETIC_ONLY_GENERATED} if only and paper else {}
        specs.append(replace(spec, labels="binary", synthetic_only=only, **count))
    return specs


LOCALIZATION_METRICS = ("image_AUROC", "image_AP", "image_F1max", "pixel_AUROC", "pixel_AP", "pixel_F1max", "pixel_AUPRO")


def localization_tables(reading: Reading) -> list[Table]:
    """AnomalyDiffusion Table 2 form: per category, segmenter and training data, image- and pixel-level AUROC,
    AP and F1-max and AUPRO of binary defect localization (mean ± std over seeds)."""
    import pandas as pd  # deferred: a table is a pandas frame

    # deferred: tables load pandas
    from bench.report.frames import GROUP, SETTING, needed_columns, setting_label
    from bench.report.tables import Table, caption, leaderboard, metric_label, runs_of

    runs = reading.runs()
    if runs.empty:
        return []
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
    return [Table("localization", "Defect localization (binary)", caption(what, runs, board["seeds"]), out, runs_of(runs))]


LOCALIZATION = Form("localization", localization_tables, place=60)

PROTOCOLS.register(
    Protocol(
        "localization",
        "defect vs background: U-Nets on real + r x |real train| synthetic pairs, image/pixel AUROC, AP, F1-max and AUPRO",
        localization_specs,
        options=(SYNTHETIC_ONLY_OPTION, SIZE),
        defaults={"split": "third", "segmenters": ("unet", "draem"), "ratios": (0.0, 1.0)},
        tables=(SYNTHETIC, SYNTHETIC_ONLY, LOCALIZATION),
    )
)
