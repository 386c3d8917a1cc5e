"""``ds-dagm``: Defect Spectrum's re-annotated DAGM, a single flat category ``dagm``.

Layout (``--data-root`` = the ``DS-DAGM`` folder)::

    image/<stem>.<ext>       images
    mask/<stem>_mask.png     class-index masks: 1 scratch, 2 texture, 3 crush, 4 color, 5 dirty
    rbg_mask/...             colour renderings, ignored

Groups come from mask content (the class covering most pixels).
"""

from __future__ import annotations

from pathlib import Path

from bench.data.base import DATASETS
from bench.data.classmaps import DS_DAGM, class_map
from bench.data.layout import FileLayoutAdapter, Source, flat_sources

CATEGORY = "dagm"


class DefectSpectrumDAGM(FileLayoutAdapter):
    name = "ds-dagm"

    def categories(self, root: Path | None) -> list[str]:
        return [CATEGORY] if (root / "image").is_dir() else []

    def classes(self, root: Path | None, category: str) -> dict[int, str]:
        return class_map(DS_DAGM)

    def sources(self, root: Path, category: str) -> list[Source]:
        return flat_sources(root, "image", "mask", "_mask.png")


DATASETS.register(DefectSpectrumDAGM())
