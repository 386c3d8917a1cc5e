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


def category_report(pool: PairSet, split: Split, category: str, imported: dict | None = None) -> dict:
    """``imported``: the meta of the pool as imported (it differs from ``pool``'s for a crop view)."""
    imported = imported if imported is not None else pool.meta
    masks = (pool.mask(i) for i in pool.ids)
    groups: dict[str, int] = {}
    for pair_id in pool.ids:
        groups[pool.group(pair_id)] = groups.get(pool.group(pair_id), 0) + 1
    source = imported.get("source", {})
    return {
        "image_size": source.get("image_size") or None,
        "picture_sizes": imported.get("picture_sizes", {}),
        "picture_modes": imported.get("picture_modes", {}),
        "conversion": source.get("conversion"),
        "emptied_by_resize": imported.get("emptied_by_resize", []),
        **({"layout": layout_report(imported)} if source.get("layout") else {}),
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


def layout_report(meta: dict) -> dict:
    """A layout file's matches (its summary in the pool's meta) and the defect pictures whose mask came out empty
    after thresholding or rasterising (now normals), which only the imported pool can tell."""
    layout = meta["source"]["layout"]
    summary = {k: v for k, v in layout["matched"].items() if k != "defect_ids"}
    groups, emptied = meta.get("groups", {}), set(meta.get("emptied_by_resize", []))
    empty = [i for i in layout["matched"]["defect_ids"] if groups.get(i, NORMAL_GROUP) == NORMAL_GROUP and i not in emptied]
    return {"file": layout["file"], "name": layout["name"], "hash": layout["hash"], **summary, "empty_masks": len(empty),
            "empty_mask_examples": empty[:3]}
