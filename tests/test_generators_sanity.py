"""The sanity report: findings checked against direct counts and scikit-learn's nearest neighbours."""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors

from bench.core.pairset import Pair, write_pairset
from generators.sanity import MASK_SHARE, MEMORIZATION_THRESHOLD, degenerate_masks, memorization, sanity_report, thumbnail
from tests.helpers.pairs import make_pair

CLASSES = {0: "background", 1: "scratch", 2: "hole"}


def test_memorization_rate_matches_sklearn_nearest_neighbours():
    rng = np.random.default_rng(0)
    reference = rng.random((12, 300)).astype(np.float32)
    copies = reference[[1, 4, 7]] + rng.normal(0, 0.005, (3, 300)).astype(np.float32)  # near-duplicates
    fresh = rng.random((9, 300)).astype(np.float32)
    generated = np.concatenate([copies, fresh])
    found = memorization(generated, reference)
    distances, _ = NearestNeighbors(n_neighbors=1, metric="manhattan").fit(reference).kneighbors(generated)
    expected = (distances[:, 0] / generated.shape[1] < MEMORIZATION_THRESHOLD).mean()
    assert found["rate"] == expected == 3 / 12
    assert found["near_duplicates"] == 3
    assert np.isclose(found["nearest_distance_median"], np.median(distances[:, 0] / generated.shape[1]), atol=1e-6)
    assert "l1-thumb64" in found["variant"]


def test_report_counts_empty_masks_sizes_classes_and_copies(tmp_path):
    train = write_pairset(tmp_path / "train", [make_pair(f"t{i}", size=32, seed=i) for i in range(4)], CLASSES, {})
    copy = train.pair("t2")
    empty = Pair("empty", make_pair("x", size=32, seed=9).image, np.zeros((32, 32), np.uint8))
    two = make_pair("two", size=32, seed=11, class_id=2)
    two.mask[20:22, 20:25] = 1
    big = make_pair("big", size=48, seed=12)
    generated = write_pairset(
        tmp_path / "gen", [Pair("copy", copy.image, copy.mask), empty, two, big], CLASSES, {}
    )
    report = sanity_report(generated, train)
    assert report["pairs"] == 4
    assert (report["empty_masks"], report["empty_mask_ids"]) == (1, ["empty"])
    assert (report["size_mismatches"], report["size_mismatch_ids"]) == (1, ["big"])
    assert report["sizes"] == {"32x32": 3, "48x48": 1}
    assert report["class_histogram"] == {
        "scratch": {"pairs": 3, "pixels": 24 + 10 + 24},
        "hole": {"pairs": 1, "pixels": 24},
    }
    assert report["memorization"]["near_duplicates"] == 1
    assert report["memorization"]["rate"] == 0.25


def test_thumbnail_is_a_64px_rgb_vector_in_unit_range():
    vector = thumbnail(np.full((100, 80, 3), 255, np.uint8))
    assert vector.shape == (64 * 64 * 3,) and vector.dtype == np.float32 and vector.max() == 1.0


def _slow_kinds(masks: list[np.ndarray], share: float) -> dict:
    """Pixel by pixel: how many masks mark nothing, everything, or more than ``share`` of the picture."""
    counts = {"empty": 0, "whole": 0, "large": 0}
    for mask in masks:
        marked = sum(1 for row in mask.tolist() for value in row if value != 0)
        total = len(mask) * len(mask[0])
        if marked == 0:
            counts["empty"] += 1
        elif marked == total:
            counts["whole"] += 1
        elif marked / total > share:
            counts["large"] += 1
    return counts


def test_degenerate_masks_match_a_pixel_by_pixel_count(tmp_path):
    rng = np.random.default_rng(3)
    masks = [np.zeros((24, 24), np.uint8), np.full((24, 24), 2, np.uint8), np.full((24, 24), 1, np.uint8)]
    masks[2][0, 0] = 0  # all but one pixel: large, not whole
    half = np.zeros((24, 24), np.uint8)
    half[:12] = 1  # exactly half: not over the share
    masks.append(half)
    masks += [((rng.random((24, 24)) < rng.uniform(0.05, 0.95)) * rng.integers(1, 3)).astype(np.uint8) for _ in range(16)]
    pairs = [Pair(f"g{i}", make_pair("x", size=24, seed=i).image, m) for i, m in enumerate(masks)]
    generated = write_pairset(tmp_path / "gen", pairs, CLASSES, {})
    train = write_pairset(tmp_path / "train", [make_pair("t", size=24)], CLASSES, {})
    expected = _slow_kinds(masks, MASK_SHARE)
    assert expected["empty"] == expected["whole"] == 1 and expected["large"] >= 2
    found = degenerate_masks(generated)
    assert found == {"pairs": len(masks), **expected, "share": MASK_SHARE}
    assert degenerate_masks(generated, share=0.2) == {"pairs": len(masks), **_slow_kinds(masks, 0.2), "share": 0.2}
    report = sanity_report(generated, train)
    assert report["degenerate_masks"] == found
    assert report["degenerate_mask_ids"]["empty"] == ["g0"] and report["degenerate_mask_ids"]["whole"] == ["g1"]
    assert "g3" not in report["degenerate_mask_ids"]["large"] and "g2" in report["degenerate_mask_ids"]["large"]
    assert report["train_mask_share_max"] == 24 / (24 * 24)
