"""The embedded ``toy`` benchmark: procedural products with distinct defect classes, deterministic by seed.

Three product categories with their own surface texture (wood grain, woven fabric, brushed metal) and
three defect classes each, drawn so that the classes differ in shape, size and contrast the way real
ones do: thin bright scratches, dark branching cracks, soft stains, round holes, pulled threads. Every
picture is a pure function of (seed, category, index), so the same seed gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import cv2
import numpy as np

from bench.core.pairset import NORMAL_GROUP, Pair

CATEGORIES: dict[str, tuple[str, ...]] = {
    "wood": ("crack", "stain", "hole"),
    "fabric": ("hole", "stain", "thread"),
    "metal": ("scratch", "stain", "hole"),
}


@dataclass(frozen=True)
class ToyConfig:
    """Image side, defect images per class, normals per release split (train and test), and the data seed."""

    size: int = 64
    defects_per_class: int = 12
    normals_train: int = 10
    normals_test: int = 10
    seed: int = 0


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Value noise in [0, 1]: random values on a coarse grid, upsampled smoothly."""
    coarse = rng.random((cells + 1, cells + 1)).astype(np.float32)
    return cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def _wood(rng: np.random.Generator, s: int) -> np.ndarray:
    y, x = np.mgrid[0:s, 0:s].astype(np.float32) / s
    warp = _smooth_noise(rng, s, 3) * rng.uniform(0.3, 0.8)
    freq = rng.uniform(7, 12)
    grain = 0.5 + 0.5 * np.sin(2 * np.pi * (freq * (y + warp) + 0.15 * x))
    fine = _smooth_noise(rng, s, s // 4)
    light = 0.55 + 0.25 * grain + 0.1 * fine
    base = np.array([0.72, 0.50, 0.30]) * rng.uniform(0.9, 1.1)
    return light[..., None] * base


def _fabric(rng: np.random.Generator, s: int) -> np.ndarray:
    y, x = np.mgrid[0:s, 0:s].astype(np.float32)
    period = rng.uniform(3.5, 4.5)
    weave = np.sin(2 * np.pi * x / period) * np.sin(2 * np.pi * y / period)
    fuzz = rng.normal(0, 0.04, (s, s))
    light = 0.6 + 0.12 * weave + fuzz + 0.08 * _smooth_noise(rng, s, 4)
    base = np.array([0.45, 0.55, 0.75]) * rng.uniform(0.9, 1.1)
    return light[..., None] * base


def _metal(rng: np.random.Generator, s: int) -> np.ndarray:
    streaks = rng.normal(0, 1, (s, 1)).astype(np.float32)
    streaks = cv2.GaussianBlur(np.repeat(streaks, s, axis=1), (1, 3), 0)
    y, x = np.mgrid[0:s, 0:s].astype(np.float32) / s
    angle = rng.uniform(0, 2 * np.pi)
    gradient = 0.5 + 0.5 * (np.cos(angle) * x + np.sin(angle) * y)
    light = 0.55 + 0.04 * streaks + 0.15 * gradient
    base = np.array([0.80, 0.82, 0.85])
    return light[..., None] * base


SURFACES: dict[str, Callable[[np.random.Generator, int], np.ndarray]] = {
    "wood": _wood,
    "fabric": _fabric,
    "metal": _metal,
}


def _random_walk(rng: np.random.Generator, s: int, steps: int, step_len: float, turn: float) -> np.ndarray:
    pos = rng.uniform(0.2 * s, 0.8 * s, 2)
    heading = rng.uniform(0, 2 * np.pi)
    points = [pos.copy()]
    for _ in range(steps):
        heading += rng.normal(0, turn)
        pos = np.clip(pos + step_len * np.array([np.cos(heading), np.sin(heading)]), 1, s - 2)
        points.append(pos.copy())
    return np.round(np.array(points)).astype(np.int32)


def _scratch(rng, s):
    mask = np.zeros((s, s), np.uint8)
    pts = _random_walk(rng, s, steps=int(rng.integers(4, 8)), step_len=s / 10, turn=0.15)
    cv2.polylines(mask, [pts], False, 1, thickness=1)
    return mask, np.array([1.25, 1.25, 1.25]), 0.9


def _crack(rng, s):
    mask = np.zeros((s, s), np.uint8)
    pts = _random_walk(rng, s, steps=int(rng.integers(6, 10)), step_len=s / 14, turn=0.7)
    cv2.polylines(mask, [pts], False, 1, thickness=int(rng.integers(1, 3)))
    branch_from = pts[len(pts) // 2]
    branch = _random_walk(rng, s, steps=3, step_len=s / 16, turn=0.8) - pts[0] + branch_from
    cv2.polylines(mask, [np.clip(branch, 0, s - 1)], False, 1, thickness=1)
    return mask, np.array([0.35, 0.3, 0.28]), 1.0


def _stain(rng, s):
    cy, cx = rng.uniform(0.25 * s, 0.75 * s, 2)
    ry, rx = rng.uniform(0.08 * s, 0.18 * s, 2)
    y, x = np.mgrid[0:s, 0:s].astype(np.float32)
    ellipse = ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2
    blob = ellipse + 0.8 * (_smooth_noise(rng, s, 6) - 0.5)
    mask = (blob < 1.0).astype(np.uint8)
    tint = np.array([0.75, 0.68, 0.45]) * rng.uniform(0.85, 1.0)
    return mask, tint, 0.8


def _hole(rng, s):
    mask = np.zeros((s, s), np.uint8)
    center = tuple(int(v) for v in rng.uniform(0.2 * s, 0.8 * s, 2))
    radius = max(2, int(rng.uniform(0.04 * s, 0.09 * s)))
    cv2.circle(mask, center, radius, 1, thickness=-1)
    return mask, np.array([0.12, 0.1, 0.1]), 1.0


def _thread(rng, s):
    mask = np.zeros((s, s), np.uint8)
    horizontal = rng.random() < 0.5
    offset = int(rng.uniform(0.2 * s, 0.8 * s))
    wobble = int(rng.integers(-2, 3))
    start, end = int(rng.uniform(0, 0.3 * s)), int(rng.uniform(0.7 * s, s))
    if horizontal:
        cv2.line(mask, (start, offset), (end, offset + wobble), 1, thickness=2)
    else:
        cv2.line(mask, (offset, start), (offset + wobble, end), 1, thickness=2)
    return mask, np.array([1.3, 1.2, 0.9]), 0.85


DEFECTS: dict[str, Callable] = {
    "scratch": _scratch,
    "crack": _crack,
    "stain": _stain,
    "hole": _hole,
    "thread": _thread,
}


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


def _apply_defect(surface: np.ndarray, region: np.ndarray, tint: np.ndarray, strength: float) -> np.ndarray:
    soft = cv2.GaussianBlur(region.astype(np.float32), (3, 3), 0.6) * strength
    soft = np.maximum(soft, region * strength)  # every masked pixel is changed
    return surface * (1 - soft[..., None]) + (surface * tint) * soft[..., None]


def classes(category: str) -> dict[int, str]:
    return {0: "background", **{i + 1: name for i, name in enumerate(CATEGORIES[category])}}


def category_pairs(category: str, cfg: ToyConfig = ToyConfig()) -> Iterator[Pair]:
    """All pairs of one toy product: defects per class (released as 'test') and normals (train/test)."""
    if category not in CATEGORIES:
        raise KeyError(category)
    cat_index = list(CATEGORIES).index(category)
    surface_fn = SURFACES[category]
    s = cfg.size

    def rng(kind: int, index: int) -> np.random.Generator:
        return np.random.default_rng([cfg.seed, cat_index, kind, index])

    for origin, count, kind in (("train", cfg.normals_train, 0), ("test", cfg.normals_test, 1)):
        for i in range(count):
            surface = surface_fn(rng(kind, i), s)
            yield Pair(f"good_{origin}_{i:03d}", _to_uint8(surface), np.zeros((s, s), np.uint8), NORMAL_GROUP, origin)
    for class_id, defect in enumerate(CATEGORIES[category], start=1):
        for i in range(cfg.defects_per_class):
            r = rng(10 + class_id, i)
            surface = surface_fn(r, s)
            region, tint, strength = DEFECTS[defect](r, s)
            if not region.any():  # a degenerate draw: force at least a dot so the label is never empty
                region[s // 2, s // 2] = 1
            image = _to_uint8(_apply_defect(surface, region, tint, strength))
            yield Pair(f"{defect}_{i:03d}", image, region * np.uint8(class_id), defect, "test")
