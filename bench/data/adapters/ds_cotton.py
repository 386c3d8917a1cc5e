"""``ds-cotton``: Defect Spectrum's Cotton-Fabric set, a single flat category ``cotton-fabric``.

Layout (``--data-root`` = the ``DS-Cotton-Fabric`` folder)::

    image/<stem>.<ext>       images, e.g. 00987_0047_Thick-Place.png
    mask/<stem>_mask.png     class-index masks: 1 texture, 2 bubble
    rbg_mask/...             colour renderings, ignored

Groups come from mask content (the class covering most pixels), not from the file name.
"""

from __future__ import annotations

from pathlib import Path

from bench.data.base import DATASETS
from bench.data.classmaps import DS_COTTON, class_map
from bench.data.layout import FileLayoutAdapter, Source, flat_sources

CATEGORY = "cotton-fabric"


class DefectSpectrumCotton(FileLayoutAdapter):
    name = "ds-cotton"

    def categories(self, root: Path | None) -> list[str]:
        return [CATEGORY] if (root / "image").is_dir() else []

    def classes(self, root: Path | None, category: str) -> dict[int, str]:
        return class_map(DS_COTTON)

    def sources(self, root: Path, category: str) -> list[Source]:
        return flat_sources(root, "image", "mask", "_mask.png")


DATASETS.register(DefectSpectrumCotton())
