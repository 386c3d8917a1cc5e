"""Real training pairs plus p x |real| defect-free images (Defect Spectrum Table 7): do normals alone help?"""

from __future__ import annotations

from bench.protocols.base import PROTOCOLS, Grid, Protocol
from bench.spec import RunSpec


def normal_specs(grid: Grid) -> list[RunSpec]:
    return grid.sweep("normal_ratio", grid.normal_ratios)


PROTOCOLS.register(
    Protocol(
        "normal-data",
        "real train + p x |real train| defect-free images from the split's training normals; p = 0 is the baseline",
        normal_specs,
    )
)
