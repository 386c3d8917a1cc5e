"""Fill every category's training set up to N pairs with synthetic ones (Defect Spectrum Table 6, N = 150)."""

from __future__ import annotations

from bench.protocols.base import PROTOCOLS, Grid, Protocol
from bench.spec import NO_GENERATOR, RunSpec


def upsample_specs(grid: Grid) -> list[RunSpec]:
    specs = []
    for segmenter, category, seed in grid.cells():
        specs.append(grid.run_spec(NO_GENERATOR, segmenter, category, seed))  # the real-only baseline
        specs += [grid.run_spec(g, segmenter, category, seed, fill_to=grid.fill_to) for g in grid.generators]
    return specs


PROTOCOLS.register(Protocol("upsample", "fill each category's training set to N pairs with synthetic ones, against real only", upsample_specs))
