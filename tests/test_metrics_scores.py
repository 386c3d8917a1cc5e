"""Pixel and image detection metrics against scikit-learn on the same random and hand-made inputs."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
)

from bench.metrics.evaluate import detection_metrics
from bench.metrics.scores import (
    average_precision,
    cumulative_at_thresholds,
    f1_max,
    image_labels_and_scores,
    roc_auc,
)


def _sk_f1max(labels, scores):
    precision, recall, _ = precision_recall_curve(labels, scores)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0)
    return f1.max()


def _cases():
    rng = np.random.default_rng(7)
    for n, quantize in ((50, None), (400, 8), (1000, None), (2000, 3)):
        labels = rng.random(n) < 0.3
        scores = rng.random(n) + 0.5 * labels
        if quantize:  # many tied scores, as float16 probabilities produce
            scores = np.round(scores * quantize) / quantize
        yield labels, scores
    yield np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])  # the scikit-learn docs example
    yield np.array([1, 0, 1, 0, 1]), np.array([0.5, 0.5, 0.5, 0.5, 0.5])  # all tied
    yield np.array([0, 1, 1, 0, 0, 1]), np.array([0.9, 0.1, 0.2, 0.8, 0.7, 0.3])  # perfectly wrong


@pytest.mark.parametrize("labels, scores", list(_cases()))
def test_auroc_ap_f1max_match_scikit_learn(labels, scores):
    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-6)
    assert average_precision(labels, scores) == pytest.approx(average_precision_score(labels, scores), abs=1e-6)
    assert f1_max(labels, scores) == pytest.approx(_sk_f1max(labels, scores), abs=1e-6)


def test_hand_made_values():
    labels, scores = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    assert roc_auc(labels, scores) == pytest.approx(0.75)
    assert average_precision(labels, scores) == pytest.approx((1 + 2 / 3) / 2)
    assert f1_max(labels, scores) == pytest.approx(0.8)  # threshold 0.35: P = 2/3, R = 1


def test_undefined_when_one_label_is_missing():
    assert np.isnan(roc_auc(np.zeros(5), np.arange(5)))
    assert np.isnan(average_precision(np.zeros(5), np.arange(5)))
    assert roc_auc(np.ones(3), np.arange(3)) != roc_auc(np.ones(3), np.arange(3))


def test_cumulative_sums_at_tied_thresholds():
    (counts, weighted) = cumulative_at_thresholds(np.array([0.2, 0.9, 0.2, 0.5]), np.ones(4), np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(counts, [1, 2, 4])  # thresholds 0.9, 0.5, 0.2 (tied pair counted once, together)
    np.testing.assert_array_equal(weighted, [2, 6, 10])


def test_pixel_and_image_levels_on_masks_match_scikit_learn():
    rng = np.random.default_rng(3)
    gt = np.zeros((6, 12, 12), np.uint8)
    for i in (0, 2, 3):
        gt[i, 2 + i : 6 + i, 3:8] = 1 + i % 2
    gt[5, :2] = 255  # ignored pixels take no part
    prob = np.clip(rng.random(gt.shape) * 0.6 + 0.4 * (gt > 0), 0, 1).astype(np.float16)
    ours = detection_metrics(gt, prob)
    keep = gt != 255
    pixel_labels, pixel_scores = (gt[keep] > 0), prob[keep].astype(np.float64)
    assert ours["pixel_AUROC"] == pytest.approx(roc_auc_score(pixel_labels, pixel_scores), abs=1e-6)
    assert ours["pixel_AP"] == pytest.approx(average_precision_score(pixel_labels, pixel_scores), abs=1e-6)
    assert ours["pixel_F1max"] == pytest.approx(_sk_f1max(pixel_labels, pixel_scores), abs=1e-6)
    image_labels, image_scores = image_labels_and_scores(gt, prob)
    np.testing.assert_array_equal(image_labels, [True, False, True, True, False, False])
    np.testing.assert_allclose(image_scores, prob.reshape(6, -1).max(1).astype(np.float64))
    assert ours["image_AUROC"] == pytest.approx(roc_auc_score(image_labels, image_scores), abs=1e-6)
    assert ours["image_AP"] == pytest.approx(average_precision_score(image_labels, image_scores), abs=1e-6)
    from bench.metrics.pro import aupro

    assert ours["pixel_AUPRO"] == pytest.approx(aupro(gt, prob), abs=1e-12)
