"""Pixel and image detection metrics against scikit-learn (and torch for the pooled image score) on the same
random and hand-made inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, f1_score, precision_recall_curve, roc_auc_score

from bench.metrics.evaluate import MetricSettings, detection_metrics
from bench.metrics.image_scores import IMAGE_SCORES, image_labels, image_scores
from bench.metrics.scores import average_precision, cumulative_at_thresholds, f1_at_threshold, f1_max, roc_auc


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


@pytest.mark.parametrize("labels, scores", list(_cases()))
@pytest.mark.parametrize("threshold", [0.5, 0.35, 0.0])
def test_f1_at_a_fixed_threshold_matches_scikit_learn(labels, scores, threshold):
    assert f1_at_threshold(labels, scores, threshold) == pytest.approx(
        f1_score(labels, scores >= threshold, zero_division=0), abs=1e-12)


def test_f1_at_threshold_counts_a_tie_with_the_threshold_as_defect_and_is_undefined_without_defects():
    assert f1_at_threshold([1, 0], [0.5, 0.2], 0.5) == 1.0
    assert f1_at_threshold([1, 0], [0.4999, 0.2], 0.5) == 0.0
    assert np.isnan(f1_at_threshold([0, 0], [0.9, 0.1], 0.5))


def test_cumulative_sums_at_tied_thresholds():
    (counts, weighted) = cumulative_at_thresholds(np.array([0.2, 0.9, 0.2, 0.5]), np.ones(4), np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(counts, [1, 2, 4])  # thresholds 0.9, 0.5, 0.2 (tied pair counted once, together)
    np.testing.assert_array_equal(weighted, [2, 6, 10])


def test_float16_scores_binned_give_the_sums_of_the_sorted_path():
    rng = np.random.default_rng(5)
    scores = np.round(rng.random(5000) * 300) / 300
    scores[:50] = -0.0  # equal to +0.0: one threshold with it
    scores[50:100] = 0.0
    half = scores.astype(np.float16)
    labels, weights = rng.random(5000) < 0.3, rng.random(5000)
    binned = cumulative_at_thresholds(half, labels, ~labels, weights)
    sorted_ = cumulative_at_thresholds(half.astype(np.float32), labels, ~labels, weights)
    assert len(binned[0]) == len(np.unique(half.astype(np.float32)))
    for a, b in zip(binned, sorted_):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-9)
    assert roc_auc(labels, half) == pytest.approx(roc_auc_score(labels, half.astype(np.float64)), abs=1e-9)


def _maps(seed=3, n=6, size=30):
    rng = np.random.default_rng(seed)
    gt = np.zeros((n, size, size), np.uint8)
    for i in (0, 2, 3):
        gt[i, 2 + i : 6 + i, 3:8] = 1 + i % 2
    gt[5, :2] = 255  # ignored pixels take no part
    prob = np.clip(rng.random(gt.shape) * 0.6 + 0.4 * (gt > 0), 0, 1).astype(np.float16)
    prob[1, 20, 20] = 1.0  # a lone hot pixel: decides "max", barely moves the pooled score
    return gt, prob


def test_image_scores_match_torch_pooling_and_a_sorted_reference():
    _, prob = _maps()
    maps = torch.from_numpy(prob.astype(np.float64))[:, None]
    pooled = torch.nn.functional.avg_pool2d(maps, 21, stride=1, padding=10).amax(dim=(1, 2, 3)).numpy()
    np.testing.assert_allclose(image_scores(prob, "max-avgpool21"), pooled, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(image_scores(prob, "max"), prob.reshape(len(prob), -1).max(1).astype(np.float64))
    k = int(np.ceil(0.01 * prob[0].size))
    top = np.sort(prob.reshape(len(prob), -1).astype(np.float64), axis=1)[:, -k:].mean(1)
    np.testing.assert_allclose(image_scores(prob, "mean-top-k"), top, rtol=0, atol=1e-12)
    assert image_scores(prob, "max")[1] == 1.0 and image_scores(prob, "max-avgpool21")[1] < 0.7


def test_pixel_and_image_levels_on_masks_match_scikit_learn():
    gt, prob = _maps()
    ours = detection_metrics(gt, prob, MetricSettings(f1_threshold=0.6))
    keep = gt != 255
    pixel_labels, pixel_scores = (gt[keep] > 0), prob[keep].astype(np.float64)
    assert ours["pixel_AUROC"] == pytest.approx(roc_auc_score(pixel_labels, pixel_scores), abs=1e-6)
    assert ours["pixel_AP"] == pytest.approx(average_precision_score(pixel_labels, pixel_scores), abs=1e-6)
    assert ours["pixel_F1max"] == pytest.approx(_sk_f1max(pixel_labels, pixel_scores), abs=1e-6)
    assert ours["pixel_F1"] == pytest.approx(f1_score(pixel_labels, pixel_scores >= 0.6), abs=1e-12)
    labels = image_labels(gt)
    np.testing.assert_array_equal(labels, [True, False, True, True, False, False])
    assert set(ours["image_by_score"]) == set(IMAGE_SCORES.names())
    for name, block in ours["image_by_score"].items():
        scores = image_scores(prob, name)
        assert block["AUROC"] == pytest.approx(roc_auc_score(labels, scores), abs=1e-6)
        assert block["AP"] == pytest.approx(average_precision_score(labels, scores), abs=1e-6)
        assert block["F1max"] == pytest.approx(_sk_f1max(labels, scores), abs=1e-6)
        assert block["F1"] == pytest.approx(f1_score(labels, scores >= 0.6, zero_division=0), abs=1e-12)
    assert {k: ours[f"image_{k}"] for k in ("AUROC", "AP", "F1max", "F1")} == ours["image_by_score"]["max"]
    pooled = detection_metrics(gt, prob, MetricSettings(image_score="max-avgpool21"))
    assert pooled["image_AUROC"] == ours["image_by_score"]["max-avgpool21"]["AUROC"]


def test_each_type_is_scored_on_its_own_pictures_as_scikit_learn_would():
    """A transfer's per-type block (DCDGANc Table 8): the pixel metrics over the pictures of one type alone."""
    from bench.metrics.evaluate import metrics_by_type

    gt, prob = _maps()  # pictures 0 and 2 hold class 1, picture 3 class 2
    ids = [f"p{i}" for i in range(len(gt))]
    blocks = metrics_by_type(ids, gt, prob, {"crack": ("p0", "p2"), "rough": ("p3",), "oil": ()}, MetricSettings(f1_threshold=0.6))
    assert set(blocks) == {"crack", "rough"} and (blocks["crack"]["n_images"], blocks["rough"]["n_images"]) == (2, 1)
    for name, rows in (("crack", [0, 2]), ("rough", [3])):
        labels, scores = gt[rows].ravel() > 0, prob[rows].ravel().astype(np.float64)
        assert blocks[name]["pixel_AUROC"] == pytest.approx(roc_auc_score(labels, scores), abs=1e-6)
        assert blocks[name]["pixel_AP"] == pytest.approx(average_precision_score(labels, scores), abs=1e-6)
        assert blocks[name]["pixel_F1max"] == pytest.approx(_sk_f1max(labels, scores), abs=1e-6)
        assert blocks[name]["pixel_F1"] == pytest.approx(f1_score(labels, scores >= 0.6), abs=1e-12)
