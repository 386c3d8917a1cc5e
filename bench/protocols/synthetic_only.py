"""Training on synthetic pairs alone (DefectSynth Table IX): r x |real train| generated pairs and no real
defect pair, against the real-only baseline of the same task. The generator still learns from the real
training pairs; the segmenter never sees them."""

from __future__ import annotations

from bench.protocols.base import PROTOCOLS, Grid, Protocol
from bench.spec import NO_GENERATOR, RunSpec


def synthetic_only_specs(grid: Grid) -> list[RunSpec]:
    specs = []
    for segmenter, category, seed in grid.cells():
        specs.append(grid.run_spec(NO_GENERATOR, segmenter, category, seed))  # the real-only baseline
        specs += [grid.run_spec(g, segmenter, category, seed, ratio=r, synthetic_only=True)
                  for g in grid.generators for r in grid.ratios if r > 0]
    return specs


PROTOCOLS.register(
    Protocol(
        "synthetic-only",
        "r x |real train| synthetic pairs and no real defect pair, against real only",
        synthetic_only_specs,
        defaults={"ratios": (0.0, 1.0, 2.0)},
    )
)
