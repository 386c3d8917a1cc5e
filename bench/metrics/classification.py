"""Image-level defect-type classification metrics (DefectSynth Table VIII: accuracy and F1-score)."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def accuracy(truth: Sequence[int], predicted: Sequence[int]) -> float:
    """Fraction of images whose predicted type is their true type."""
    t, p = np.asarray(truth), np.asarray(predicted)
    if t.shape != p.shape or t.size == 0:
        raise ValueError(f"accuracy needs two equal, non-empty label lists, got {t.shape} and {p.shape}")
    return float(np.mean(t == p))


def macro_f1(truth: Sequence[int], predicted: Sequence[int], labels: Sequence[int]) -> float:
    """Unweighted mean over ``labels`` of each type's F1 (a type never predicted nor present scores 0), the
    scikit-learn ``f1_score(average="macro", labels=..., zero_division=0)`` convention."""
    t, p = np.asarray(truth), np.asarray(predicted)
    scores = []
    for label in labels:
        tp = np.sum((t == label) & (p == label))
        fp = np.sum((t != label) & (p == label))
        fn = np.sum((t == label) & (p != label))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


def per_class_accuracy(truth: Sequence[int], predicted: Sequence[int], labels: Sequence[int]) -> dict[int, float]:
    """Recall of each type present among the truths."""
    t, p = np.asarray(truth), np.asarray(predicted)
    return {int(label): float(np.mean(p[t == label] == label)) for label in labels if np.any(t == label)}
