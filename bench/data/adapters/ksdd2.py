"""``ksdd2``: KolektorSDD2, one category ``ksdd2`` with a single defect class.

Layout (``--data-root`` = the extracted release)::

    train/<id>.png      images, origin train
    train/<id>_GT.png   0/255 masks (all zero for defect-free images)
    test/<id>.png, test/<id>_GT.png

Every image has a mask; a pair is a normal (group ``good``) when its mask is empty, else in group
``defect``. Pair ids are ``<origin>_<id>``.
"""

from __future__ import annotations

from pathlib import Path

from bench.data.base import DATASETS
from bench.data.classmaps import class_map
from bench.data.layout import FileLayoutAdapter, Source, image_files, masks_by_stem, match_masks

CATEGORY = "ksdd2"
MASK_SUFFIX = "_GT.png"


class KolektorSDD2(FileLayoutAdapter):
    name = "ksdd2"
    aliases = ("kolektorsdd2",)

    def categories(self, root: Path | None) -> list[str]:
        return [CATEGORY] if (root / "train").is_dir() or (root / "test").is_dir() else []

    def classes(self, root: Path | None, category: str) -> dict[int, str]:
        return class_map(("defect",))

    def sources(self, root: Path, category: str) -> list[Source]:
        sources: list[Source] = []
        for origin in ("train", "test"):
            folder = root / origin
            masks = masks_by_stem(folder, MASK_SUFFIX)
            images = {stem: p for stem, p in image_files(folder).items() if not stem.endswith("_GT")}
            matched = match_masks(images, masks, folder, MASK_SUFFIX)
            sources += [Source(f"{origin}_{stem}", images[stem], mask, None, origin, binary_class=1) for stem, mask in matched.items()]
        return sources


DATASETS.register(KolektorSDD2())
