"""Real training pairs plus r x |real| synthetic pairs, for each ratio r (Defect Spectrum Fig. 8/9, Tables 4/5).

Its form, ``SYNTHETIC``, compares every setting that adds generated pairs to the real ones with the real-only
baseline of its task (Defect Spectrum Table 4/5 form, and Table 6 for fill-to rows) and counts each generator's
verdicts in the generator leaderboard, with what they say in words under it; the protocols whose settings add
generated pairs to real ones list it too, so their comparisons are one family, corrected together. It reads
the quality records where a folder holds them, to say under the leaderboard how well image quality predicted
the gains (``bench.protocols.quality.utility``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.protocols.base import PROTOCOLS, Form, Grid, Protocol
from bench.spec import RunSpec

if TYPE_CHECKING:  # tables load pandas; declaring the protocol (bench protocol --help) needs none
    import pandas as pd

    from bench.report.tables import Reading, Table


def ratio_specs(grid: Grid) -> list[RunSpec]:
    return grid.sweep("ratio", grid.ratios, grid.generators)


def adds_synthetic(frame: pd.DataFrame) -> pd.Series:
    """Settings that add generated pairs to the real ones (a ratio or a fill-to, real pairs kept, no transfer)."""
    return ((frame["ratio"] > 0) | (frame["fill_to"] > 0)) & ~frame["synthetic_only"].astype(bool) & (frame["source"] == "")


def with_without_table(reading: Reading) -> Table:
    """Defect Spectrum Table 4/5 (and 6, fill-to) form: without vs with synthetic data per category and
    segmenter, then the mean over categories."""
    # deferred: tables load pandas
    from bench.report import compare
    from bench.report.tables import Table, caption, metric_label, runs_of, setting_comparison, used

    points, means, metric = reading.points, reading.means, reading.metric
    out = setting_comparison(points, means, ("w/o synthetic", "with synthetic"))
    runs = used(reading.frame, points)
    what = (f"{metric_label(metric)} without and with synthetic data (Defect Spectrum Table 4/5 form; fill-to rows Table 6), "
            f"percent; mean rows average over categories.")
    text = compare.family_text(points, reading.alpha, reading.margin, runs) + (" Mean rows are corrected as a family of their own."
                                                                               if not means.empty else "")
    return Table("with_without", f"{metric_label(metric)} with and without synthetic data", caption(what, runs, points["n"], text), out,
                 runs_of(runs))


def synthetic_tables(reading: Reading) -> list[Table]:
    # deferred: tables load pandas
    from bench.protocols.quality.utility import predictor
    from bench.report.tables import generator_table

    if reading.points.empty:
        return []
    return [with_without_table(reading),
            generator_table(reading.frame, reading.points, reading.metric, reading.alpha, reading.margin, predictor(reading))]


SYNTHETIC = Form("with_without", synthetic_tables, place=20, compares=adds_synthetic, reads=("quality",))

PROTOCOLS.register(
    Protocol(
        "synthetic-ratio",
        "real train + r x |real train| synthetic pairs for each ratio; ratio 0 is the shared real-only baseline",
        ratio_specs,
        tables=(SYNTHETIC,),
    )
)
