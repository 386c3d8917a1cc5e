"""Detection metrics from scores: AUROC, average precision, the best F1 over thresholds and F1 at a fixed one.

Used at two levels: every test pixel (defect vs background, score = defect probability) and every test
image (label = any defect pixel, score = one of the named image scores of ``image_scores.py``). Conventions
follow scikit-learn (``roc_auc_score``, ``average_precision_score``, ``precision_recall_curve``,
``f1_score``) so numbers are comparable with public anomaly-detection code. A metric that needs both
labels present is NaN otherwise.

All threshold sweeps go through :func:`cumulative_at_thresholds`: the scores are sorted once and any
number of per-item weights are summed over the items scoring at or above each distinct score. float16
scores (the segmenters' defect probabilities) have at most 65536 values, so they are binned by their bit
pattern instead of sorted: the same sums in linear time.
"""

from __future__ import annotations

import numpy as np


def _as_scores(scores) -> np.ndarray:
    """A flat float array (float16, float32 and float64 kept as they are)."""
    scores = np.asarray(scores).ravel()
    return scores if scores.dtype in (np.float16, np.float32, np.float64) else scores.astype(np.float64)


def cumulative_at_thresholds(scores, *weights) -> list[np.ndarray]:
    """For every distinct score t, highest first: the sum of each weight over the items with score >= t.

    One sort, then cumulative sums read at the last item of each run of tied scores, so ties are one
    threshold (as in scikit-learn's curves). Returns one array per weight, all of the same length.
    """
    scores = _as_scores(scores)
    weights = [np.asarray(w).ravel() for w in weights]
    if scores.dtype == np.float16:
        return _cumulative_binned(scores, weights)
    order = np.argsort(-scores)
    ranked = scores[order]
    last_of_tie = np.r_[np.flatnonzero(ranked[1:] != ranked[:-1]), ranked.size - 1]
    return [np.cumsum(w[order], dtype=np.float64)[last_of_tie] for w in weights]


def _cumulative_binned(scores: np.ndarray, weights: list[np.ndarray]) -> list[np.ndarray]:
    """:func:`cumulative_at_thresholds` for float16 scores: weight sums per bit pattern, patterns ordered by
    value (highest first), equal values (+0 and -0) one threshold."""
    bits = scores.view(np.uint16)
    present = np.flatnonzero(np.bincount(bits, minlength=1 << 16))
    values = present.astype(np.uint16).view(np.float16).astype(np.float32)
    order = np.argsort(-values, kind="stable")
    ranked = values[order]
    last_of_tie = np.r_[np.flatnonzero(ranked[1:] != ranked[:-1]), ranked.size - 1]
    sums = [np.bincount(bits, weights=w.astype(np.float64), minlength=1 << 16)[present][order] for w in weights]
    return [np.cumsum(s)[last_of_tie] for s in sums]


def _counts(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives when thresholding at each distinct score, highest first."""
    labels = np.asarray(labels).ravel().astype(bool)
    if not labels.size:
        return np.zeros(1), np.zeros(1)
    tps, fps = cumulative_at_thresholds(scores, labels, ~labels)
    return tps, fps


def auroc_from_counts(tps: np.ndarray, fps: np.ndarray) -> float:
    """Trapezoidal area under the ROC curve through the origin and every threshold (ties count half)."""
    if not (tps[-1] > 0 and fps[-1] > 0):
        return float("nan")
    tpr, fpr = np.r_[0.0, tps / tps[-1]], np.r_[0.0, fps / fps[-1]]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def ap_from_counts(tps: np.ndarray, fps: np.ndarray) -> float:
    """Sum over thresholds of (recall step) x precision, without interpolation."""
    if not tps[-1] > 0:
        return float("nan")
    return float(np.sum(np.diff(np.r_[0.0, tps / tps[-1]]) * tps / (tps + fps)))


def f1max_from_counts(tps: np.ndarray, fps: np.ndarray) -> float:
    """The best F1 over all thresholds: 2 TP / (TP + FP + P) = 2PR / (P + R)."""
    if not tps[-1] > 0:
        return float("nan")
    return float((2 * tps / (tps + fps + tps[-1])).max())


def roc_auc(labels, scores) -> float:
    return auroc_from_counts(*_counts(labels, scores))


def average_precision(labels, scores) -> float:
    return ap_from_counts(*_counts(labels, scores))


def f1_max(labels, scores) -> float:
    return f1max_from_counts(*_counts(labels, scores))


def f1_at_threshold(labels, scores, threshold: float) -> float:
    """F1 of the prediction "score >= threshold" (DefectSynth's fixed-threshold F1); NaN without positives."""
    labels = np.asarray(labels).ravel().astype(bool)
    if not labels.any():
        return float("nan")
    predicted = _as_scores(scores) >= threshold
    tp = np.count_nonzero(predicted & labels)
    return float(2 * tp / (np.count_nonzero(predicted) + np.count_nonzero(labels)))


def detection_scores(labels, scores, threshold: float = 0.5) -> dict[str, float]:
    """AUROC, AP, F1max (one sort) and F1 at ``threshold``."""
    tps, fps = _counts(labels, scores)
    return {"AUROC": auroc_from_counts(tps, fps), "AP": ap_from_counts(tps, fps), "F1max": f1max_from_counts(tps, fps),
            "F1": f1_at_threshold(labels, scores, threshold)}
