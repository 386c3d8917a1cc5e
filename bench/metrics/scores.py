"""Threshold-free detection metrics from scores: AUROC, average precision and the best F1 over thresholds.

Used at two levels: every test pixel (defect vs background, score = defect probability) and every test
image (label = any defect pixel, score = the image's maximum defect probability). Conventions follow
scikit-learn (``roc_auc_score``, ``average_precision_score``, ``precision_recall_curve``) so numbers are
comparable with public anomaly-detection code. A metric that needs both labels present is NaN otherwise.
"""

from __future__ import annotations

import numpy as np


def _counts_at_thresholds(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives when thresholding at each distinct score, highest first."""
    labels = np.asarray(labels).ravel().astype(bool)
    scores = np.asarray(scores).ravel().astype(np.float64)
    order = np.argsort(-scores, kind="mergesort")
    scores, labels = scores[order], labels[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores)), scores.size - 1]
    tps = np.cumsum(labels)[last_of_tie]
    fps = (last_of_tie + 1) - tps
    return tps.astype(np.float64), fps.astype(np.float64)


def _both_labels(labels: np.ndarray) -> bool:
    labels = np.asarray(labels).astype(bool)
    return bool(labels.any() and not labels.all())


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (trapezoids between distinct thresholds, ties counted half)."""
    if not _both_labels(labels):
        return float("nan")
    tps, fps = _counts_at_thresholds(labels, scores)
    tpr = np.r_[0.0, tps / tps[-1]]
    fpr = np.r_[0.0, fps / fps[-1]]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Sum over thresholds of (recall step) x precision, without interpolation."""
    if not np.asarray(labels).astype(bool).any():
        return float("nan")
    tps, fps = _counts_at_thresholds(labels, scores)
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def f1_max(labels: np.ndarray, scores: np.ndarray) -> float:
    """The best F1 over all thresholds on the scores."""
    if not np.asarray(labels).astype(bool).any():
        return float("nan")
    tps, fps = _counts_at_thresholds(labels, scores)
    positives = tps[-1]
    f1 = 2 * tps / (tps + fps + positives)  # = 2PR / (P + R)
    return float(f1.max())


def detection_scores(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    return {"AUROC": roc_auc(labels, scores), "AP": average_precision(labels, scores), "F1max": f1_max(labels, scores)}


def image_labels_and_scores(gt_masks: np.ndarray, defect_prob: np.ndarray, ignore_index: int = 255):
    """Image label = any defect pixel in ground truth; image score = maximum defect probability."""
    gt = np.asarray(gt_masks)
    defect = (gt > 0) & (gt != ignore_index)
    n = gt.shape[0]
    return defect.reshape(n, -1).any(axis=1), np.asarray(defect_prob, dtype=np.float64).reshape(n, -1).max(axis=1)


def pixel_and_image_scores(gt_masks: np.ndarray, defect_prob: np.ndarray, ignore_index: int = 255) -> dict[str, float]:
    """``pixel_AUROC`` ... ``image_F1max`` for N x H x W ground-truth masks and defect probabilities."""
    gt = np.asarray(gt_masks)
    prob = np.asarray(defect_prob, dtype=np.float64)
    keep = gt != ignore_index
    pixel = detection_scores(gt[keep] > 0, prob[keep])
    image = detection_scores(*image_labels_and_scores(gt, prob, ignore_index))
    return {**{f"pixel_{k}": v for k, v in pixel.items()}, **{f"image_{k}": v for k, v in image.items()}}
