"""Defect transfer (DCDGANc section 3.6 and Table 8; DefectDiffu's zero-shot generation, eq. 12): a generator
learns the defects of a source product and puts them on pictures of the target product, handed the
source's training pairs and the target's normals; the segmenter trains on those pairs alone (normal ratio
0) or with target normals added (p x |source train|), and is tested on every real defect image of the
target types the transfer moves onto (split ``zero-shot``), each type also scored alone. Source classes take
the target's class of the same name or the one ``class_map`` names (``hole=crack,scratch=rough`` for wood ->
tile), or are left out (``color=-``); ``dcdganc-transfer`` is this grid at DCDGANc's values. Only generators
that declare how they move defects onto another product's pictures (``Generator.transfers``: the compositing
baselines, DCDGANc, DefectDiffu by eq. 12) run; any other is refused when the grid is resolved, before any work."""

from __future__ import annotations

from bench.core.errors import BenchError
from bench.protocols.base import PROTOCOLS, Grid, Protocol
from bench.spec import RunSpec


def transfer_specs(grid: Grid) -> list[RunSpec]:
    if not grid.sources:
        raise BenchError("protocol transfer needs grid key 'sources'", "give the source task(s), e.g. --sources toy/wood")
    return [
        grid.run_spec(g, segmenter, category, seed, ratio=r, normal_ratio=p, synthetic_only=True, source=source, class_map=grid.class_map)
        for source in grid.sources
        for g in grid.generators
        for segmenter, category, seed in grid.cells()
        for r in grid.ratios if r > 0
        for p in grid.normal_ratios
    ]


PROTOCOLS.register(
    Protocol(
        "transfer",
        "defects of a source product on the target's pictures (generators that can move them: `bench generators list`, "
        "column transfers); trained on them alone or with target normals, tested on the target types they become",
        transfer_specs,
        defaults={"split": "zero-shot", "ratios": (1.0,), "normal_ratios": (0.0, 1.0)},
    )
)
