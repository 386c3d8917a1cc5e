"""AUPRO against a slow, obviously correct reference written here (a loop over thresholds, scipy's labelling)
and against hand-worked curves."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from bench.metrics.pro import aupro, defect_regions


def _reference_aupro(gt: np.ndarray, scores: np.ndarray, limit: float) -> float:
    """Threshold at every distinct score, count coverage region by region, integrate segment by segment."""
    keep = gt != 255
    background = keep & (gt == 0)
    regions = []
    for image, mask in enumerate(gt):
        labelled, n = ndimage.label((mask > 0) & (mask != 255), structure=np.ones((3, 3)))
        regions += [(image, labelled == k) for k in range(1, n + 1)]
    points = [(0.0, 0.0)]
    for t in sorted(set(scores[keep].tolist()), reverse=True):
        predicted = scores >= t
        fpr = (predicted & background).sum() / background.sum()
        pro = np.mean([(predicted[image] & region).sum() / region.sum() for image, region in regions])
        points.append((fpr, pro))
    area = 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x0 >= limit:
            break
        if x1 > limit:  # the curve is cut at the limit, its value there interpolated on this segment
            y1, x1 = y0 + (y1 - y0) * (limit - x0) / (x1 - x0), limit
        area += (x1 - x0) * (y0 + y1) / 2
    return area / limit


def _random_case(seed: int, tied: bool):
    rng = np.random.default_rng(seed)
    n, size = 3, 14
    gt = np.zeros((n, size, size), np.uint8)
    for i in range(n):
        for _ in range(rng.integers(1, 4)):
            top, left = rng.integers(0, size - 4, 2)
            h, w = rng.integers(1, 5, 2)
            gt[i, top : top + h, left : left + w] = rng.integers(1, 3)
    gt[0, 0, :3] = 255
    scores = rng.random(gt.shape) * 0.7 + 0.3 * (gt > 0) * rng.random(gt.shape)
    if tied:
        scores = np.round(scores * 6) / 6  # a handful of distinct values: many ties across both labels
    return gt, scores


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("limit", [0.3, 0.05, 1.0])
def test_aupro_matches_the_slow_reference(seed, tied, limit):
    gt, scores = _random_case(seed, tied)
    assert aupro(gt, scores, limit) == pytest.approx(_reference_aupro(gt, scores, limit), abs=1e-6)


def _one_image(region_scores, background_scores):
    """One row: the region's pixels first, then the background's."""
    gt = np.array([[1] * len(region_scores) + [0] * len(background_scores)], np.uint8)[None]
    return gt, np.array([list(region_scores) + list(background_scores)], np.float64)[None]


def test_hand_worked_curves():
    assert aupro(*_one_image([1.0, 1.0], [0.0] * 5)) == 1.0  # fully covered at FPR 0
    assert aupro(*_one_image([0.0, 0.0], [1.0] * 5)) == 0.0  # covered only once every background pixel is
    # PRO jumps to 1 at FPR 0.2 (two of ten background pixels score above the region): area 0.1 over 0.3
    assert aupro(*_one_image([0.5] * 4, [0.9] * 2 + [0.1] * 8)) == pytest.approx(1 / 3)
    # region and two background pixels tied: one sloped segment (0, 0) -> (0.2, 1), then flat: (0.1 + 0.1) / 0.3
    assert aupro(*_one_image([0.4] * 2, [0.4] * 2 + [0.0] * 8)) == pytest.approx(2 / 3)
    # the same map integrated to FPR 1 is the plain area under the curve
    assert aupro(*_one_image([0.4] * 2, [0.4] * 2 + [0.0] * 8), fpr_limit=1.0) == pytest.approx(0.9)


def test_regions_are_8_connected_per_image_and_pooled_over_images():
    gt = np.zeros((2, 5, 5), np.uint8)
    gt[0, 0, 0] = 1
    gt[0, 1:3, 1:3] = 2  # touches (0, 0) only diagonally: one region of 5 pixels, whatever the classes
    gt[1, 0, 0] = 1  # the same place in another image: a region of its own
    regions, count = defect_regions(gt)
    assert count == 2 and len(np.unique(regions[0])) == 2
    scores = np.full(gt.shape, 0.5)
    scores[gt > 0] = 0.0
    scores[0, 0, 0] = 1.0  # covers 1 of 5 pixels of the first region, nothing of the second
    assert aupro(gt, scores) == pytest.approx((1 / 5 + 0) / 2)


def test_undefined_without_regions_or_background_and_limit_checked():
    assert np.isnan(aupro(np.zeros((1, 4, 4), np.uint8), np.random.default_rng(0).random((1, 4, 4))))
    assert np.isnan(aupro(np.ones((1, 4, 4), np.uint8), np.random.default_rng(0).random((1, 4, 4))))
    with pytest.raises(ValueError, match="fpr_limit"):
        aupro(*_one_image([1.0], [0.0]), fpr_limit=0)
