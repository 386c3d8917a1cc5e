from __future__ import annotations

from typing import Annotated, Iterator

import numpy as np

from bench.core.pairset import Pair, PairSet
from bench.core.params import Range
from generators import GENERATORS
from generators.base import Generator, backgrounds, defect_pairs


def defect_patch(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    """The bounding box of a pair's defect pixels: (image crop, mask crop)."""
    ys, xs = np.nonzero(pair.mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    return pair.image[y0:y1, x0:x1], pair.mask[y0:y1, x0:x1]


def paste(base: Pair, patch_image: np.ndarray, patch_mask: np.ndarray, top: int, left: int, new_id: str) -> Pair:
    """Overwrite exactly the patch's defect pixels; every other pixel of the base stays as it was."""
    image, mask = base.image.copy(), base.mask.copy()
    h, w = patch_mask.shape
    region = patch_mask > 0
    image[top : top + h, left : left + w][region] = patch_image[region]
    mask[top : top + h, left : left + w][region] = patch_mask[region]
    return Pair(new_id, image, mask, group="synthetic")


@GENERATORS.register
class CopyPaste(Generator):
    """Crop real defects by their masks and paste them, flipped or rotated, onto defect-free images."""

    name = "copy-paste"
    kind = "baseline"
    transfers = "the source's defect crops pasted onto the target's normals"

    def __init__(self, max_defects: Annotated[int, Range(1, 64)] = 1):
        self.max_defects = max_defects
        self._defects: list[Pair] = []
        self._bases: list[Pair] = []

    def fit(self, train: PairSet, normals: PairSet | None, seed: int) -> None:
        self._defects = defect_pairs(train, self.name)
        self._bases = backgrounds(train, normals)  # without normals, defect images (labels kept)

    def sample(self, n: int, seed: int) -> Iterator[Pair]:
        for index in range(n):
            rng = np.random.default_rng([seed, index])
            base = self._bases[rng.integers(len(self._bases))]
            pair = Pair(f"copy-paste_{seed}_{index:05d}", base.image, base.mask)
            for _ in range(int(rng.integers(1, self.max_defects + 1))):
                patch_image, patch_mask = defect_patch(self._defects[rng.integers(len(self._defects))])
                k = int(rng.integers(4))
                patch_image, patch_mask = np.rot90(patch_image, k), np.rot90(patch_mask, k)
                if rng.random() < 0.5:
                    patch_image, patch_mask = patch_image[:, ::-1], patch_mask[:, ::-1]
                h, w = patch_mask.shape
                H, W = pair.mask.shape
                if h > H or w > W:  # a rotated patch that no longer fits: paste it unrotated
                    patch_image, patch_mask = np.rot90(patch_image, -k), np.rot90(patch_mask, -k)
                    h, w = patch_mask.shape
                top, left = int(rng.integers(0, H - h + 1)), int(rng.integers(0, W - w + 1))
                pair = paste(pair, patch_image, patch_mask, top, left, pair.id)
            yield pair
