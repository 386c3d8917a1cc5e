"""``ds-vision``: Defect Spectrum's re-annotated VISION products, one flat folder per product.

Layout (``--data-root`` = the ``DS-VISION`` folder)::

    <Product>/image/<stem>.<ext>        images
    <Product>/mask/<stem>_mask.png      class-index masks (ids from the DS-VISION class list)
    <Product>/rbg_mask/...              colour renderings, ignored

The release files no defect folders, so a pair's group is the class covering most of its mask.
"""

from __future__ import annotations

from pathlib import Path

from bench.data.base import DATASETS
from bench.data.classmaps import DS_VISION, product_classes
from bench.data.layout import FileLayoutAdapter, Source, flat_sources, subdirs


class DefectSpectrumVision(FileLayoutAdapter):
    name = "ds-vision"

    def categories(self, root: Path | None) -> list[str]:
        return [p.name for p in subdirs(root) if (p / "image").is_dir()]

    def classes(self, root: Path | None, category: str) -> dict[int, str]:
        return product_classes(DS_VISION, "DS-VISION", category)

    def sources(self, root: Path, category: str) -> list[Source]:
        return flat_sources(root / category, "image", "mask", "_mask.png")


DATASETS.register(DefectSpectrumVision())
