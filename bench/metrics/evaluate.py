"""From a segmenter's test-set predictions to the record's metric blocks (the one entry the runner calls)."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from bench.metrics.segmentation import confusion_matrix, segmentation_summary
from bench.pairset import PairSet


def evaluate_predictions(test: PairSet, predictions, classes: Mapping[int, str]) -> dict:
    """``metrics`` (headline + per class) and ``confusion_matrix`` for one run's test set."""
    num_classes = max(classes) + 1
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    for pair_id, labels in zip(predictions.ids, predictions.labels):
        cm += confusion_matrix(test.mask(pair_id), labels, num_classes)
    return {"metrics": segmentation_summary(cm, classes), "confusion_matrix": cm.tolist()}
