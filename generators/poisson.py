from __future__ import annotations

from typing import Annotated, Iterator

import cv2
import numpy as np

from bench.core.pairset import Pair, PairSet
from bench.core.params import OneOf, Range
from generators import GENERATORS
from generators.base import Generator, backgrounds, defect_pairs
from generators.blending import BAND_PX, improved_poisson_blend
from generators.hmi import HMIMaskSource

SHAPES = ("real", "hmi")  # where defect shapes come from: real crops, or DefectSynth's mask interpolation


def defect_crop(pair: Pair, margin: int) -> tuple[np.ndarray, np.ndarray]:
    """The defect's bounding box grown by ``margin`` pixels of its own surroundings: (image, mask)."""
    ys, xs = np.nonzero(pair.mask)
    H, W = pair.mask.shape
    y0, y1 = max(0, ys.min() - margin), min(H, ys.max() + 1 + margin)
    x0, x1 = max(0, xs.min() - margin), min(W, xs.max() + 1 + margin)
    return pair.image[y0:y1, x0:x1], pair.mask[y0:y1, x0:x1]


def random_orientation(rng: np.random.Generator, image: np.ndarray, mask: np.ndarray, fits: tuple[int, int]):
    """Rotate by a multiple of 90 degrees and maybe mirror, keeping the patch within ``fits`` (H, W)."""
    k = int(rng.integers(4))
    if np.rot90(mask, k).shape[0] > fits[0] or np.rot90(mask, k).shape[1] > fits[1]:
        k = 0
    image, mask = np.rot90(image, k), np.rot90(mask, k)
    if rng.random() < 0.5:
        image, mask = image[:, ::-1], mask[:, ::-1]
    return np.ascontiguousarray(image), np.ascontiguousarray(mask)


@GENERATORS.register
class PoissonBlend(Generator):
    """Real defects (or HMI shapes, shapes=hmi) blended onto normals with DCDGANc's improved Poisson blending."""

    name = "poisson"
    kind = "baseline"
    transfers = "the source's defect crops Poisson-blended onto the target's normals"

    def __init__(self, band: Annotated[int, Range(1, 256)] = BAND_PX, shapes: Annotated[str, OneOf(*SHAPES)] = "real"):
        self.band = band
        self.shapes = shapes
        self._defects: list[Pair] = []
        self._bases: list[Pair] = []
        self._masks: HMIMaskSource | None = None

    def deviations(self, train: PairSet) -> tuple[str, ...]:
        """DCDGANc's blending band is 5 pixels; any other is a departure from it."""
        return (f"blending band {self.band} px (DCDGANc: {BAND_PX})",) if self.band != BAND_PX else ()

    def fit(self, train: PairSet, normals: PairSet | None, seed: int) -> None:
        self._defects = defect_pairs(train, self.name)
        self._bases = backgrounds(train, normals)
        self._masks = HMIMaskSource(self._defects) if self.shapes == "hmi" else None

    def _content(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A defect with some surroundings to blend: a real one, or a new HMI shape in its sources' colours."""
        if self._masks is None:
            return defect_crop(self._defects[rng.integers(len(self._defects))], self.band + 1)
        drawn = self._masks.draw(rng)
        shape = (drawn.shape * drawn.class_id).astype(np.uint8)
        image, mask = defect_crop(Pair("", drawn.appearance(), shape), self.band + 1)
        # the band fades the content's surroundings in: grow the defect's own colours outward (Telea inpainting)
        outside = (mask == 0).astype(np.uint8)
        grown = cv2.inpaint(np.ascontiguousarray(image), outside, self.band + 1, cv2.INPAINT_TELEA)
        return np.where(mask[..., None] > 0, image, grown), mask

    def sample(self, n: int, seed: int) -> Iterator[Pair]:
        for index in range(n):
            rng = np.random.default_rng([seed, index])
            base = self._bases[rng.integers(len(self._bases))]
            content, content_mask = self._content(rng)
            content, content_mask = random_orientation(rng, content, content_mask, base.mask.shape)
            image, labels = improved_poisson_blend(base.image, content, content_mask, None, rng, self.band)
            mask = np.where(labels > 0, labels, base.mask).astype(np.uint8)
            yield Pair(f"poisson_{seed}_{index:05d}", image, mask, group="synthetic")
