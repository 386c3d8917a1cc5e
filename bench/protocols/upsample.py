"""Fill every category's training set up to N pairs with synthetic ones (Defect Spectrum Table 6, N = 150)."""

from __future__ import annotations

from bench.core.params import Range
from bench.protocols.base import PROTOCOLS, Grid, Protocol
from bench.protocols.options import Option
from bench.protocols.synthetic_ratio import SYNTHETIC
from bench.spec import NO_GENERATOR, RunSpec

FILL_TO = Option("fill_to", int, 150, "Training-set size that synthetic pairs fill up to (trained on synthetic pairs alone: how many).",
                 admits=Range(0))


def upsample_specs(grid: Grid) -> list[RunSpec]:
    specs = []
    for segmenter, category, seed in grid.cells():
        specs.append(grid.run_spec(NO_GENERATOR, segmenter, category, seed))  # the real-only baseline
        specs += [grid.run_spec(g, segmenter, category, seed, fill_to=grid.fill_to) for g in grid.generators]
    return specs


PROTOCOLS.register(Protocol("upsample", "fill each category's training set to N pairs with synthetic ones, against real only", upsample_specs,
                            options=(FILL_TO,), tables=(SYNTHETIC,)))
