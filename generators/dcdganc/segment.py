"""The raw binary mask of a generated defect content, cut from its pure black background.

The paper segments its contents with the watershed transform (``watershed``, an option here). The default
thresholds instead: the background the GAN learned is exactly black (training contents are zero outside
the defect), so a fixed low threshold on the brightest channel separates the defect from it without
watershed's seed choice; dark defects (holes, cracks) stay above it because real defect pixels are rarely
pure black. Either region is then cleaned: closed, specks dropped, holes filled.
"""

from __future__ import annotations

import cv2
import numpy as np

THRESHOLD = 12  # grey levels (0..255) of the brightest channel above which a pixel is defect content


def content_mask(content: np.ndarray, threshold: int = THRESHOLD, min_pixels: int = 4) -> np.ndarray:
    """Boolean H x W mask of the defect in a generated content image (H x W x 3 uint8 on black), by threshold."""
    return clean((content.max(axis=2) > threshold).astype(np.uint8), min_pixels)


def watershed_mask(content: np.ndarray, threshold: int = THRESHOLD, min_pixels: int = 4) -> np.ndarray:
    """The paper's reading: the watershed transform of the content flooded from two markers, sure background
    (brightest channel at most ``threshold / 2``) and sure defect (above ``2 threshold``); the pixels in between
    go to the basin that reaches them first, and the watershed lines between the basins to the defect where
    they are brighter than ``threshold``."""
    grey = content.max(axis=2)
    markers = np.zeros(grey.shape, np.int32)
    markers[grey <= threshold // 2] = 1
    markers[grey > 2 * threshold] = 2
    if not (markers == 2).any():
        return np.zeros(grey.shape, bool)
    cv2.watershed(np.ascontiguousarray(content), markers)
    return clean(((markers == 2) | ((markers == -1) & (grey > threshold))).astype(np.uint8), min_pixels)


def clean(raw: np.ndarray, min_pixels: int) -> np.ndarray:
    """Closed (3x3), components under ``min_pixels`` dropped, enclosed holes filled."""
    closed = cv2.morphologyEx(raw, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    kept = np.zeros(closed.shape, bool)
    for component in range(1, count):
        if stats[component, cv2.CC_STAT_AREA] >= min_pixels:
            kept |= labels == component
    return fill_holes(kept)


RAW_MASK_FUNCTIONS = {"threshold": content_mask, "watershed": watershed_mask}


def fill_holes(region: np.ndarray) -> np.ndarray:
    """The region plus every background pocket it encloses (flood fill of the outside from the border)."""
    padded = np.pad(region.astype(np.uint8), 1)
    flood_mask = np.zeros((padded.shape[0] + 2, padded.shape[1] + 2), np.uint8)
    cv2.floodFill(padded, flood_mask, (0, 0), 1)
    return region | (padded[1:-1, 1:-1] == 0)
