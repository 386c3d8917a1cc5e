"""Image-level scores from a pixel defect-probability map, by name: the papers do not agree on one.

``max`` is the map's maximum (SeaS/LFD, bench's default). ``max-avgpool21`` is AnomalyDiffusion's (from
DRAEM's evaluation): the maximum of the map averaged over 21 x 21 windows with stride 1 and 10 pixels of
zero padding, zeros counted in the mean (``torch.nn.functional.avg_pool2d(p, 21, 1, 10)``), so a lone
hot pixel no longer decides the image. ``mean-top-k`` is the mean of the image's k highest pixel scores,
k = 1% of its pixels (at least one): between the two in how much area it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from bench.core.registry import Registry

DEFAULT_IMAGE_SCORE = "max"
POOL = 21  # AnomalyDiffusion's window side
TOP_K_FRACTION = 0.01


@dataclass(frozen=True)
class ImageScore:
    name: str
    definition: str
    source: str
    reduce: Callable[[np.ndarray], float]  # one H x W map -> the image's score


def pooled_max(prob: np.ndarray, window: int = POOL) -> float:
    """Maximum of the window x window mean (stride 1, zero padding window // 2, zeros counted)."""
    pad = window // 2
    padded = np.pad(np.asarray(prob, np.float64), pad)
    integral = np.zeros((padded.shape[0] + 1, padded.shape[1] + 1))
    integral[1:, 1:] = padded.cumsum(0).cumsum(1)
    sums = integral[window:, window:] - integral[:-window, window:] - integral[window:, :-window] + integral[:-window, :-window]
    return float(sums.max() / window**2)


def mean_top_k(prob: np.ndarray, fraction: float = TOP_K_FRACTION) -> float:
    flat = np.asarray(prob, np.float64).ravel()
    k = max(1, int(np.ceil(fraction * flat.size)))
    return float(np.partition(flat, flat.size - k)[flat.size - k :].mean())


IMAGE_SCORES: Registry[ImageScore] = Registry("image score", "bench.image_scores", ImageScore)
for _score in (
    ImageScore("max", "maximum defect probability of the image", "SeaS / LFD; bench default",
               lambda p: float(np.max(p))),
    ImageScore("max-avgpool21", "maximum of the 21 x 21 average-pooled map (stride 1, zero padding 10, zeros counted)",
               "AnomalyDiffusion test-localization.py (from DRAEM)", pooled_max),
    ImageScore("mean-top-k", f"mean of the k highest pixel scores, k = {TOP_K_FRACTION:.0%} of the pixels (at least 1)",
               "bench", mean_top_k),
):
    IMAGE_SCORES.register(_score)


def image_scores(defect_prob: np.ndarray, name: str = DEFAULT_IMAGE_SCORE) -> np.ndarray:
    """One score per image of an N x H x W map stack, by the named variant."""
    reduce = IMAGE_SCORES.get(name).reduce
    return np.array([reduce(p) for p in np.asarray(defect_prob)], dtype=np.float64)


def image_labels(gt_masks: np.ndarray, ignore_index: int = 255) -> np.ndarray:
    """Image label = any defect pixel in the ground truth."""
    gt = np.asarray(gt_masks)
    return ((gt > 0) & (gt != ignore_index)).reshape(gt.shape[0], -1).any(axis=1)
