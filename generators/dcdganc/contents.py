"""Defect contents: real defects cut out by their masks onto a pure black background.

DCDGANc never sees the product's normal texture (paper section 2.1): every training image holds the defect
pixels of one class, everything else black. Two ways to cut them:

* ``crops`` (the paper's, default): Table 2 turns 8-21 images per class into about 1 000 "constructed"
  256 px contents, and Table 3 counts 256 px crops of 1024 px images, so contents are native-scale crops:
  ``per_class`` square windows per class, each placed at a random offset around a defect pixel drawn at
  random from the class's training regions (seeded), defects cut by the window as they fall.
* ``regions``: one content per connected defect region, centred, scaled down to fit the crop when larger,
  so the GAN always sees whole defects (few contents: one per region of the few-shot split).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

import cv2
import numpy as np

from bench.core.pairset import Pair


@dataclass(frozen=True)
class Content:
    """One training content: ``image`` (crop x crop x 3 uint8, black outside the defect) of class ``label``."""

    label: int  # index into the GAN's class list, 0..N-1
    image: np.ndarray
    source: str  # id of the real pair it was cut from


def class_regions(pair: Pair, class_id: int, kernel: np.ndarray | None) -> np.ndarray:
    region = (pair.mask == class_id).astype(np.uint8)
    return cv2.dilate(region, kernel) if kernel is not None else region


def dilation_kernel(dilation: int) -> np.ndarray | None:
    return np.ones((2 * dilation + 1, 2 * dilation + 1), np.uint8) if dilation else None


def sample_crops(
    pairs: Iterable[Pair], class_index: Mapping[int, int], crop: int, per_class: int, seed: int, dilation: int = 0,
    min_pixels: int = 4,
) -> list[Content]:
    """``per_class`` native-scale crop x crop contents of every class in ``class_index`` (mask id -> GAN class)
    that has a region of ``min_pixels`` or more; a window reaching past the image is black there."""
    pairs, kernel = list(pairs), dilation_kernel(dilation)
    contents: list[Content] = []
    for class_id in sorted(class_index):
        sources = [(pair, region) for pair in pairs if (region := class_regions(pair, class_id, kernel)).sum() >= min_pixels]
        rng = np.random.default_rng([seed, class_id])
        for _ in range(per_class if sources else 0):
            pair, region = sources[rng.integers(len(sources))]
            ys, xs = np.nonzero(region)
            pick = rng.integers(len(ys))
            top, left = int(ys[pick] - rng.integers(crop)), int(xs[pick] - rng.integers(crop))
            h, w = region.shape
            canvas = np.zeros((crop, crop, 3), np.uint8)
            y0, y1, x0, x1 = max(top, 0), min(top + crop, h), max(left, 0), min(left + crop, w)
            window = region[y0:y1, x0:x1].astype(bool)
            canvas[y0 - top : y1 - top, x0 - left : x1 - left] = np.where(window[..., None], pair.image[y0:y1, x0:x1], 0)
            contents.append(Content(class_index[class_id], canvas, pair.id))
    return contents


def cut_contents(
    pairs: Iterable[Pair], class_index: Mapping[int, int], crop: int, dilation: int = 0, min_pixels: int = 4
) -> list[Content]:
    """Every connected defect region of every pair whose class is in ``class_index`` (mask id -> GAN class).

    ``dilation`` grows each region by that many pixels first, as the paper does for defect types whose
    labels hold no surrounding texture; regions under ``min_pixels`` pixels are annotation specks, skipped.
    """
    contents: list[Content] = []
    kernel = dilation_kernel(dilation)
    for pair in pairs:
        for class_id in sorted(int(v) for v in np.unique(pair.mask) if int(v) in class_index):
            region = class_regions(pair, class_id, kernel)
            count, components = cv2.connectedComponents(region, connectivity=8)
            for component in range(1, count):
                inside = components == component
                if inside.sum() < min_pixels:
                    continue
                image = np.where(inside[..., None], pair.image, 0).astype(np.uint8)
                contents.append(Content(class_index[class_id], centred_crop(image, inside, crop), pair.id))
    return contents


def centred_crop(image: np.ndarray, inside: np.ndarray, crop: int) -> np.ndarray:
    """A crop x crop black canvas with the region's bounding box in its centre, scaled down if it is larger."""
    ys, xs = np.nonzero(inside)
    patch = image[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = patch.shape[:2]
    scale = min(1.0, crop / max(h, w))
    if scale < 1.0:
        size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
        patch = cv2.resize(patch, size, interpolation=cv2.INTER_AREA)
        h, w = patch.shape[:2]
    canvas = np.zeros((crop, crop, 3), np.uint8)
    top, left = (crop - h) // 2, (crop - w) // 2
    canvas[top : top + h, left : left + w] = patch
    return canvas
