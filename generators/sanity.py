"""Sanity report of a generated pair set: empty masks, sizes, classes, and how much it memorized.

Memorization (the failure the Defect Spectrum paper shows for a plain DDPM on few-shot data) is
measured as the fraction of generated images that are near-duplicates of a training image. Variant
``l1-thumb64``: every image is area-resized to 64 x 64 RGB with values in [0, 1]; the distance of a
generated image to the training set is the mean absolute difference to its nearest training image;
it is a near-duplicate when that distance is below the threshold (default 0.02, about 5 grey levels on
average). Compositing baselines that paste onto the *normals* are not near-duplicates of the training
*defect* images unless they copy one wholesale; the report compares against what it is given.

Degenerate masks: a generated mask that marks nothing (empty), every pixel (whole picture), or more than
``MASK_SHARE`` of the picture (large) teaches a segmenter nothing about where defects are; the three are
counted apart (a mask falls in one), with the largest share a training mask covers beside them. The run
record carries the counts and the report flags the settings whose sets have any.

Whether the masks mark visible defects: the defect contrast (generators/contrast.py) of the
generated pairs beside that of the training pairs, always; the mask alignment measured by a segmenter
trained on the training pairs is added by bench.alignment only when asked (it costs a training).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from bench.core.jsonfile import write_json_atomic
from bench.core.pairset import PairSet
from bench.core.progress import progress as progress_bar
from generators.contrast import pair_contrast, summarize_contrast

THUMB = 64
MEMORIZATION_THRESHOLD = 0.02
MEMORIZATION_VARIANT = "l1-thumb64: mean |RGB difference| in [0, 1] to the nearest training image, both area-resized to 64x64"
LISTED = 10  # ids named per finding; counts cover the rest
MASK_SHARE = 0.5  # a generated mask covering more of the picture than this (but not all of it) counts as large


def thumbnail(image: np.ndarray) -> np.ndarray:
    """The image as a flat float32 vector of a 64 x 64 RGB thumbnail in [0, 1]."""
    small = cv2.resize(image, (THUMB, THUMB), interpolation=cv2.INTER_AREA)
    return (small.astype(np.float32) / 255.0).ravel()


def nearest_distances(generated: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Mean absolute difference of each generated vector (rows) to its nearest reference vector."""
    out = np.empty(len(generated), np.float64)
    for i, vector in enumerate(generated):
        out[i] = np.abs(reference - vector).mean(axis=1).min()
    return out


def memorization(generated: np.ndarray, reference: np.ndarray, threshold: float = MEMORIZATION_THRESHOLD) -> dict:
    if not len(reference):
        return {"rate": None, "near_duplicates": None, "threshold": threshold, "nearest_distance_median": None,
                "variant": MEMORIZATION_VARIANT}
    distances = nearest_distances(generated, reference)
    return {
        "rate": float((distances < threshold).mean()) if len(distances) else 0.0,
        "near_duplicates": int((distances < threshold).sum()),
        "threshold": threshold,
        "nearest_distance_median": float(np.median(distances)) if len(distances) else None,
        "variant": MEMORIZATION_VARIANT,
    }


def mask_kind(mask: np.ndarray, share: float = MASK_SHARE) -> str:
    """``empty``, ``whole`` (every pixel a defect), ``large`` (more than ``share`` of the picture) or ``ok``."""
    covered = np.count_nonzero(mask)
    if covered == 0:
        return "empty"
    if covered == mask.size:
        return "whole"
    return "large" if covered > share * mask.size else "ok"


def mask_counts(kinds: list[str], share: float = MASK_SHARE) -> dict:
    """The degenerate-mask finding from each pair's ``mask_kind``: counts per kind and the share they used."""
    found = Counter(kinds)
    return {"pairs": len(kinds), "empty": found["empty"], "whole": found["whole"], "large": found["large"], "share": share}


def degenerate_masks(generated: PairSet, share: float = MASK_SHARE) -> dict:
    """Empty, whole-picture and large (over ``share`` of the picture) masks of a generated set, counted."""
    return mask_counts([mask_kind(generated.mask(i), share) for i in generated.ids], share)


def sanity_report(
    generated: PairSet,
    train: PairSet,
    threshold: float = MEMORIZATION_THRESHOLD,
    progress: bool = False,
) -> dict:
    """Findings on ``generated`` against the ``train`` pairs it was made from (JSON-ready). The mask
    alignment, which trains a segmenter, is added by ``bench.alignment`` where it is asked for."""
    train_thumbs, train_sizes, train_contrast, train_share = [], Counter(), [], 0.0
    for pair in train:
        train_thumbs.append(thumbnail(pair.image))
        train_sizes[_size(pair.image)] += 1
        train_contrast.append(pair_contrast(pair.image, pair.mask))
        train_share = max(train_share, np.count_nonzero(pair.mask) / pair.mask.size)
    ids = generated.ids
    if progress:
        ids = progress_bar(ids, desc="sanity check", unit="pair", leave=False)
    thumbs, empty, off_size, sizes, contrast, kinds = [], [], [], Counter(), [], []
    pairs_with, pixels = Counter(), Counter()
    for pair_id in ids:
        image, mask = generated.image(pair_id), generated.mask(pair_id)
        kinds.append(mask_kind(mask))
        thumbs.append(thumbnail(image))
        contrast.append(pair_contrast(image, mask))
        size = _size(image)
        sizes[size] += 1
        if mask.shape != image.shape[:2] or size not in train_sizes:
            off_size.append(pair_id)
        values, counts = np.unique(mask, return_counts=True)
        if not (values > 0).any():
            empty.append(pair_id)
        for value, count in zip(values.tolist(), counts.tolist()):
            if value:
                pairs_with[value] += 1
                pixels[value] += count
    report = {
        "pairs": len(generated),
        "empty_masks": len(empty),
        "empty_mask_ids": empty[:LISTED],
        "degenerate_masks": mask_counts(kinds),
        "degenerate_mask_ids": {kind: [i for i, k in zip(generated.ids, kinds) if k == kind][:LISTED]
                                for kind in ("empty", "whole", "large")},
        "train_mask_share_max": train_share,
        "size_mismatches": len(off_size),
        "size_mismatch_ids": off_size[:LISTED],
        "sizes": dict(sorted(sizes.items())),
        "train_sizes": dict(sorted(train_sizes.items())),
        "class_histogram": {
            name: {"pairs": pairs_with[k], "pixels": pixels[k]} for k, name in sorted(generated.defect_classes.items())
        },
        "memorization": memorization(np.array(thumbs).reshape(len(thumbs), -1), np.array(train_thumbs), threshold),
        "contrast": {"generated": summarize_contrast(contrast, generated.classes), "train": summarize_contrast(train_contrast, train.classes)},
    }
    return report


def _size(image: np.ndarray) -> str:
    return f"{image.shape[1]}x{image.shape[0]}"


def write_report(report: dict, path: Path) -> None:
    write_json_atomic(path, report, indent=1)
