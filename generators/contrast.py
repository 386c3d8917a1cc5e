"""Defect contrast of a pair set: how far each defect region stands out from a ring of surrounding pixels.

Per pair, the ring is the pixels within ``ring_width`` = max(3, side / 32) px of the region (other
defects and ignored pixels excluded); the contrast is the largest over R, G, B of
|mean(region) - mean(ring)| / pooled standard deviation (floored at one grey level); a set's score is the
median over its pairs, overall and per class. A mask on plain surface scores near 0; defects that differ
from their surroundings in texture only (same mean colour) also read low. It needs no training, so every
sanity report carries it (docs/metrics.md, "Mask alignment and contrast").
"""

from __future__ import annotations

from typing import Iterable, Mapping

import cv2
import numpy as np

from bench.core.pairset import PairSet

IGNORE_INDEX = 255
CONTRAST_VARIANT = ("max over RGB of |mean(defect) - mean(ring)| / pooled std (floor 1 grey level); ring = pixels within "
                    "max(3, min(H, W) // 32) px (Euclidean) of the region, other defect and ignored pixels excluded; median over pairs")


def ring_width(shape: tuple[int, ...]) -> int:
    return max(3, min(shape[:2]) // 32)


def region_contrast(image: np.ndarray, region: np.ndarray, excluded: np.ndarray) -> float | None:
    """Standardised mean difference of ``region`` against the ring around it; None when either is empty."""
    rows, cols = np.nonzero(region)
    if not rows.size:
        return None
    width = ring_width(region.shape)
    box = (slice(max(rows.min() - width, 0), rows.max() + width + 1), slice(max(cols.min() - width, 0), cols.max() + width + 1))
    disk = (np.hypot(*np.mgrid[-width : width + 1, -width : width + 1]) <= width).astype(np.uint8)
    ring = cv2.dilate(region[box].astype(np.uint8), disk).astype(bool) & ~excluded[box]  # within ``width`` px of the region
    if not ring.any():
        return None
    inside, around = image[region].astype(np.float64), image[box][ring].astype(np.float64)
    pooled = np.sqrt((inside.var(0) + around.var(0)) / 2)
    return float((np.abs(inside.mean(0) - around.mean(0)) / np.maximum(pooled, 1.0)).max())


def pair_contrast(image: np.ndarray, mask: np.ndarray) -> dict[int | str, float | None]:
    """Contrast of all defect pixels together (``"all"``) and of each defect class present."""
    defect = (mask > 0) & (mask != IGNORE_INDEX)
    excluded = defect | (mask == IGNORE_INDEX)
    out: dict[int | str, float | None] = {"all": region_contrast(image, defect, excluded)}
    for k in np.unique(mask[defect]).tolist():
        out[int(k)] = region_contrast(image, mask == k, excluded)
    return out


def summarize_contrast(per_pair: Iterable[Mapping], classes: Mapping[int, str]) -> dict:
    """Median (and mean) over pairs, overall and per defect class; None where no pair has the region."""
    per_pair = list(per_pair)

    def stats(key):
        values = [c[key] for c in per_pair if c.get(key) is not None]
        return {"median": float(np.median(values)) if values else None,
                "mean": float(np.mean(values)) if values else None, "pairs": len(values)}

    return {**stats("all"), "per_class": {name: stats(k) for k, name in sorted(classes.items()) if k != 0},
            "variant": CONTRAST_VARIANT}


def set_contrast(pairs: PairSet) -> dict:
    return summarize_contrast((pair_contrast(p.image, p.mask) for p in pairs), pairs.classes)
