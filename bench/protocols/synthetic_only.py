"""Training on synthetic pairs alone (DefectSynth Table IX): r x |real train| generated pairs and no real
defect pair, against the real-only baseline of the same task. The generator still learns from the real
training pairs; the segmenter never sees them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.protocols.base import PROTOCOLS, Form, Grid, Protocol
from bench.report.format import number
from bench.spec import NO_GENERATOR, RunSpec

if TYPE_CHECKING:  # tables load pandas; declaring the protocol (bench protocol --help) needs none
    import pandas as pd

    from bench.report.tables import Reading, Table


def synthetic_only_specs(grid: Grid) -> list[RunSpec]:
    specs = []
    for segmenter, category, seed in grid.cells():
        specs.append(grid.run_spec(NO_GENERATOR, segmenter, category, seed))  # the real-only baseline
        specs += [grid.run_spec(g, segmenter, category, seed, ratio=r, synthetic_only=True)
                  for g in grid.generators for r in grid.ratios if r > 0]
    return specs


def trains_on_synthetic_only(frame: pd.DataFrame) -> pd.Series:
    """Settings whose segmenter sees generated pairs and no real defect pair (transfers aside)."""
    return frame["synthetic_only"].astype(bool) & (frame["source"] == "")


def synthetic_only_note(runs: pd.DataFrame) -> str:
    """The counts of the runs trained on generated pairs alone, beside DefectSynth Table IX's 500 (its caption's
    citation holds only where they match): empty without such runs."""
    only = runs[trains_on_synthetic_only(runs)]
    if only.empty:
        return ""
    counts = sorted({f"{int(f)} generated pairs" if f else f"{number(r)} x |real train| pairs" for f, r in zip(only["fill_to"], only["ratio"])})
    return (" Rows trained on generated pairs alone follow DefectSynth Table IX's reading; Table IX trains on 500 generated "
            f"images, these rows on {', '.join(counts)}.")


def synthetic_only_tables(reading: Reading) -> list[Table]:
    """DefectSynth Table IX form: real pairs only against synthetic pairs only, per category, segmenter and
    generator, then the mean over categories."""
    # deferred: tables load pandas
    from bench.report import compare
    from bench.report.tables import Table, caption, metric_label, runs_of, setting_comparison, used

    points, metric = reading.points, reading.metric
    if points.empty:
        return []
    out = setting_comparison(points, reading.means, ("real only", "synthetic only"))
    what = (f"{metric_label(metric)} of segmenters trained on synthetic pairs alone against real pairs alone "
            "(DefectSynth Table IX form), percent; the generator learned from the real training pairs.")
    runs = used(reading.frame, points)
    what += synthetic_only_note(runs)
    return [Table("synthetic_only", f"{metric_label(metric)} trained on synthetic pairs only",
                  caption(what, runs, points["n"], compare.family_text(points, reading.alpha, reading.margin, runs)), out, runs_of(runs))]


SYNTHETIC_ONLY = Form("synthetic_only", synthetic_only_tables, place=40, compares=trains_on_synthetic_only)

PROTOCOLS.register(
    Protocol(
        "synthetic-only",
        "r x |real train| synthetic pairs and no real defect pair, against real only",
        synthetic_only_specs,
        defaults={"ratios": (0.0, 1.0, 2.0)},
        tables=(SYNTHETIC_ONLY,),
    )
)
