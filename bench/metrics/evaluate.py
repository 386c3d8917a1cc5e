"""From a segmenter's test-set predictions to the record's metric blocks (the one entry the runner calls)."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from bench.core.pairset import PairSet
from bench.metrics.benign import BenignRules, benign_from_areas, class_areas
from bench.metrics.pro import DEFAULT_FPR_LIMIT, pixel_curves
from bench.metrics.scores import ap_from_counts, auroc_from_counts, detection_scores, f1max_from_counts, image_labels_and_scores
from bench.metrics.segmentation import confusion_matrix, segmentation_summary

METRIC_VARIANTS = {
    "mIoU": "mean IoU over all classes incl. background, pixels accumulated over the test set, "
    "classes absent from ground truth and prediction left out (MMSegmentation IoUMetric convention)",
    "mIoU_defect": "the same mean over defect classes only (background excluded)",
    "pixel_AUROC/AP/F1max": "every test pixel, label = defect class, score = 1 - p(background); "
    "scikit-learn conventions (trapezoidal ROC, AP without interpolation, F1 max over all thresholds)",
    "pixel_AUPRO": f"area under the per-region-overlap curve up to FPR {DEFAULT_FPR_LIMIT:g}, divided by it; "
    "8-connected ground-truth regions per image pooled over the test set, every distinct score a threshold, "
    "FPR over all background pixels (MVTec AD / anomalib definition)",
    "aupro_fpr_limit": DEFAULT_FPR_LIMIT,
    "image_AUROC/AP/F1max": "every test image, label = any defect pixel, score = max defect probability",
    "benign": "accept/reject per test image by the product's benign rule applied to the ground-truth and to "
    "the predicted mask; recall of defective products, false-reject rate of benign ones",
    "test_set": "defect test images of the split plus the release's test normals",
}

IGNORE_INDEX = 255


def detection_metrics(gt_masks: np.ndarray, defect_prob: np.ndarray, fpr_limit: float = DEFAULT_FPR_LIMIT) -> dict:
    """``pixel_*`` (one sort for AUROC, AP, F1max and AUPRO) and ``image_*`` for N x H x W masks and defect
    probabilities."""
    gt, prob = np.asarray(gt_masks), np.asarray(defect_prob)
    curves = pixel_curves(gt, prob, IGNORE_INDEX)
    pixel = {
        "AUROC": auroc_from_counts(curves.tps, curves.fps),
        "AP": ap_from_counts(curves.tps, curves.fps),
        "F1max": f1max_from_counts(curves.tps, curves.fps),
        "AUPRO": curves.aupro(fpr_limit),
    }
    image = detection_scores(*image_labels_and_scores(gt, prob, IGNORE_INDEX))
    return {**{f"pixel_{k}": v for k, v in pixel.items()}, **{f"image_{k}": v for k, v in image.items()}}


def evaluate_predictions(
    test: PairSet, predictions, classes: Mapping[int, str], product: str = "", rules: BenignRules | None = None
) -> dict:
    """``metrics`` (headline, per class, pixel/image detection), ``confusion_matrix``, per-image ``class_areas``
    (so benign rules can be re-applied from the record) and, with rules, ``benign``."""
    num_classes = max(classes) + 1
    gts = np.stack([test.mask(pair_id) for pair_id in predictions.ids])
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    for gt, labels in zip(gts, predictions.labels):
        cm += confusion_matrix(gt, labels, num_classes)
    gt_areas = [class_areas(g, num_classes).tolist() for g in gts]
    pred_areas = [class_areas(p, num_classes).tolist() for p in predictions.labels]
    out = {
        "metrics": {**segmentation_summary(cm, classes), **detection_metrics(gts, predictions.defect_prob)},
        "confusion_matrix": cm.tolist(),
        "class_areas": {"ids": list(predictions.ids), "gt": gt_areas, "pred": pred_areas},
    }
    if rules is not None:
        out["benign"] = benign_from_areas(gt_areas, pred_areas, classes, product, rules)
    return out
