"""From a segmenter's test-set predictions to the record's metric blocks (the one entry the runner calls)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from bench.core.errors import BenchError
from bench.core.pairset import PairSet
from bench.metrics.benign import class_areas
from bench.metrics.image_scores import DEFAULT_IMAGE_SCORE, IMAGE_SCORES, image_labels, image_scores
from bench.metrics.pro import DEFAULT_FPR_LIMIT, pixel_curves
from bench.metrics.scores import ap_from_counts, auroc_from_counts, detection_scores, f1_at_threshold, f1max_from_counts
from bench.metrics.segmentation import BINARY_CLASSES, binary_confusion, confusion_matrix, segmentation_summary

IGNORE_INDEX = 255
BY_TYPE = ("the pixel metrics again on the test pictures of each type alone (those holding a pixel of it; no "
           "defect-free picture), with their count: a transfer's target types, each scored as DCDGANc Table 8 does")


@dataclass(frozen=True)
class MetricSettings:
    """The metric choices that change numbers; every record names them under ``metric_variants``."""

    image_score: str = DEFAULT_IMAGE_SCORE  # the variant behind image_AUROC/AP/F1max/F1 (image_scores.py)
    f1_threshold: float = 0.5  # pixel_F1 and image_F1: score >= threshold is a defect
    aupro_fpr_limit: float = DEFAULT_FPR_LIMIT  # pixel_AUPRO integrates the PRO curve up to this FPR

    def validated(self) -> "MetricSettings":
        IMAGE_SCORES.get(self.image_score)  # unknown names fail with the list of known ones
        if not 0 < self.aupro_fpr_limit <= 1:
            raise BenchError(f"AUPRO FPR limit {self.aupro_fpr_limit} is outside (0, 1]", "pass a limit such as 0.3")
        return self


def metric_variants(settings: MetricSettings = MetricSettings()) -> dict:
    """What each metric key means, with the effective settings (written into every record)."""
    score = IMAGE_SCORES.get(settings.image_score)
    return {
        "mIoU": "mean IoU over all classes incl. background, pixels accumulated over the test set, "
        "classes absent from ground truth and prediction left out (MMSegmentation IoUMetric convention)",
        "mIoU_defect": "the same mean over defect classes only (background excluded)",
        "binary": "the segmentation block again with all defect classes merged into one 'defect' class "
        "(defect vs background; a defect pixel predicted as another defect class counts as correct)",
        "pixel_AUROC/AP/F1max": "every test pixel, label = defect class, score = 1 - p(background); "
        "scikit-learn conventions (trapezoidal ROC, AP without interpolation, F1 max over all thresholds)",
        "pixel_AUPRO": f"area under the per-region-overlap curve up to FPR {settings.aupro_fpr_limit:g}, divided by it; "
        "8-connected ground-truth regions per image pooled over the test set, every distinct score a threshold, "
        "FPR over all background pixels (MVTec AD / anomalib definition)",
        "pixel_F1/image_F1": f"F1 with 'score >= {settings.f1_threshold:g}' predicted defective (DefectSynth's fixed threshold)",
        "image_AUROC/AP/F1max/F1": f"every test image, label = any defect pixel, score = {score.name}: {score.definition}",
        "image_by_score": "the image-level metrics under every named image score",
        "image_score": score.name,
        "f1_threshold": settings.f1_threshold,
        "aupro_fpr_limit": settings.aupro_fpr_limit,
        "benign": "not stored: a report applies its benign rules to class_areas, accepting or rejecting each test image "
        "by the ground-truth and by the predicted mask; recall of defective products, false-reject rate of benign ones",
        "test_set": "defect test images of the split plus the release's test normals",
    }


def pixel_metrics(gt_masks: np.ndarray, defect_prob: np.ndarray, settings: MetricSettings = MetricSettings()) -> dict:
    """``pixel_*``: one sort for AUROC, AP, F1max and AUPRO, F1 at the threshold, for N x H x W masks and defect
    probabilities."""
    gt, prob = np.asarray(gt_masks), np.asarray(defect_prob)
    curves = pixel_curves(gt, prob, IGNORE_INDEX)
    keep = gt != IGNORE_INDEX
    pixel = {
        "AUROC": auroc_from_counts(curves.tps, curves.fps),
        "AP": ap_from_counts(curves.tps, curves.fps),
        "F1max": f1max_from_counts(curves.tps, curves.fps),
        "F1": f1_at_threshold(gt[keep] > 0, prob[keep], settings.f1_threshold),
        "AUPRO": curves.aupro(settings.aupro_fpr_limit),
    }
    return {f"pixel_{k}": v for k, v in pixel.items()}


def detection_metrics(gt_masks: np.ndarray, defect_prob: np.ndarray, settings: MetricSettings = MetricSettings()) -> dict:
    """``pixel_*`` (``pixel_metrics``), ``image_*`` under the chosen image score, and ``image_by_score`` under every
    one, for N x H x W masks and defect probabilities."""
    gt, prob = np.asarray(gt_masks), np.asarray(defect_prob)
    labels = image_labels(gt, IGNORE_INDEX)
    by_score = {name: detection_scores(labels, image_scores(prob, name), settings.f1_threshold) for name in IMAGE_SCORES.names()}
    return {**pixel_metrics(gt, prob, settings),
            **{f"image_{k}": v for k, v in by_score[settings.image_score].items()},
            "image_by_score": by_score}


def metrics_by_type(ids, gt_masks: np.ndarray, defect_prob: np.ndarray, types: Mapping[str, Sequence[str]],
                    settings: MetricSettings = MetricSettings()) -> dict:
    """Per type, the ``pixel_*`` metrics on the test pictures of that type alone and their count (DCDGANc Table 8
    scores each transferred type on its own crops): type -> {pixel_*, n_images}; a type without pictures is left out."""
    index = {pair_id: i for i, pair_id in enumerate(ids)}
    out = {}
    for name, chosen in types.items():
        rows = [index[pair_id] for pair_id in chosen]
        if rows:
            out[name] = {**pixel_metrics(gt_masks[rows], defect_prob[rows], settings), "n_images": len(rows)}
    return out


def segmentation_metrics(cm: np.ndarray, classes: Mapping[int, str]) -> dict:
    """The class-confusion block and, beside it, the same block for defect vs background (``binary``)."""
    return {**segmentation_summary(cm, classes), "binary": segmentation_summary(binary_confusion(cm), BINARY_CLASSES)}


def accumulate_confusion(gts, labels, num_classes: int) -> np.ndarray:
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    for gt, pred in zip(gts, labels):
        cm += confusion_matrix(gt, pred, num_classes, IGNORE_INDEX)
    return cm


def evaluate_predictions(
    test: PairSet, predictions, classes: Mapping[int, str], settings: MetricSettings = MetricSettings(),
    types: Mapping[str, Sequence[str]] | None = None,
) -> dict:
    """``metrics`` (headline, per class, binary, pixel/image detection and, given ``types`` (name -> test ids),
    ``by_type``), ``metric_variants``, ``confusion_matrix`` and per-image ``class_areas``: what benign rules
    decide from, in a report, with the rules it is given (``bench.report.frames``)."""
    settings = settings.validated()
    num_classes = max(classes) + 1
    gts = np.stack([test.mask(pair_id) for pair_id in predictions.ids])
    cm = accumulate_confusion(gts, predictions.labels, num_classes)
    gt_areas = [class_areas(g, num_classes).tolist() for g in gts]
    pred_areas = [class_areas(p, num_classes).tolist() for p in predictions.labels]
    by_type = metrics_by_type(predictions.ids, gts, np.asarray(predictions.defect_prob), types, settings) if types else {}
    return {
        "metrics": {**segmentation_metrics(cm, classes), **detection_metrics(gts, predictions.defect_prob, settings),
                    **({"by_type": by_type} if by_type else {})},
        "metric_variants": {**metric_variants(settings), **({"by_type": BY_TYPE} if by_type else {})},
        "confusion_matrix": cm.tolist(),
        "class_areas": {"ids": list(predictions.ids), "gt": gt_areas, "pred": pred_areas},
    }
