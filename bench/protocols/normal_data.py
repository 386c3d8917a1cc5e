"""Real training pairs plus p x |real| defect-free images (Defect Spectrum Table 7): do normals alone help?"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.core.params import Range
from bench.protocols.base import PROTOCOLS, Form, Grid, Protocol
from bench.protocols.options import Option
from bench.report.format import number, percent
from bench.spec import RunSpec

if TYPE_CHECKING:  # tables load pandas; declaring the protocol (bench protocol --help) needs none
    import pandas as pd

    from bench.report.tables import Reading, Table

NORMAL_RATIOS = Option("normal_ratios", float, (0.0, 0.2, 1.0, 2.0, 3.0), "Defect-free images added per real training pair, a point each.",
                       many=True, admits=Range(0))


def normal_specs(grid: Grid) -> list[RunSpec]:
    return grid.sweep("normal_ratio", grid.normal_ratios)


def adds_normals(frame: pd.DataFrame) -> pd.Series:
    """Settings that add defect-free images, and nothing generated, to the real pairs."""
    return ((frame["normal_ratio"] > 0) & (frame["ratio"] == 0) & (frame["fill_to"] == 0) & ~frame["synthetic_only"].astype(bool)
            & (frame["source"] == ""))


def _effective_normals(frame: pd.DataFrame) -> dict:
    """The effective normal ratios of each setting's runs, keyed by the setting's task (without the data
    column, so category-mean rows find theirs) and nominal ratio."""
    from bench.report.frames import GROUP  # deferred: frames load pandas

    key = [c for c in GROUP if c not in ("category", "data")]
    out: dict = {}
    for _, row in frame[frame["normal_ratio"] > 0].iterrows():
        out.setdefault((row["category"], *(row[c] for c in key)), set()).add(round(float(row["normal_effective"]), 4))
    return out


def normal_label(row, effective: dict) -> str:
    """The nominal p, and the p the runs actually had when it is lower (``2 (effective 1.4)``)."""
    from bench.report.frames import GROUP  # deferred: frames load pandas

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


def normal_data_tables(reading: Reading) -> list[Table]:
    """Defect Spectrum Table 7 form: real only vs real + defect-free images, per category and segmenter."""
    # deferred: tables load pandas
    from bench.report import compare
    from bench.report.frames import SETTING, needed_columns
    from bench.report.tables import Table, caption, delta_display, metric_label, runs_of, used, with_means

    points, metric = reading.points, reading.metric
    if points.empty:
        return []
    d = with_means(points, reading.means)
    extras = needed_columns(points, ["category", "segmenter", *SETTING])
    effective = _effective_normals(reading.frame)
    out = delta_display(
        d, {"category": list(d["category"]), "segmenter": list(d["segmenter"]),
            "normals per real pair": [normal_label(r, effective) for _, r in d.iterrows()]},
        extras, {"real only": [percent(v) for v in d["baseline"]], "with normals": [percent(v) for v in d["value"]]},
    )
    what = (f"{metric_label(metric)} with defect-free training images added (Defect Spectrum Table 7 form), percent; "
            "a row whose category had fewer normals than asked is labelled with the ratio it ran at (effective p).")
    runs = used(reading.frame, points)
    return [Table("normal_data", f"{metric_label(metric)} with added defect-free images",
                  caption(what, runs, points["n"], compare.family_text(points, reading.alpha, reading.margin, runs)), out, runs_of(runs))]


NORMALS = Form("normal_data", normal_data_tables, place=30, compares=adds_normals)

PROTOCOLS.register(
    Protocol(
        "normal-data",
        "real train + p x |real train| defect-free images from the split's training normals; p = 0 is the baseline",
        normal_specs,
        options=(NORMAL_RATIOS,),
        tables=(NORMALS,),
    )
)
