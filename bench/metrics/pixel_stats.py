"""Distances between a generated pair set and real pairs that need no network weights: how far the
pictures' grey levels, their defect pixels, their edges and their defect areas are from the real ones.

They are what a CPU user without downloaded Inception/LPIPS weights can measure, and the candidates the
quality <-> utility table tests as predictors of a generator's downstream gain. Each is a plain distance
between two one-dimensional distributions, named in every record (``PIXEL_STATS_VARIANT``):

- ``grey_W1``: the 1-Wasserstein distance between the grey levels (0-255, ITU-R 601 luma) of every pixel
  of the generated pictures and of the real ones: the mean number of grey levels each pixel must move.
- ``defect_grey_W1``: the same over defect pixels only (mask > 0): do the defects have the real defects'
  brightness?
- ``edge_W1``: the same over Sobel gradient magnitudes (grey levels per pixel, clipped to 0-255): are the
  pictures as sharp or as noisy as the real ones?
- ``area_KS``: the two-sample Kolmogorov-Smirnov statistic between the defect-area fractions of the
  pictures of each set: are the defects as large as the real ones?

Every distance is 0 for identical sets and grows with the difference; none is normalised across
metrics, so they are compared by rank, never with each other.
"""

from __future__ import annotations

import cv2
import numpy as np

LEVELS = 256
PIXEL_STATS = ("grey_W1", "defect_grey_W1", "edge_W1", "area_KS")
PIXEL_STATS_VARIANT = ("grey = ITU-R 601 luma of the RGB picture, 0-255; W1 over 256 integer levels from histograms; "
                       "edges = Sobel 3x3 gradient magnitude of the grey picture, rounded and clipped to 0-255; "
                       "defect = mask > 0 (ignore label 255 left out); area_KS = two-sample KS statistic of per-picture "
                       "defect-area fractions")


def grey(images: np.ndarray) -> np.ndarray:
    """N x H x W x 3 uint8 pictures as N x H x W grey levels (float, 0-255)."""
    rgb = np.asarray(images, dtype=np.float64)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def histogram(values: np.ndarray) -> np.ndarray:
    """Counts of integer levels 0-255 (values rounded and clipped)."""
    levels = np.clip(np.rint(values), 0, LEVELS - 1).astype(np.int64).ravel()
    return np.bincount(levels, minlength=LEVELS).astype(np.float64)


def w1_from_histograms(a: np.ndarray, b: np.ndarray) -> float:
    """1-Wasserstein distance between two distributions on the levels 0..L-1 given as counts: the area
    between their CDFs (bin width 1). NaN when either is empty."""
    if a.sum() == 0 or b.sum() == 0:
        return float("nan")
    return float(np.abs(np.cumsum(a / a.sum()) - np.cumsum(b / b.sum())).sum())


def edges(grey_images: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude of each grey picture (reflected borders)."""
    out = np.empty_like(grey_images, dtype=np.float64)
    for i, picture in enumerate(grey_images):
        gx = cv2.Sobel(picture, cv2.CV_64F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT_101)
        gy = cv2.Sobel(picture, cv2.CV_64F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT_101)
        out[i] = np.hypot(gx, gy)
    return out


def defect_fractions(masks: np.ndarray) -> np.ndarray:
    """The share of each picture's labelled pixels that are defect (mask > 0, ignore label 255 left out)."""
    masks = np.asarray(masks)
    labelled = (masks != 255).reshape(len(masks), -1).sum(axis=1)
    defect = ((masks > 0) & (masks != 255)).reshape(len(masks), -1).sum(axis=1)
    return defect / np.maximum(labelled, 1)


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical CDFs."""
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    if not len(a) or not len(b):
        return float("nan")
    points = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, points, side="right") / len(a)
                               - np.searchsorted(b, points, side="right") / len(b))))


def pixel_stats(gen_images: np.ndarray, gen_masks: np.ndarray, real_images: np.ndarray, real_masks: np.ndarray) -> dict[str, float]:
    """Every distance of ``PIXEL_STATS`` between a generated set and a real set (N x H x W x 3 uint8
    pictures, N x H x W class-index masks; the two sets may differ in count, not in picture size)."""
    gen_grey, real_grey = grey(gen_images), grey(real_images)
    gen_defect = (gen_masks > 0) & (gen_masks != 255)
    real_defect = (real_masks > 0) & (real_masks != 255)
    return {
        "grey_W1": w1_from_histograms(histogram(gen_grey), histogram(real_grey)),
        "defect_grey_W1": w1_from_histograms(histogram(gen_grey[gen_defect]), histogram(real_grey[real_defect])),
        "edge_W1": w1_from_histograms(histogram(edges(gen_grey)), histogram(edges(real_grey))),
        "area_KS": ks_statistic(defect_fractions(gen_masks), defect_fractions(real_masks)),
    }
