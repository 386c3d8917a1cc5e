from __future__ import annotations

from typing import Annotated, Iterator

import cv2
import numpy as np

from bench.core.pairset import Pair, PairSet
from bench.core.params import Range
from generators import GENERATORS
from generators.base import Generator, defect_pairs


def rotate_pair(image: np.ndarray, mask: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate about the centre; borders are mirrored in image and mask alike, so labels stay aligned."""
    H, W = mask.shape
    matrix = cv2.getRotationMatrix2D(((W - 1) / 2, (H - 1) / 2), degrees, 1.0)
    image = cv2.warpAffine(image, matrix, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    mask = cv2.warpAffine(mask, matrix, (W, H), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT_101)
    return image, mask


@GENERATORS.register
class Augment(Generator):
    """Real defect pairs with random brightness, rotation and Gaussian noise (DCDGANc's "Augment" set)."""

    name = "augment"
    kind = "baseline"

    def __init__(
        self,
        brightness: Annotated[float, Range(0, 1, high_open=True)] = 0.3,
        max_degrees: Annotated[float, Range(0, 180)] = 180.0,
        noise_std: Annotated[float, Range(0, 255)] = 8.0,
    ):
        self.brightness = brightness
        self.max_degrees = max_degrees
        self.noise_std = noise_std
        self._defects: list[Pair] = []

    def fit(self, train: PairSet, normals: PairSet | None, seed: int) -> None:
        self._defects = defect_pairs(train, self.name)

    def sample(self, n: int, seed: int) -> Iterator[Pair]:
        for index in range(n):
            rng = np.random.default_rng([seed, index])
            source = self._defects[rng.integers(len(self._defects))]
            image, mask = rotate_pair(source.image, source.mask, rng.uniform(-self.max_degrees, self.max_degrees))
            if not mask.any():  # the defect rotated out of the frame: keep it upright instead
                image, mask = source.image, source.mask
            gain = rng.uniform(1 - self.brightness, 1 + self.brightness)
            noise = rng.normal(0.0, self.noise_std, image.shape)
            image = np.clip(image.astype(np.float64) * gain + noise, 0, 255).round().astype(np.uint8)
            yield Pair(f"augment_{seed}_{index:05d}", image, mask.copy(), group="synthetic")
