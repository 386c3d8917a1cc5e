"""A protocol: real pairs only against real pairs plus a number of synthetic pairs per real one, the grid's own
option ``pairs_per_real`` (``--pairs-per-real``), for every generator of the grid; and its own table, each
generator's paired gain per category. This file is all of it: bench derives the flag and the grid key from the
option, and its report shows the table for the runs this protocol asked for (and, as it lists it, the
shared comparison with and without synthetic data)."""

from __future__ import annotations

from bench.core.params import Range
from bench.protocols import Form, Grid, Option, Protocol
from bench.protocols.synthetic_ratio import SYNTHETIC
from bench.spec import RunSpec

PAIRS_PER_REAL = Option("pairs_per_real", float, 1.0, "Synthetic pairs added per real training pair.", admits=Range(0, low_open=True))


def one_to_one(grid: Grid) -> list[RunSpec]:
    return grid.sweep("ratio", (0.0, grid.pairs_per_real), grid.generators)


def gains(reading) -> list:
    """Per category and generator: the metric on real pairs only and with the synthetic ones, and the paired gain
    (``reading.points``: this form's comparisons with the real-only baseline, one Holm family)."""
    # deferred: tables load pandas, which `bench protocol --help` does without
    from bench.report import compare
    from bench.report.format import number, percent
    from bench.report.tables import Table, caption, delta_display, metric_label, runs_of, used

    d = reading.points
    if d.empty:
        return []
    lead = {"category": list(d["category"]), "generator": list(d["generator"]), "pairs per real": [number(r) for r in d["ratio"]]}
    out = delta_display(d, lead, [], {"real only": [percent(v) for v in d["baseline"]], "with synthetic": [percent(v) for v in d["value"]]})
    runs = used(reading.frame, d)
    what = f"**Gain per generator** (bench-example-plugin) — {metric_label(reading.metric)}, percent."
    text = compare.family_text(d, reading.alpha, reading.margin, runs)
    return [Table("one_to_one", "Gain per generator", caption(what, runs, d["n"], text), out, runs_of(runs))]


ONE_TO_ONE = Protocol(
    "one-to-one", "real only against real + N synthetic pairs per real pair", one_to_one, options=(PAIRS_PER_REAL,),
    tables=(SYNTHETIC, Form("one_to_one", gains, place=200, compares=lambda frame: frame["ratio"] > 0)),
)
