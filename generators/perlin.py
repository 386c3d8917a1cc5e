from __future__ import annotations

from pathlib import Path
from typing import Annotated, Iterator

import cv2
import numpy as np

from bench.core.errors import BenchError
from bench.core.hashing import files_fingerprint
from bench.core.images import read_rgb
from bench.core.pairset import Pair, PairSet
from bench.core.params import Range
from generators import GENERATORS
from generators.base import Generator, backgrounds, resolve_class

TEXTURE_SUFFIXES = (".png", ".jpg", ".jpeg")


def perlin_noise(shape: tuple[int, int], periods: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """2-D gradient (Perlin) noise, roughly in [-1, 1], with ``periods`` lattice cells along (y, x)."""
    H, W = shape
    py, px = periods
    angles = rng.uniform(0, 2 * np.pi, (py + 1, px + 1))
    gradients = np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    y = np.arange(H) * py / H
    x = np.arange(W) * px / W
    iy, ix = np.floor(y).astype(int), np.floor(x).astype(int)
    fy, fx = (y - iy)[:, None], (x - ix)[None, :]

    def corner(dy: int, dx: int) -> np.ndarray:
        g = gradients[(iy + dy)[:, None], (ix + dx)[None, :]]
        return g[..., 0] * (fy - dy) + g[..., 1] * (fx - dx)

    def fade(t: np.ndarray) -> np.ndarray:
        return 6 * t**5 - 15 * t**4 + 10 * t**3

    ty, tx = fade(fy), fade(fx)
    top = corner(0, 0) * (1 - tx) + corner(0, 1) * tx
    bottom = corner(1, 0) * (1 - tx) + corner(1, 1) * tx
    return np.sqrt(2) * (top * (1 - ty) + bottom * ty)


def perlin_region(shape: tuple[int, int], rng: np.random.Generator, threshold: float, max_scale_exp: int) -> np.ndarray:
    """DRAEM's anomaly region: Perlin noise at a random scale 2^k per axis, rotated, thresholded."""
    H, W = shape
    for _ in range(32):
        periods = (2 ** int(rng.integers(0, max_scale_exp)), 2 ** int(rng.integers(0, max_scale_exp)))
        noise = perlin_noise(shape, periods, rng)
        matrix = cv2.getRotationMatrix2D(((W - 1) / 2, (H - 1) / 2), rng.uniform(-90, 90), 1.0)
        noise = cv2.warpAffine(noise, matrix, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        region = noise > threshold
        if region.any():
            return region
    # a very smooth draw can stay under the threshold: take its top percent instead of looping forever
    return noise >= np.quantile(noise, 0.99)


@GENERATORS.register
class Perlin(Generator):
    """DRAEM-style anomalies: Perlin-noise regions filled with foreign texture blended in by a random factor."""

    name = "perlin"
    kind = "baseline"
    # in a transfer: the target's normals, labelled as the source class; nothing is learned from the source's defects
    transfers = "Perlin-noise regions of foreign texture on the target's normals, labelled as a source class"

    def __init__(
        self,
        defect_class: int | str | None = None,
        threshold: Annotated[float, Range(-1, 1)] = 0.5,
        max_scale_exp: Annotated[int, Range(1, 10)] = 6,
        max_beta: Annotated[float, Range(0, 1, high_open=True)] = 0.8,
        texture_dir: str | None = None,
    ):
        self.defect_class = defect_class
        self.threshold = threshold
        self.max_scale_exp = max_scale_exp
        self.max_beta = max_beta
        self.texture_dir = Path(texture_dir).expanduser() if texture_dir else None
        if self.texture_dir is not None and not self.texture_dir.is_dir():
            raise BenchError(f"perlin texture_dir {self.texture_dir} is not a directory", "point it at a folder of images (e.g. DTD)")
        self._class_id = 0
        self._bases: list[Pair] = []
        self._textures: list[np.ndarray] = []

    def fingerprint(self) -> str:
        return files_fingerprint(self.texture_dir) if self.texture_dir is not None else ""

    def deviations(self, train: PairSet) -> tuple[str, ...]:
        """Where the foreign texture departs from DRAEM's: its source, and how it is varied."""
        source = () if self.texture_dir is not None else ("foreign texture from the task's own pictures (DRAEM: DTD)",)
        return (*source, "texture turned by 90-degree steps, channels permuted and shifted (DRAEM: 3 random imgaug augmentations)")

    def fit(self, train: PairSet, normals: PairSet | None, seed: int) -> None:
        self._class_id = resolve_class(train.classes, self.defect_class, self.name)
        self._bases = backgrounds(train, normals)
        if self.texture_dir is not None:  # DRAEM's own source: a texture collection such as DTD
            files = sorted(p for p in self.texture_dir.rglob("*") if p.suffix.lower() in TEXTURE_SUFFIXES)
            if not files:
                raise BenchError(f"perlin texture_dir {self.texture_dir} holds no images", "add .png/.jpg textures")
            self._textures = [read_rgb(p) for p in files]
        else:  # without one, the task's own images, turned and colour-shifted, are the foreign texture
            self._textures = [p.image for p in train] + [p.image for p in self._bases]

    def _texture(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        """A foreign-looking texture: a task image turned, resized and colour-shifted per channel."""
        texture = np.rot90(self._textures[rng.integers(len(self._textures))], int(rng.integers(4)))
        texture = cv2.resize(np.ascontiguousarray(texture), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
        texture = texture.astype(np.float64)[..., rng.permutation(3)]
        return np.clip(texture * rng.uniform(0.5, 1.5, 3) + rng.uniform(-60, 60, 3), 0, 255)

    def sample(self, n: int, seed: int) -> Iterator[Pair]:
        for index in range(n):
            rng = np.random.default_rng([seed, index])
            base = self._bases[rng.integers(len(self._bases))]
            region = perlin_region(base.mask.shape, rng, self.threshold, self.max_scale_exp)
            beta = rng.uniform(0, self.max_beta)
            original = base.image.astype(np.float64)
            mixed = (1 - beta) * self._texture(rng, base.mask.shape) + beta * original
            image = base.image.copy()
            candidate = mixed.round().astype(np.uint8)
            changed = region & (candidate != base.image).any(axis=2)
            if not changed.any():  # the texture matched the image exactly: invert it there
                candidate, changed = 255 - base.image, region
            image[changed] = candidate[changed]
            mask = base.mask.copy()
            mask[changed] = self._class_id
            yield Pair(f"perlin_{seed}_{index:05d}", image, mask, group="synthetic")
