from __future__ import annotations

from typing import Annotated, Iterator

import numpy as np

from bench.core.errors import BenchError
from bench.core.pairset import Pair, PairSet
from bench.core.params import Range
from generators import GENERATORS
from generators.base import Generator, backgrounds, resolve_class


@GENERATORS.register
class CutPaste(Generator):
    """CutPaste (Li et al., CVPR 2021): a colour-jittered rectangle cut from an image and pasted elsewhere on it."""

    name = "cutpaste"
    kind = "baseline"
    # in a transfer nothing is learned from the source: its class only names the pasted rectangles
    transfers = "rectangles cut from the target's normals pasted onto them, labelled as a source class"

    def __init__(
        self,
        defect_class: int | str | None = None,
        area: tuple[float, float] = (0.02, 0.15),
        aspect: Annotated[float, Range(1, 100)] = 3.3,
        jitter: Annotated[float, Range(0, 1, high_open=True)] = 0.1,
    ):
        low, high = area
        if not 0 < low <= high < 1:
            raise BenchError(f"cutpaste area must be 0 < low <= high < 1 (fractions of the image), got {area}")
        self.defect_class = defect_class
        self.area = (low, high)
        self.aspect = aspect
        self.jitter = jitter
        self._class_id = 0
        self._bases: list[Pair] = []

    def fit(self, train: PairSet, normals: PairSet | None, seed: int) -> None:
        self._class_id = resolve_class(train.classes, self.defect_class, self.name)
        self._bases = backgrounds(train, normals)

    def sample(self, n: int, seed: int) -> Iterator[Pair]:
        for index in range(n):
            rng = np.random.default_rng([seed, index])
            base = self._bases[rng.integers(len(self._bases))]
            H, W = base.mask.shape
            # the paper's patch: area ratio uniform in `area`, aspect log-uniform in [1/aspect, aspect]
            area = rng.uniform(*self.area) * H * W
            ratio = np.exp(rng.uniform(-np.log(self.aspect), np.log(self.aspect)))
            h = int(np.clip(round(np.sqrt(area / ratio)), 1, H))
            w = int(np.clip(round(np.sqrt(area * ratio)), 1, W))
            sy, sx = int(rng.integers(0, H - h + 1)), int(rng.integers(0, W - w + 1))
            ty, tx = int(rng.integers(0, H - h + 1)), int(rng.integers(0, W - w + 1))
            patch = base.image[sy : sy + h, sx : sx + w].astype(np.float64)
            patch = patch * rng.uniform(1 - self.jitter, 1 + self.jitter, 3) + rng.uniform(-255, 255) * self.jitter
            patch = np.clip(patch, 0, 255).round().astype(np.uint8)
            image, mask = base.image.copy(), base.mask.copy()
            target = image[ty : ty + h, tx : tx + w]
            changed = (patch != target).any(axis=2)
            if not changed.any():  # a flat patch pasted onto identical pixels changes nothing: invert it
                patch, changed = 255 - target, (255 - target != target).any(axis=2)
            target[changed] = patch[changed]
            mask[ty : ty + h, tx : tx + w][changed] = self._class_id
            yield Pair(f"cutpaste_{seed}_{index:05d}", image, mask, group="synthetic")
