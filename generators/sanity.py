"""Sanity report of a generated pair set: empty masks, sizes, classes, and how much it memorized.

Memorization (the failure the Defect Spectrum paper shows for a plain DDPM on few-shot data) is
measured as the fraction of generated images that are near-duplicates of a training image. Variant
``l1-thumb64``: every image is area-resized to 64 x 64 RGB with values in [0, 1]; the distance of a
generated image to the training set is the mean absolute difference to its nearest training image;
it is a near-duplicate when that distance is below the threshold (default 0.02, about 5 grey levels on
average). Compositing baselines that paste onto the *normals* are not near-duplicates of the training
*defect* images unless they copy one wholesale; the report compares against what it is given.

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


def sanity_report(
    generated: PairSet,
    train: PairSet,
    threshold: float = MEMORIZATION_THRESHOLD,
    progress: bool = False,
) -> dict:
    """Findings on ``generated`` against the ``train`` pairs it was made from (JSON-ready). The mask
    alignment, which trains a segmenter, is added by ``bench.alignment`` where it is asked for."""
    train_thumbs, train_sizes, train_contrast = [], Counter(), []
    for pair in train:
        train_thumbs.append(thumbnail(pair.image))
        train_sizes[_size(pair.image)] += 1
        train_contrast.append(pair_contrast(pair.image, pair.mask))
    ids = generated.ids
    if progress:
        ids = progress_bar(ids, desc="sanity check", unit="pair", leave=False)
    thumbs, empty, off_size, sizes, contrast = [], [], [], Counter(), []
    pairs_with, pixels = Counter(), Counter()
    for pair_id in ids:
        image, mask = generated.image(pair_id), generated.mask(pair_id)
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
