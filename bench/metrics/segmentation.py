"""Segmentation metrics from a class confusion matrix (MMSegmentation's IoUMetric conventions).

IoU, Dice and accuracy are accumulated over the whole test set (not averaged per image). A class with
no ground-truth and no predicted pixel has an undefined IoU (NaN) and is left out of the means, as in
MMSegmentation. Values are fractions in [0, 1]; reports show them as percentages.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np


def confusion_matrix(gt: np.ndarray, pred: np.ndarray, num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """``cm[i, j]`` = number of pixels of ground-truth class i predicted as class j."""
    gt = np.asarray(gt).ravel().astype(np.int64)
    pred = np.asarray(pred).ravel().astype(np.int64)
    keep = gt != ignore_index
    gt, pred = gt[keep], pred[keep]
    if gt.size and (gt.max() >= num_classes or pred.max() >= num_classes or gt.min() < 0 or pred.min() < 0):
        raise ValueError(f"class ids must lie in [0, {num_classes})")
    return np.bincount(gt * num_classes + pred, minlength=num_classes**2).reshape(num_classes, num_classes)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.maximum(den, 1), np.nan)


def per_class_iou(cm: np.ndarray) -> np.ndarray:
    intersect = np.diag(cm).astype(np.float64)
    union = cm.sum(0) + cm.sum(1) - np.diag(cm)
    return _ratio(intersect, union)


def per_class_dice(cm: np.ndarray) -> np.ndarray:
    intersect = np.diag(cm).astype(np.float64)
    return _ratio(2 * intersect, cm.sum(0) + cm.sum(1))


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """Recall of each class: correct pixels over ground-truth pixels (MMSegmentation's 'Acc')."""
    return _ratio(np.diag(cm).astype(np.float64), cm.sum(1))


def _nanmean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def segmentation_summary(cm: np.ndarray, class_names: Mapping[int, str]) -> dict:
    """The record's segmentation block: means over all classes and over defect classes, plus per class."""
    iou, dice, acc = per_class_iou(cm), per_class_dice(cm), per_class_accuracy(cm)
    total = cm.sum()
    return {
        "mIoU": _nanmean(iou),
        "mIoU_defect": _nanmean(iou[1:]),
        "mDice": _nanmean(dice),
        "mAcc": _nanmean(acc),
        "aAcc": float(np.trace(cm) / total) if total else float("nan"),
        "per_class": {
            class_names.get(k, str(k)): {"IoU": _none_if_nan(iou[k]), "Dice": _none_if_nan(dice[k]), "Acc": _none_if_nan(acc[k])}
            for k in range(cm.shape[0])
        },
    }


def _none_if_nan(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


BINARY_CLASSES = {0: "background", 1: "defect"}


def binary_confusion(cm: np.ndarray) -> np.ndarray:
    """Defect vs background from a class confusion matrix: all defect classes merged, so a defect pixel
    predicted as another defect class counts as correct."""
    cm = np.asarray(cm)
    return np.array([[cm[0, 0], cm[0, 1:].sum()], [cm[1:, 0].sum(), cm[1:, 1:].sum()]], dtype=np.int64)
