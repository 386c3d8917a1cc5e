"""Defect contents: real defects cut out by their masks onto a pure black background, one crop per defect.

DCDGANc never sees the product's normal texture (paper section 2.1): each training image is the defect
pixels of one connected defect region, everything else black, in a square crop centred on the defect.
Defects larger than the crop are scaled down to fit, so the GAN always sees whole defects.
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


def cut_contents(
    pairs: Iterable[Pair], class_index: Mapping[int, int], crop: int, dilation: int = 0, min_pixels: int = 4
) -> list[Content]:
    """Every connected defect region of every pair whose class is in ``class_index`` (mask id -> GAN class).

    ``dilation`` grows each region by that many pixels first, as the paper does for defect types whose
    labels hold no surrounding texture; regions under ``min_pixels`` pixels are annotation specks, skipped.
    """
    contents: list[Content] = []
    kernel = np.ones((2 * dilation + 1, 2 * dilation + 1), np.uint8) if dilation else None
    for pair in pairs:
        for class_id in sorted(int(v) for v in np.unique(pair.mask) if int(v) in class_index):
            region = (pair.mask == class_id).astype(np.uint8)
            if kernel is not None:
                region = cv2.dilate(region, kernel)
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
