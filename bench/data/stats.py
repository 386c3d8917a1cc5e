"""What `bench data check` reports about one category pool: images per split part, classes with pixel
and instance counts, normals. Pure functions of the pool and its split."""

from __future__ import annotations

import cv2
import numpy as np

from bench.core.pairset import NORMAL_GROUP, PairSet
from bench.data.splits import Split


def class_counts(masks, classes: dict[int, str]) -> dict[str, dict[str, int]]:
    """Per defect class: pixels, instances (8-connected regions) and images it appears in."""
    counts = {name: {"pixels": 0, "instances": 0, "images": 0} for i, name in sorted(classes.items()) if i}
    for mask in masks:
        for class_id in np.unique(mask):
            if class_id == 0:
                continue
            region = (mask == class_id).astype(np.uint8)
            n_labels, _ = cv2.connectedComponents(region, connectivity=8)
            entry = counts[classes[int(class_id)]]
            entry["pixels"] += int(region.sum())
            entry["instances"] += n_labels - 1
            entry["images"] += 1
    return counts


def category_report(pool: PairSet, split: Split, category: str) -> dict:
    masks = (pool.mask(i) for i in pool.ids)
    groups: dict[str, int] = {}
    for pair_id in pool.ids:
        groups[pool.group(pair_id)] = groups.get(pool.group(pair_id), 0) + 1
    return {
        "category": category,
        "images": len(pool),
        "normals": groups.get(NORMAL_GROUP, 0),
        "split": split.preset,
        "parts": {name: len(ids) for name, ids in split.parts().items()},
        "groups": dict(sorted(groups.items())),
        "classes": class_counts(masks, pool.classes),
        "pool": str(pool.root),
        "manifest_hash": split.manifest_hash(pool),
    }
