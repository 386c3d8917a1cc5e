"""Does a generated mask mark what its image shows? The score of mask alignment.

The segmenter that alignment needs is trained by ``bench.alignment``; this module only scores labels.
Defect contrast, which needs no segmenter, is generators/contrast.py.

*Alignment* (no published harness reports it): a segmenter trained on the split's real training pairs
predicts every generated image; the IoU between its prediction and the generated mask, accumulated over
the set, per defect class and for defect vs background (``IoU_defect``). A generator that draws the mask
in one place and the defect in another scores near zero; one whose defects look like the real ones and
sit under their masks scores near what the same segmenter reaches on real held-out pairs (the
``reference`` block, when given). The score inherits the segmenter's errors: a defect the segmenter
cannot find reads as misaligned, so compare a set with the reference, never with 1.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from bench.metrics.segmentation import binary_confusion, confusion_matrix, per_class_iou

IGNORE_INDEX = 255
LOW_IOU = 0.1  # a pair whose own IoU is below this is listed as misaligned
LISTED = 10  # ids named per finding
ALIGNMENT_VARIANT = ("segmenter trained on the split's real training pairs (no checkpoint selection) predicts each image; "
                     "IoU of prediction vs the pair's mask, pixels accumulated over the set; IoU_defect merges all defect classes")


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
