"""``ds-synthetic``: the synthetic pairs Defect-Gen released with Defect Spectrum.

Layout (``--data-root`` = a ``synthetic_MVTec``, ``synthetic_VISION`` or ``synthetic_Cotton_Fabric`` folder)::

    <product>/images/samples_image_<k>.png                            generated images
    <product>/masks_converted_dir/samples_converted_mask_<k>.png      class-index masks (used)
    <product>/masks/samples_mask_<k>.png                              random-colour renderings (never used)

The colours of ``masks/`` are random per sample (Defect_Spectrum issue #13), so only the converted
index masks carry labels. The class list is the product's in the matching real release, chosen by the
folder name; pair ids are ``<k>`` and the group is the class covering most of the mask.
"""

from __future__ import annotations

from pathlib import Path

from bench.core.errors import BenchError
from bench.data.base import DATASETS
from bench.data.classmaps import (
    DS_COTTON,
    DS_MVTEC,
    DS_VISION,
    class_map,
    product_classes,
)
from bench.data.layout import (
    FileLayoutAdapter,
    Source,
    image_files,
    masks_by_stem,
    match_masks,
    subdirs,
)

IMAGE_PREFIX = "samples_image_"
MASK_PREFIX = "samples_converted_mask_"
MASK_DIR = "masks_converted_dir"


class DefectGenSamples(FileLayoutAdapter):
    name = "ds-synthetic"

    def categories(self, root: Path | None) -> list[str]:
        return [p.name for p in subdirs(root) if (p / "images").is_dir()]

    def classes(self, root: Path | None, category: str) -> dict[int, str]:
        release = root.name.lower()
        if "cotton" in release:
            return class_map(DS_COTTON)
        if "vision" in release:
            return product_classes(DS_VISION, "DS-VISION", category)
        if "mvtec" in release:
            return product_classes(DS_MVTEC, "DS-MVTec", category)
        for table, name in ((DS_MVTEC, "DS-MVTec"), (DS_VISION, "DS-VISION")):
            if category in table:
                return product_classes(table, name, category)
        raise BenchError(
            f"cannot tell which Defect Spectrum release {root} was sampled from",
            "keep the release folder name (synthetic_MVTec, synthetic_VISION or synthetic_Cotton_Fabric)",
        )

    def sources(self, root: Path, category: str) -> list[Source]:
        base = root / category
        images = {
            stem[len(IMAGE_PREFIX) :]: path for stem, path in image_files(base / "images").items() if stem.startswith(IMAGE_PREFIX)
        }
        mask_dir = base / MASK_DIR
        masks = masks_by_stem(mask_dir, ".png", prefix=MASK_PREFIX)
        matched = match_masks(images, masks, mask_dir, ".png", mask_prefix=MASK_PREFIX)
        return [Source(key, images[key], mask) for key, mask in matched.items()]


DATASETS.register(DefectGenSamples())
