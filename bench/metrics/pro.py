"""Per-region overlap (PRO) and the area under its curve up to a false-positive-rate limit (AUPRO).

The definition of the MVTec AD evaluation (Bergmann et al., IJCV 2021) as anomalib implements it
(``anomalib.metrics.AUPRO``): ground-truth regions are the 8-connected components of each image's
defect mask (all defect classes merged), pooled over the data set; every distinct score is a threshold;
at each, the false-positive rate is taken over all background pixels of the data set and PRO is the
mean over regions of the fraction of the region's pixels scoring at or above the threshold. The curve
starts at (0, 0), is cut at ``fpr_limit`` (default 0.3) with a point interpolated linearly between its
neighbours, and its trapezoidal area is divided by the limit, so a perfect map scores 1.

Vectorised: one sort of all pixel scores; the PRO at every threshold is the cumulative sum of a pixel
weight 1 / (number of regions x size of the pixel's region).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from bench.metrics.scores import cumulative_at_thresholds

DEFAULT_FPR_LIMIT = 0.3


def defect_regions(gt_masks: np.ndarray, ignore_index: int = 255) -> tuple[np.ndarray, int]:
    """N x H x W region ids (0 = not a defect pixel; 1..K numbered across images) and K.

    Components are 8-connected (OpenCV's default, as in anomalib); ignored pixels belong to no region.
    """
    gt = np.asarray(gt_masks)
    defect = ((gt > 0) & (gt != ignore_index)).astype(np.uint8)
    regions = np.zeros(gt.shape, np.int32)
    count = 0
    for i, mask in enumerate(defect):
        n, labels = cv2.connectedComponents(mask, connectivity=8, ltype=cv2.CV_32S)
        regions[i] = np.where(labels > 0, labels + count, 0)
        count += n - 1
    return regions, count


def pro_weights(regions: np.ndarray, count: int) -> np.ndarray:
    """Per pixel 1 / (K x |region|) inside a region, 0 outside: summed over covered pixels, this is PRO."""
    sizes = np.bincount(regions.ravel(), minlength=count + 1).astype(np.float64)
    inverse = np.zeros_like(sizes)
    inverse[1:] = 1.0 / (count * np.maximum(sizes[1:], 1))
    return inverse[regions]


def area_under_pro(fpr: np.ndarray, pro: np.ndarray, fpr_limit: float = DEFAULT_FPR_LIMIT) -> float:
    """Normalised trapezoidal area of the (FPR, PRO) curve from 0 to ``fpr_limit``.

    ``fpr``/``pro`` are the values at each threshold, highest threshold first (FPR non-decreasing); the
    origin is prepended here. Where the limit falls between two points, the curve is cut there at the
    linearly interpolated PRO.
    """
    if not 0 < fpr_limit <= 1:
        raise ValueError(f"fpr_limit must lie in (0, 1], got {fpr_limit}")
    x, y = np.r_[0.0, fpr], np.r_[0.0, pro]
    cut = int(np.searchsorted(x, fpr_limit, side="right"))  # first point beyond the limit
    if cut < x.size:
        y_at = y[cut - 1] + (y[cut] - y[cut - 1]) * (fpr_limit - x[cut - 1]) / (x[cut] - x[cut - 1])
        x, y = np.r_[x[:cut], fpr_limit], np.r_[y[:cut], y_at]
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2) / fpr_limit)


@dataclass(frozen=True)
class PixelCurves:
    """Counts at every distinct pixel score, highest first, from one sort: what AUROC, AP, F1-max and AUPRO need."""

    tps: np.ndarray  # defect pixels scoring >= the threshold
    fps: np.ndarray  # background pixels scoring >= the threshold
    pro: np.ndarray  # mean covered fraction of the ground-truth regions
    regions: int

    def aupro(self, fpr_limit: float = DEFAULT_FPR_LIMIT) -> float:
        """NaN without a region or without a background pixel."""
        if self.regions == 0 or not self.fps[-1] > 0:
            return float("nan")
        return area_under_pro(self.fps / self.fps[-1], self.pro, fpr_limit)


def pixel_curves(gt_masks: np.ndarray, scores: np.ndarray, ignore_index: int = 255) -> PixelCurves:
    """Curves over the non-ignored pixels of N x H x W masks and score maps (label = any defect class)."""
    gt = np.asarray(gt_masks)
    regions, count = defect_regions(gt, ignore_index)
    keep = gt != ignore_index
    if not keep.any():
        return PixelCurves(np.zeros(1), np.zeros(1), np.zeros(1), 0)
    defect = regions[keep] > 0
    tps, fps, pro = cumulative_at_thresholds(np.asarray(scores)[keep], defect, ~defect, pro_weights(regions, count)[keep])
    return PixelCurves(tps, fps, pro, count)


def aupro(gt_masks: np.ndarray, scores: np.ndarray, fpr_limit: float = DEFAULT_FPR_LIMIT, ignore_index: int = 255) -> float:
    """AUPRO of N x H x W score maps against N x H x W class-index masks."""
    return pixel_curves(gt_masks, scores, ignore_index).aupro(fpr_limit)
