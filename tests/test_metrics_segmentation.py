"""Our segmentation metrics against independent references on the same inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.metrics import jaccard_score

from bench.metrics.segmentation import confusion_matrix, per_class_iou, segmentation_summary


def _random_masks(seed: int, n=6, size=24, num_classes=4):
    rng = np.random.default_rng(seed)
    gts = [rng.integers(0, num_classes, (size, size)) for _ in range(n)]
    preds = [np.where(rng.random((size, size)) < 0.6, g, rng.integers(0, num_classes, (size, size))) for g in gts]
    return gts, preds


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_confusion_and_iou_match_scikit_learn(seed):
    gts, preds = _random_masks(seed)
    cm = sum(confusion_matrix(g, p, 4) for g, p in zip(gts, preds))
    flat_g, flat_p = np.concatenate([g.ravel() for g in gts]), np.concatenate([p.ravel() for p in preds])
    np.testing.assert_array_equal(cm, sk_confusion_matrix(flat_g, flat_p, labels=range(4)))
    np.testing.assert_allclose(per_class_iou(cm), jaccard_score(flat_g, flat_p, labels=range(4), average=None), atol=1e-12)


def test_ignore_index_pixels_are_dropped():
    gt = np.array([[0, 1], [255, 1]])
    pred = np.array([[0, 1], [1, 0]])
    assert confusion_matrix(gt, pred, 2).sum() == 3


@pytest.mark.parametrize("seed", [0, 3])
def test_per_class_values_match_mmsegmentation_iou_metric(seed):
    """Same inputs through IoUMetric's own accumulation (unrounded), compared to 1e-6."""
    from mmseg.evaluation import IoUMetric

    num_classes = 4
    gts, preds = _random_masks(seed, num_classes=num_classes)
    for g, p in zip(gts, preds):  # class 2 absent from ground truth and prediction: IoU undefined
        g[g == 2] = 1
        p[p == 2] = 1
    gts[0][:3] = 255  # ignored pixels
    areas = [IoUMetric.intersect_and_union(torch.from_numpy(p), torch.from_numpy(g), num_classes, 255) for g, p in zip(gts, preds)]
    totals = [sum(a[i] for a in areas) for i in range(4)]
    reference = IoUMetric.total_area_to_metrics(*totals, metrics=["mIoU", "mDice"])

    cm = sum(confusion_matrix(g, p, num_classes) for g, p in zip(gts, preds))
    ours = segmentation_summary(cm, {0: "bg", 1: "a", 2: "b", 3: "c"})
    for name, key in (("IoU", "IoU"), ("Dice", "Dice"), ("Acc", "Acc")):
        expected = np.asarray(reference[key], dtype=float)
        got = np.array([np.nan if ours["per_class"][c][name] is None else ours["per_class"][c][name] for c in ("bg", "a", "b", "c")])
        np.testing.assert_allclose(got, expected, atol=1e-6, equal_nan=True)
    assert ours["mIoU"] == pytest.approx(np.nanmean(np.asarray(reference["IoU"], dtype=float)), abs=1e-6)
    assert ours["aAcc"] == pytest.approx(float(reference["aAcc"]), abs=1e-6)
    assert ours["per_class"]["b"]["IoU"] is None


def test_defect_mean_excludes_background():
    cm = np.array([[90, 0], [5, 5]])
    summary = segmentation_summary(cm, {0: "background", 1: "scratch"})
    assert summary["mIoU_defect"] == pytest.approx(0.5)
    assert summary["mIoU"] == pytest.approx((90 / 95 + 0.5) / 2)


@pytest.mark.parametrize("seed", [0, 1])
def test_binary_block_matches_scikit_learn_on_merged_labels(seed):
    from sklearn.metrics import accuracy_score, f1_score

    from bench.metrics.evaluate import segmentation_metrics

    gts, preds = _random_masks(seed)
    gts[0][:2] = 255
    cm = sum(confusion_matrix(g, p, 4) for g, p in zip(gts, preds))
    block = segmentation_metrics(cm, {0: "bg", 1: "a", 2: "b", 3: "c"})
    keep = np.concatenate([g.ravel() for g in gts]) != 255
    flat_g = np.concatenate([g.ravel() for g in gts])[keep] > 0
    flat_p = np.concatenate([p.ravel() for p in preds])[keep] > 0
    binary = block["binary"]
    assert binary["mIoU"] == pytest.approx(jaccard_score(flat_g, flat_p, average="macro"), abs=1e-12)
    assert binary["mIoU_defect"] == pytest.approx(jaccard_score(flat_g, flat_p), abs=1e-12)
    assert binary["per_class"]["defect"]["Dice"] == pytest.approx(f1_score(flat_g, flat_p), abs=1e-12)
    assert binary["aAcc"] == pytest.approx(accuracy_score(flat_g, flat_p), abs=1e-12)
    assert set(binary["per_class"]) == {"background", "defect"}
    assert block["mIoU"] == segmentation_summary(cm, {0: "bg", 1: "a", 2: "b", 3: "c"})["mIoU"], "multi-class keys unchanged"
