"""Real training pairs plus r x |real| synthetic pairs, for each ratio r (Defect Spectrum Fig. 8/9, Tables 4/5)."""

from __future__ import annotations

from bench.protocols.base import PROTOCOLS, Grid, Protocol
from bench.spec import RunSpec


def ratio_specs(grid: Grid) -> list[RunSpec]:
    return grid.sweep("ratio", grid.ratios, grid.generators)


PROTOCOLS.register(
    Protocol(
        "synthetic-ratio",
        "real train + r x |real train| synthetic pairs for each ratio; ratio 0 is the shared real-only baseline",
        ratio_specs,
    )
)
