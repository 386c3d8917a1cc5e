"""Does a generated mask mark what its image shows? Mask alignment and defect contrast of a pair set.

*Alignment* (no published harness reports it): a segmenter trained on the split's real training pairs
predicts every generated image; the IoU between its prediction and the generated mask, accumulated over
the set, per defect class and for defect vs background (``IoU_defect``). A generator that draws the mask
in one place and the defect in another scores near zero; one whose defects look like the real ones and
sit under their masks scores near what the same segmenter reaches on real held-out pairs (the
``reference`` block, when given). The score inherits the segmenter's errors: a defect the segmenter
cannot find reads as misaligned, so compare a set with the reference, never with 1.

*Contrast* needs no training: per pair, how far the defect region stands out from a ring of
surrounding pixels (those within ``ring_width`` = max(3, side / 32) px of it, other defects and ignored
pixels excluded): the largest over R, G, B of |mean(region) - mean(ring)| / pooled standard deviation
(floored at one grey level), the median over the set's pairs, overall and per class. A mask on plain surface scores near 0;
defects that differ from their surroundings in texture only (same mean colour) also read low.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Mapping

import cv2
import numpy as np

from bench.core.errors import BenchError
from bench.core.pairset import Pair, PairSet, write_pairset
from bench.metrics.segmentation import binary_confusion, confusion_matrix, per_class_iou
from segmenters.schedules import Schedule

IGNORE_INDEX = 255
LOW_IOU = 0.1  # a pair whose own IoU is below this is listed as misaligned
LISTED = 10  # ids named per finding
ALIGNMENT_VARIANT = ("segmenter trained on the split's real training pairs (no checkpoint selection) predicts each image; "
                     "IoU of prediction vs the pair's mask, pixels accumulated over the set; IoU_defect merges all defect classes")
CONTRAST_VARIANT = ("max over RGB of |mean(defect) - mean(ring)| / pooled std (floor 1 grey level); ring = pixels within "
                    "max(3, min(H, W) // 32) px (Euclidean) of the region, other defect and ignored pixels excluded; median over pairs")


# --- contrast --------------------------------------------------------------------------------------
def ring_width(shape: tuple[int, ...]) -> int:
    return max(3, min(shape[:2]) // 32)


def region_contrast(image: np.ndarray, region: np.ndarray, excluded: np.ndarray) -> float | None:
    """Standardised mean difference of ``region`` against the ring around it; None when either is empty."""
    rows, cols = np.nonzero(region)
    if not rows.size:
        return None
    width = ring_width(region.shape)
    box = (slice(max(rows.min() - width, 0), rows.max() + width + 1), slice(max(cols.min() - width, 0), cols.max() + width + 1))
    disk = (np.hypot(*np.mgrid[-width : width + 1, -width : width + 1]) <= width).astype(np.uint8)
    ring = cv2.dilate(region[box].astype(np.uint8), disk).astype(bool) & ~excluded[box]  # within ``width`` px of the region
    if not ring.any():
        return None
    inside, around = image[region].astype(np.float64), image[box][ring].astype(np.float64)
    pooled = np.sqrt((inside.var(0) + around.var(0)) / 2)
    return float((np.abs(inside.mean(0) - around.mean(0)) / np.maximum(pooled, 1.0)).max())


def pair_contrast(image: np.ndarray, mask: np.ndarray) -> dict[int | str, float | None]:
    """Contrast of all defect pixels together (``"all"``) and of each defect class present."""
    defect = (mask > 0) & (mask != IGNORE_INDEX)
    excluded = defect | (mask == IGNORE_INDEX)
    out: dict[int | str, float | None] = {"all": region_contrast(image, defect, excluded)}
    for k in np.unique(mask[defect]).tolist():
        out[int(k)] = region_contrast(image, mask == k, excluded)
    return out


def summarize_contrast(per_pair: Iterable[Mapping], classes: Mapping[int, str]) -> dict:
    """Median (and mean) over pairs, overall and per defect class; None where no pair has the region."""
    per_pair = list(per_pair)

    def stats(key):
        values = [c[key] for c in per_pair if c.get(key) is not None]
        return {"median": float(np.median(values)) if values else None,
                "mean": float(np.mean(values)) if values else None, "pairs": len(values)}

    return {**stats("all"), "per_class": {name: stats(k) for k, name in sorted(classes.items()) if k != 0},
            "variant": CONTRAST_VARIANT}


def set_contrast(pairs: PairSet) -> dict:
    return summarize_contrast((pair_contrast(p.image, p.mask) for p in pairs), pairs.classes)


# --- alignment -------------------------------------------------------------------------------------
def alignment_scores(masks: np.ndarray, predicted: np.ndarray, classes: Mapping[int, str], ids: tuple[str, ...] = ()) -> dict:
    """IoU of predicted labels vs the set's masks: accumulated per class and merged (defect vs background),
    plus the pairs whose own merged IoU is below ``LOW_IOU``."""
    num_classes = max(classes) + 1
    cm = np.zeros((num_classes, num_classes), np.int64)
    low = []
    for i, (mask, labels) in enumerate(zip(masks, predicted)):
        pair_cm = confusion_matrix(mask, labels, num_classes, IGNORE_INDEX)
        cm += pair_cm
        pair_iou = per_class_iou(binary_confusion(pair_cm))[1]
        if pair_iou < LOW_IOU:  # NaN (no defect in mask nor prediction) is not listed
            low.append(ids[i] if ids else str(i))
    iou = per_class_iou(cm)
    defect_iou = iou[1:][~np.isnan(iou[1:])]
    merged = per_class_iou(binary_confusion(cm))[1]
    return {
        "IoU_defect": None if np.isnan(merged) else float(merged),
        "mIoU_defect": float(defect_iou.mean()) if defect_iou.size else None,
        "per_class": {name: None if np.isnan(iou[k]) else float(iou[k]) for k, name in sorted(classes.items()) if k != 0},
        "pairs": len(masks),
        "low_iou_pairs": len(low),
        "low_iou_ids": low[:LISTED],
        "low_iou_threshold": LOW_IOU,
    }


@dataclass(frozen=True)
class AlignmentSetup:
    """The segmenter that measures alignment and how it trains (all of it goes into the record)."""

    segmenter: str
    schedule: Schedule
    seed: int = 0
    device: str = "cpu"
    pretrained: bool = False

    def check(self) -> None:
        """Unknown segmenter or missing weight file: one error before any training."""
        from segmenters import SEGMENTERS
        from segmenters.train import pretrained_path

        spec = SEGMENTERS.get(self.segmenter)
        if self.pretrained and spec.pretrained is not None:
            pretrained_path(spec)

    def to_dict(self) -> dict:
        return {"segmenter": self.segmenter, "schedule": asdict(self.schedule), "seed": self.seed,
                "device": self.device, "pretrained": self.pretrained}


def predict_sets(setup: AlignmentSetup, train: PairSet, targets: Mapping[str, PairSet], progress: bool = False) -> dict[str, np.ndarray]:
    """Predicted labels (N x H x W) for every target set from one training of the setup's segmenter on ``train``.

    The one place this module meets the segmenters: the targets go to ``train_and_evaluate`` as one
    temporary test set, so a single training serves them all.
    """
    import torch

    from segmenters import SEGMENTERS
    from segmenters.train import train_and_evaluate

    if not len(train):
        raise BenchError("no real training pairs to train the alignment segmenter on", "check the split")
    size = train.image(train.ids[0]).shape[:2]

    def renamed():
        for name, pairs in targets.items():
            for pair in pairs:
                if pair.image.shape[:2] != size:
                    raise BenchError(f"pair '{pair.id}' of the {name} set is {pair.image.shape[1]}x{pair.image.shape[0]}, "
                                     f"the training pairs are {size[1]}x{size[0]}", "alignment needs images of the training size")
                yield Pair(f"{name}-{pair.id}", pair.image, pair.mask)

    with tempfile.TemporaryDirectory(prefix="bench-alignment-") as tmp:
        combined = write_pairset(Path(tmp) / "targets", renamed(), train.classes, {"alignment": list(targets)})
        result = train_and_evaluate(SEGMENTERS.get(setup.segmenter), [train], combined, train.num_classes, setup.schedule,
                                    setup.seed, torch.device(setup.device), setup.pretrained, progress)
    by_id = dict(zip(result.predictions.ids, result.predictions.labels))
    return {name: np.stack([by_id[f"{name}-{i}"] for i in pairs.ids]) for name, pairs in targets.items()}


def alignment_of_sets(setup: AlignmentSetup, train: PairSet, targets: Mapping[str, PairSet], progress: bool = False) -> dict:
    """``alignment_scores`` of each target set, all measured by one segmenter trained on ``train``."""
    for name, pairs in targets.items():
        if pairs.classes != train.classes:
            raise BenchError(f"the {name} set has classes {pairs.classes}, the training pairs {train.classes}",
                             "generate from the same task's training pairs")
        if not len(pairs):
            raise BenchError(f"the {name} set has no pairs to align")
    predicted = predict_sets(setup, train, targets, progress)
    return {name: alignment_scores(np.stack([pairs.mask(i) for i in pairs.ids]), predicted[name], train.classes, pairs.ids)
            for name, pairs in targets.items()}


def mask_alignment(generated: PairSet, train: PairSet, setup: AlignmentSetup, reference: PairSet | None = None,
                   progress: bool = False) -> dict:
    """The alignment block of a generated set, with the same segmenter's score on real held-out pairs
    (``reference``) beside it when given."""
    targets = {"generated": generated, **({"reference": reference} if reference is not None else {})}
    return {**alignment_of_sets(setup, train, targets, progress), "setup": setup.to_dict(), "variant": ALIGNMENT_VARIANT}
