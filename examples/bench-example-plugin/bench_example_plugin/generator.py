"""A generator: a dark stripe across a defect-free image, labelled with the chosen defect class."""

from __future__ import annotations

from typing import Annotated, Iterator

import numpy as np

from bench.core.pairset import Pair, PairSet
from bench.core.params import Range
from generators import Generator
from generators.base import backgrounds, resolve_class


class Stripes(Generator):
    """A dark horizontal stripe across a defect-free image (an example plugin)."""

    name = "stripes"  # the entry point's name must be the same
    kind = "baseline"

    def __init__(self, width: Annotated[int, Range(1, 16)] = 2, defect_class: int | str | None = None):
        self.width = width
        self.defect_class = defect_class
        self._bases: list[Pair] = []
        self._label = 0

    def fit(self, train: PairSet, normals: PairSet | None, seed: int) -> None:
        self._bases = backgrounds(train, normals)
        self._label = resolve_class(train.classes, self.defect_class, self.name)

    def sample(self, n: int, seed: int) -> Iterator[Pair]:
        for index in range(n):
            rng = np.random.default_rng([seed, index])
            base = self._bases[rng.integers(len(self._bases))]
            image, mask = base.image.copy(), base.mask.copy()
            top = int(rng.integers(0, image.shape[0] - self.width + 1))
            image[top : top + self.width] //= 4
            mask[top : top + self.width] = self._label
            yield Pair(f"stripes_{seed}_{index:05d}", image, mask, group="synthetic")
