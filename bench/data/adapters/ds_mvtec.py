"""``ds-mvtec``: Defect Spectrum's re-annotated MVTec AD with multi-class index masks.

Layout (``--data-root`` = the ``DS-MVTec`` folder)::

    <product>/image/<defect>/NNN.png          defect images, ``good`` for normals
    <product>/mask/<defect>/NNN_mask.png      class-index masks (ids from the DS-MVTec class list)
    <product>/rbg_mask/...  or  rgb_mask/...  colour renderings, ignored

Pair ids are ``<defect>_<NNN>``; the group is the defect folder (``combined`` folders stay their own
group, with several classes in one mask). ``good`` images need no mask.
"""

from __future__ import annotations

from pathlib import Path

from bench.core.pairset import NORMAL_GROUP
from bench.data.base import DATASETS
from bench.data.classmaps import DS_MVTEC, product_classes
from bench.data.layout import (
    FileLayoutAdapter,
    Source,
    image_files,
    masks_by_stem,
    match_masks,
    subdirs,
)


class DefectSpectrumMVTec(FileLayoutAdapter):
    name = "ds-mvtec"

    def categories(self, root: Path | None) -> list[str]:
        return [p.name for p in subdirs(root) if (p / "image").is_dir()]

    def classes(self, root: Path | None, category: str) -> dict[int, str]:
        return product_classes(DS_MVTEC, "DS-MVTec", category)

    def sources(self, root: Path, category: str) -> list[Source]:
        base = root / category
        sources: list[Source] = []
        for defect_dir in subdirs(base / "image"):
            defect = defect_dir.name
            mask_dir = base / "mask" / defect
            images = image_files(defect_dir)
            masks = masks_by_stem(mask_dir, "_mask.png")
            matched = match_masks(images, masks, mask_dir, "_mask.png", masks_required=defect != NORMAL_GROUP)
            sources += [Source(f"{defect}_{stem}", images[stem], mask, defect) for stem, mask in matched.items()]
        return sources


DATASETS.register(DefectSpectrumMVTec())
