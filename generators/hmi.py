"""DefectSynth's image-space Hybrid Mask Interpolation (HMI), and a generator that composites its masks.

HMI (DefectSynth, section III-C) makes new defect shapes between two real masks of one class: the
white-pixel coordinates of both masks are brought to equal length by linear resampling, averaged
with weight alpha, and gaps between consecutive interpolated points wider than a small threshold are
filled with points sampled along the connecting segment, so the shape stays connected. The latent-space
branch (DDIM inversion of a VAE) needs pretrained weights and is not part of this baseline.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Annotated, Iterable, Iterator

import cv2
import numpy as np

from bench.core.errors import BenchError
from bench.core.pairset import Pair, PairSet
from bench.core.params import Range
from generators import GENERATORS
from generators.base import Generator, backgrounds

GAP_PX = 1.5  # consecutive points farther apart than this (more than one 8-neighbour step) get filled


def _resample(points: np.ndarray, length: int) -> np.ndarray:
    """Linearly resample an ordered (N, 2) point sequence to ``length`` points."""
    if len(points) == length:
        return points.astype(np.float64)
    source = np.linspace(0, len(points) - 1, length)
    return np.stack([np.interp(source, np.arange(len(points)), points[:, d]) for d in range(2)], axis=1)


def interpolate_masks(mask_a: np.ndarray, mask_b: np.ndarray, alpha: float, gap: float = GAP_PX) -> np.ndarray:
    """The boolean mask ``alpha`` of the way from ``mask_a`` (alpha 0) to ``mask_b`` (alpha 1), gaps filled."""
    a, b = np.argwhere(mask_a), np.argwhere(mask_b)  # white pixels in raster order
    if not len(a) or not len(b):
        raise ValueError("HMI needs two non-empty masks")
    length = max(len(a), len(b))
    points = (1 - alpha) * _resample(a, length) + alpha * _resample(b, length)
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    filled = [points]
    for i in np.nonzero(steps > gap)[0]:
        count = int(np.ceil(steps[i])) + 1  # about one point per pixel along the segment
        t = np.linspace(0, 1, count)[:, None]
        filled.append(points[i] + t * (points[i + 1] - points[i]))
    coords = np.rint(np.concatenate(filled)).astype(int)
    H, W = mask_a.shape
    coords[:, 0] = coords[:, 0].clip(0, H - 1)
    coords[:, 1] = coords[:, 1].clip(0, W - 1)
    out = np.zeros((H, W), bool)
    out[coords[:, 0], coords[:, 1]] = True
    return out


def nearest_defect_colours(pair: Pair, shape_mask: np.ndarray) -> np.ndarray:
    """For each pixel of ``shape_mask``, the colour of the nearest defect pixel of ``pair`` (H x W x 3)."""
    _, nearest = cv2.distanceTransformWithLabels(
        (pair.mask == 0).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    ys, xs = np.nonzero(pair.mask)  # label k is the k-th defect pixel in raster order
    colours = np.zeros_like(pair.image)
    labels = nearest[shape_mask] - 1
    colours[shape_mask] = pair.image[ys[labels], xs[labels]]
    return colours


@dataclass(frozen=True)
class InterpolatedMask:
    """One HMI draw: the new shape, its class, the two real sources and how far it is between them."""

    class_id: int
    shape: np.ndarray  # H x W bool
    first: Pair
    second: Pair
    alpha: float

    def appearance(self) -> np.ndarray:
        """Colours for the shape: each source's nearest defect colour, mixed with the shape's own weight."""
        a = self.alpha
        mixed = (1 - a) * nearest_defect_colours(self.first, self.shape) + a * nearest_defect_colours(self.second, self.shape)
        return mixed.round().astype(np.uint8)


class HMIMaskSource:
    """New defect masks per class from pairs of real masks of that class: the mask source for compositing."""

    def __init__(self, train: Iterable[Pair], gap: float = GAP_PX):
        by_class: dict[int, list[Pair]] = defaultdict(list)
        for pair in train:
            for class_id in np.unique(pair.mask[pair.mask > 0]).tolist():
                # one class per source, so that two masks of the same class are interpolated
                only = np.where(pair.mask == class_id, class_id, 0).astype(np.uint8)
                by_class[class_id].append(Pair(pair.id, pair.image, only))
        self.by_class = dict(sorted(by_class.items()))
        self.gap = gap

    def draw(self, rng: np.random.Generator) -> InterpolatedMask:
        class_ids = list(self.by_class)
        class_id = class_ids[rng.integers(len(class_ids))]
        sources = self.by_class[class_id]
        first, second = (sources[i] for i in rng.choice(len(sources), 2, replace=len(sources) < 2))
        if first.mask.shape != second.mask.shape:
            raise BenchError(
                f"hmi needs masks of one size; {first.id} and {second.id} differ",
                "resize the category's images to one size at import",
            )
        alpha = float(rng.uniform(0, 1))
        return InterpolatedMask(class_id, interpolate_masks(first.mask > 0, second.mask > 0, alpha, self.gap), first, second, alpha)


@GENERATORS.register
class HybridMaskInterpolation(Generator):
    """DefectSynth's image-space mask interpolation between two real masks of a class, composited onto normals."""

    name = "hmi"
    kind = "baseline"

    def __init__(self, gap: Annotated[float, Range(1, 1024)] = GAP_PX):
        self.gap = gap
        self._masks: HMIMaskSource | None = None
        self._bases: list[Pair] = []

    def fit(self, train: PairSet, normals: PairSet | None, seed: int) -> None:
        self._masks = HMIMaskSource(train, self.gap)
        if not self._masks.by_class:
            raise BenchError(f"generator 'hmi' needs training pairs with defects; {train.root} has none")
        self._bases = backgrounds(train, normals)

    def sample(self, n: int, seed: int) -> Iterator[Pair]:
        for index in range(n):
            rng = np.random.default_rng([seed, index])
            drawn = self._masks.draw(rng)
            base = self._bases[rng.integers(len(self._bases))]
            if drawn.shape.shape != base.mask.shape:
                raise BenchError(
                    f"hmi needs images of one size; {drawn.first.id} and background {base.id} differ",
                    "resize the category's images to one size at import",
                )
            candidate, shape = drawn.appearance(), drawn.shape
            changed = shape & (candidate != base.image).any(axis=2)
            if not changed.any():
                candidate, changed = 255 - base.image, shape
            image, mask = base.image.copy(), base.mask.copy()
            image[changed] = candidate[changed]
            mask[changed] = drawn.class_id
            yield Pair(f"hmi_{seed}_{index:05d}", image, mask, group="synthetic")
