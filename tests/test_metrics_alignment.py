"""Mask alignment and defect contrast: the scores against scikit-learn and a direct computation, and the
ordering they must give on toy data (real pairs high, masks shifted by half an image near zero, copy-paste
in between or near the real pairs)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from sklearn.metrics import jaccard_score

from bench.alignment import AlignmentSetup, alignment_of_sets, mask_alignment
from bench.core.errors import BenchError
from bench.core.pairset import Pair, write_pairset
from bench.metrics.alignment import alignment_scores
from generators.contrast import pair_contrast, region_contrast, ring_width, set_contrast
from segmenters.schedules import Schedule
from tests.helpers.pairs import make_pair
from tests.helpers.toy_task import copy_paste_pairs, toy_task

CLASSES = {0: "background", 1: "scratch", 2: "hole", 3: "stain"}
# Tiny and fast: BiSeNetV2 at 64 px finds the toy wood stains and holes after 60 steps from scratch.
ALIGN_SCHEDULE = Schedule("alignment-test", iters=60, batch_size=4, crop_size=None)


def test_alignment_scores_match_scikit_learn():
    rng = np.random.default_rng(0)
    masks = np.zeros((5, 16, 16), np.uint8)
    for i in range(5):
        masks[i, 3 + i : 8 + i, 2:9] = 1 + i % 3
    predicted = np.where(rng.random(masks.shape) < 0.8, masks, rng.integers(0, 4, masks.shape)).astype(np.uint8)
    predicted[4] = 0  # this pair's defect is missed entirely
    masks[0, 0, :4] = 255  # ignored
    ids = tuple(f"p{i}" for i in range(5))
    scores = alignment_scores(masks, predicted, CLASSES, ids)
    keep = masks != 255
    per_class = jaccard_score(masks[keep], predicted[keep], labels=[1, 2, 3], average=None)
    assert [scores["per_class"][n] for n in ("scratch", "hole", "stain")] == pytest.approx(per_class, abs=1e-12)
    assert scores["mIoU_defect"] == pytest.approx(per_class.mean(), abs=1e-12)
    assert scores["IoU_defect"] == pytest.approx(jaccard_score(masks[keep] > 0, predicted[keep] > 0), abs=1e-12)
    own = [jaccard_score(m[m != 255] > 0, p[m != 255] > 0) for m, p in zip(masks, predicted)]
    assert scores["low_iou_ids"] == [i for i, v in zip(ids, own) if v < 0.1] == ["p4"]


def _reference_contrast(image, mask, k):
    region = mask == k
    ring = (ndimage.distance_transform_edt(~region) <= ring_width(mask.shape)) & (mask == 0)  # other defects left out
    inside, around = image[region].astype(float), image[ring].astype(float)
    return max(abs(inside[:, c].mean() - around[:, c].mean()) / np.sqrt((inside[:, c].var() + around[:, c].var()) / 2)
               for c in range(3))


def test_contrast_matches_a_direct_computation():
    rng = np.random.default_rng(1)
    image = rng.normal(100, 6, (40, 40, 3))
    mask = np.zeros((40, 40), np.uint8)
    mask[15:22, 12:20] = 1
    image[mask == 1, 1] += 30  # green defect
    mask[2:4, 30:34] = 2  # plain surface under a second mask
    mask[35:, :3] = 3  # in a corner: its ring is cut by the image border
    image[mask == 3] -= 20
    image = np.clip(image, 0, 255).astype(np.uint8)
    got = pair_contrast(image, mask)
    assert set(got) == {"all", 1, 2, 3}
    for k in (1, 2, 3):
        assert got[k] == pytest.approx(_reference_contrast(image, mask, k), rel=1e-9)
    assert 3 < got[1] < 9 and got[2] < 1.5 and got[3] > 2  # about 30 / 6 and 20 / 6 grey levels; the plain one near 0
    assert region_contrast(image, np.zeros((40, 40), bool), mask > 0) is None


def _shifted(pairs, root):
    """The same images with every mask moved by half the image in both directions."""
    return write_pairset(root, (Pair(p.id, p.image, np.roll(p.mask, (p.mask.shape[0] // 2, p.mask.shape[1] // 2), (0, 1)))
                                for p in pairs), pairs.classes, {})


def test_real_pairs_align_shifted_masks_do_not_and_copy_paste_sits_between(tmp_path):
    pool, split = toy_task()
    train, real = pool.subset(split.train), pool.subset(split.test)
    shifted = _shifted(real, tmp_path / "shifted")
    copy_paste = copy_paste_pairs(pool, split, 16)
    setup = AlignmentSetup("bisenetv2", ALIGN_SCHEDULE, seed=0)
    scores = alignment_of_sets(setup, train, {"real": real, "shifted": shifted, "copy-paste": copy_paste})
    iou = {name: block["IoU_defect"] for name, block in scores.items()}
    assert iou["real"] > 0.25, iou
    assert iou["shifted"] < 0.05, iou
    # copy-paste reuses the training defects themselves, which the segmenter has seen: near the real pairs,
    # at times above them
    assert iou["shifted"] < iou["copy-paste"] and 0.5 * iou["real"] < iou["copy-paste"] < 1.5 * iou["real"], iou
    assert scores["shifted"]["low_iou_pairs"] == len(shifted)
    contrast = {name: set_contrast(s)["median"] for name, s in (("real", real), ("shifted", shifted), ("copy-paste", copy_paste))}
    assert contrast["shifted"] < 0.5 < 2 < contrast["real"] and contrast["copy-paste"] > 2, contrast


def test_sanity_report_has_contrast_always_and_alignment_is_added_when_asked(tmp_path):
    from generators.sanity import sanity_report

    classes = {0: "background", 1: "scratch"}
    train = write_pairset(tmp_path / "train", [make_pair(f"t{i}", size=32, seed=i) for i in range(4)], classes, {})
    generated = write_pairset(tmp_path / "gen", [make_pair(f"g{i}", size=32, seed=10 + i) for i in range(3)], classes, {})
    plain = sanity_report(generated, train)
    assert "alignment" not in plain
    assert plain["contrast"]["generated"]["pairs"] == 3 and plain["contrast"]["train"]["pairs"] == 4
    setup = AlignmentSetup("segformer", Schedule("two-steps", iters=2, batch_size=2, crop_size=None))
    block = mask_alignment(generated, train, setup, reference=train.subset(["t0", "t1"]))
    assert block["generated"]["pairs"] == 3 and block["reference"]["pairs"] == 2
    assert block["setup"]["segmenter"] == "segformer" and block["setup"]["schedule"]["iters"] == 2


def test_alignment_refuses_other_classes_and_sizes_before_training(tmp_path):
    train = write_pairset(tmp_path / "train", [make_pair("t", size=32)], {0: "background", 1: "scratch"}, {})
    setup = AlignmentSetup("segformer", Schedule("none", iters=1, batch_size=1, crop_size=None))
    other = write_pairset(tmp_path / "other", [make_pair("o", size=32)], {0: "background", 1: "hole"}, {})
    with pytest.raises(BenchError, match="classes"):
        alignment_of_sets(setup, train, {"generated": other})
    bigger = write_pairset(tmp_path / "big", [make_pair("b", size=48)], train.classes, {})
    with pytest.raises(BenchError, match="is 48x48, the training pairs are 32x32"):
        alignment_of_sets(setup, train, {"generated": bigger})
