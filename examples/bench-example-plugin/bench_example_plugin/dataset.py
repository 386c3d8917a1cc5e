"""A dataset: ``tiles``, generated in memory, one category ``tile`` with chipped corners as its one defect class."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from bench.core.pairset import NORMAL_GROUP, Pair
from bench.data.base import DatasetAdapter

SIZE = 64


class Tiles(DatasetAdapter):
    name = "tiles"  # the entry point's name must be the same
    needs_root = False  # embedded: no --data-root

    def categories(self, root: Path | None) -> list[str]:
        return ["tile"]

    def classes(self, root: Path | None, category: str) -> dict[int, str]:
        return {0: "background", 1: "chip"}

    def fingerprint(self, root: Path | None, category: str) -> str:
        return f"tiles-{SIZE}"  # the data is a pure function of this module: its identity for bench's cache

    def pairs(self, root: Path | None, category: str) -> Iterator[Pair]:
        for index in range(24):
            rng = np.random.default_rng(index)
            image = (150 + rng.normal(0, 6, (SIZE, SIZE, 3))).clip(0, 255).astype(np.uint8)
            mask = np.zeros((SIZE, SIZE), np.uint8)
            if index < 12:  # normals: half from the release's train split, half from its test split
                yield Pair(f"good_{index:03d}", image, mask, NORMAL_GROUP, "train" if index < 6 else "test")
                continue
            side = int(rng.integers(6, 14))
            mask[:side, :side] = 1
            image[:side, :side] = 40
            yield Pair(f"chip_{index:03d}", image, mask, "chip", "test")


TILES = Tiles()  # dataset adapters register as instances
