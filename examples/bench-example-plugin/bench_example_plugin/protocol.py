"""A protocol: real data only against one synthetic pair per real one, for every generator of the grid."""

from __future__ import annotations

from bench.protocols import Grid, Protocol
from bench.spec import RunSpec


def one_to_one(grid: Grid) -> list[RunSpec]:
    return grid.sweep("ratio", (0.0, 1.0), grid.generators)


ONE_TO_ONE = Protocol("one-to-one", "real only against one synthetic pair per real pair", one_to_one)
